"""The local engine service, ``revoice serve``: the NLE plugins' way in (docs/service-api.md).

``client`` is what a plugin imports or copies (standard library only); ``app``
is the HTTP service (Starlette on uvicorn), ``jobs`` the job registry it runs
sessions with, ``job_request`` turns a request into the CLI's options and
``discovery`` keeps the token and ``service.json`` in the per-user state folder.
Nothing is imported here, so ``import revoice.service.client`` stays light.
"""
