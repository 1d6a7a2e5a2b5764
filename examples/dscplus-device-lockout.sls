# DSC+ with the PIN checked on the card (pin_mode "device", default pin_retries 3):
# three wrong PINs lock the card, and turning it off and on again does not reset the count.
#
#   slsemu image new --model dscplus --pin-mode device --pin-stdin --key-env KEY --out card.img \
#       <<< 1234
#   slsemu script examples/dscplus-device-lockout.sls --image card.img
#
# Captures LOCK: the lock number the card shows (`L` + 7 digits); the host turns it into the
# unlock code. Run it on a fresh image: on a locked card it fails from line 11 on.
#
# ---
# model = "dscplus"
# pin_mode = "device"
# pin = "1234"
# ---

press POWER
expect "PIN>"
type 9999                   # a wrong PIN
press OK
expect "FAIL 1"

press POWER                 # off ...
expect ""
press POWER                 # ... and on again: the failure is remembered
type 9999
press OK
expect "FAIL 2"
wait 3                      # the notice goes away by itself
expect "PIN>"

type 9999
press OK
expect "LOCK PIN"

press POWER
press POWER
expect "LOCK PIN"           # still locked after a power cycle
press OK
expect /L[0-9]{7}/
capture LOCK
