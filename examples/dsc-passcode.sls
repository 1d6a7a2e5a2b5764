# Legacy Digital Security Card: PIN on the card, then a 6-digit passcode (TOTP, 30 s steps) that
# shows for 15 s. No challenge.
#
#   slsemu image new --model dsc --pin-stdin --key-env KEY --out dsc.img <<< 1234
#   slsemu script examples/dsc-passcode.sls --image dsc.img --set PIN=1234
#
# ---
# model = "dsc"
# pin = "1234"
# [vars]
# PIN = "1234"
# ---

press POWER                 # hold "press" until [ ] shows
expect "[ ]"
type ${PIN}
expect "[---4]"             # earlier digits masked, the last one shown
press OK
expect /[0-9]{6}/
capture PASSCODE
wait 14
expect "${PASSCODE}"        # still showing
wait 2
expect ""                   # gone after 15 s: the card turns itself off
