"""restricted_exec as an HTTP service (extra ``[server]``): ``restricted-exec serve``.

- ``config``: what the service is told (policy ceilings, concurrency, keys, audit log);
- ``keys``: API keys, stored hashed, each naming its tenant;
- ``admission``: the one bounded gate every request passes, answering 429 when full;
- ``registry``: the programs and sessions clients made, each visible to its tenant only;
- ``app``: the ASGI application (FastAPI), served by uvicorn.
"""
