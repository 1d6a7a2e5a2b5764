"""The HTTP front door (`slsbridge serve --http`): a thin Starlette app on uvicorn.

    config.py    HttpConfig: client networks, rate limits, body bound (from the command line)
    fields.py    request bodies: field specs → validation and the OpenAPI schema (one source)
    problems.py  RFC 9457 problem+json answers; body reading with a size bound
    runtime.py   worker slots (a thread and a Bridge each), rate limits, metrics
    endpoints.py an endpoint as data; the bridge's errors as problem+json
    v1.py        the own JSON API under /v1/ (API keys)
    validate.py  privacyIDEA's POST /validate/check
    openapi.py   the OpenAPI document, from the endpoint table (docs/openapi.json)
    app.py       routes, /healthz, /metrics, /openapi.json; the app factory uvicorn imports
    serve.py     uvicorn with N workers, TLS, SIGTERM/SIGINT

Every endpoint turns HTTP into the same service calls the CLI makes (`Bridge`, `Policies`) and
their answers back; no rule lives here. See docs/http-api.md.
"""
