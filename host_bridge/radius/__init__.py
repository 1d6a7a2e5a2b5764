"""The RADIUS front door (`slsbridge serve --radius HOST:PORT --clients FILE`, docs/radius.md).

Thin: it translates RADIUS into the `Bridge` calls the CLI makes and back. `clients` reads the
clients file (who may ask, with which shared secret); `wire` decodes and checks datagrams and
encodes replies with pyrad and the `dictionary` shipped here; `flow` is the login as RADIUS does
it (password, device menu, challenge, answer, tied together by `State`); `server` is the asyncio
UDP loop with the reply cache and the counters of dropped datagrams.
"""
