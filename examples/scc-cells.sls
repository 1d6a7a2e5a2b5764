# Security Code Card: look up the two cells the login screen names and capture the answer.
#
#   slsemu image new --model scc --key-env KEY --out card.img   # KEY: the key, in hex
#   slsemu script examples/scc-cells.sls --image card.img --set FIRST=17 --set SECOND=203
#
# A printed card has no buttons; the `scc` model emulates the person reading it: POWER shows
# `INDEX>`, digits type an index, OK shows the cell as "index code".
#
# ---
# model = "scc"
# [[cases]]
# id = "first-and-last"
# FIRST = "1"
# SECOND = "224"
# [[cases]]
# id = "login-screen"
# FIRST = "17"
# SECOND = "203"
# ---

press POWER
expect "INDEX>"
type ${FIRST}
press OK
expect /${FIRST} [0-9A-Z]{3}/
capture FIRST_CELL
type ${SECOND}              # a digit starts the next index
press OK
expect /${SECOND} [0-9A-Z]{3}/
capture SECOND_CELL
