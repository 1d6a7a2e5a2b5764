# DSC+ timeouts on the device clock (`wait` moves it; nothing really sleeps):
# the card turns itself off after 30 s without a key, and the response shows for 30 s.
#
#   slsemu script examples/dscplus-timeouts.sls --image card.img --set PIN=1234 --clock 1700000000
#
# ---
# model = "dscplus"
# [vars]
# PIN = "1234"
# ---

press POWER
expect "PIN>"
wait 29
expect "PIN>"               # still on
wait 2
expect ""                   # auto power-off

press POWER
type ${PIN}
press OK
type 000000
press OK
expect /[0-9]{8}/
wait 29
expect /[0-9]{8}/           # the response is still there
wait 2
expect ""                   # and then the card turns off
