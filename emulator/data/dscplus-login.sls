# A whole DSC+ login, as the knowledge base describes it (soft PIN mode).
#
# Variables: ${PIN} (the card's 4-digit soft PIN) and ${CHALLENGE} (the 6 digits the login
# screen shows). Captures RESPONSE, the 8 digits to type into the login screen.
#
#   slsemu script examples/dscplus-login.sls --image card.img --set PIN=1234 --set CHALLENGE=123456
#
# ---
# model = "dscplus"
# [vars]
# PIN = "1234"
# CHALLENGE = { random = 6 }
# ---

press POWER                 # turn the card on
expect "PIN>"
type ${PIN}                 # each digit shows masked
expect "PIN>****"
press OK
expect "CHALLNG>"
type ${CHALLENGE}
expect "${CHALLENGE}"
press OK                    # the card computes the response
expect /[0-9]{8}/
capture RESPONSE
