# IB Key (IBKR Mobile) without the push: "Click here if you do not receive the notification",
# the challenge typed into the app, the app PIN, and the 8-digit response to type on the login
# screen (RFC 6287 OCRA, suite OCRA-1:HOTP-SHA1-8:C-QN06-PSHA1). The push itself needs the host:
# examples/test_with_the_host.py.
#
#   slsemu image new --model ibkey --pin-stdin --option username=alice --key-env KEY \
#       --out phone.img <<< 1234
#   slsemu script examples/ibkey-challenge.sls --image phone.img --set CHALLENGE=123456
#
# ---
# model = "ibkey"
# pin = "1234"
# options = { username = "alice" }
# [vars]
# PIN = "1234"
# CHALLENGE = { random = 6 }
# ---

press POWER                 # open the app
expect "alice challenge: _"
type ${CHALLENGE}
expect "alice challenge: ${CHALLENGE}"
press OK
expect "alice PIN: "
type ${PIN}
expect "alice PIN: ****"
press OK
expect /Response: [0-9]{8}/
capture RESPONSE /Response: ([0-9]{8})/
press OK                    # back to a fresh challenge
expect "alice challenge: _"
