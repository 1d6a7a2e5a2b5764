# A login on the older DSC+ generation (DESIGN.md: "An older generation showed `Pn`/`Ch` and
# the 8 digits as 5 then 3, toggling every 10 s or on OK"). Time is the device clock: `wait`
# moves it, nothing really sleeps.
#
#   slsemu image new card.img --model dscplus_classic
#   slsemu script examples/dscplus-classic-login.sls --image card.img --set PIN=1234 --clock 1700000000
#
# ---
# model = "dscplus_classic"
# [vars]
# PIN = "1234"
# ---

press POWER
expect "Pn"                 # not PIN>
type ${PIN}
expect "Pn****"
press OK
expect "Ch"                 # not CHALLNG>
type 123456
expect "123456"
press OK
expect /[0-9]{5}/           # the first 5 digits of the response
capture FIRST
wait 9.9
expect "${FIRST}"           # still the first part
wait 0.1
expect /[0-9]{3}/           # 10 s later: the last 3 digits
capture LAST
press OK
expect "${FIRST}"           # OK toggles back at once...
wait 9
expect "${FIRST}"           # ...and the next 10 s start then
press OK
expect "${LAST}"
wait 10
expect "${FIRST}"
wait 30
expect ""                   # the card turns off 30 s after the response first showed
