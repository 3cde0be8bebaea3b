"""``revoice serve``: the local engine service, a Starlette app on uvicorn, on 127.0.0.1 only.

Every request needs the install's token (``Authorization: Bearer <token>``;
the event stream also takes ``?token=``). Job work runs in
:class:`~revoice.service.jobs.JobRegistry`'s worker thread; request handlers
that read files run in Starlette's thread pool, so the event loop only moves
bytes. ``service.json`` is written once the socket listens and removed when
the server stops (SIGINT, SIGTERM, or :meth:`LocalService.stop`). Nothing
leaves the machine: no telemetry, no outbound connection.

Usage from code (the tests do this)::

    service = LocalService(port=0, state=folder)
    threading.Thread(target=service.run).start()
    service.listening.wait(10)
    ...
    service.stop()
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import json
import os
import socket
import sys
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, QueryParams
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from revoice.service import discovery
from revoice.service.client import ServiceInfo, state_dir
from revoice.service.job_request import JobRequest, RequestError, line_ids_of, texts_of
from revoice.service.jobs import Job, JobRegistry

KEEP_ALIVE_SECONDS = 15.0
"""A comment goes down an idle event stream this often, so proxies and clients see it is alive."""
SHUTDOWN_GRACE_SECONDS = 3
"""How long a stopping server waits for open responses (event streams end sooner: their jobs are cancelled)."""


class ServeError(Exception):
    """``revoice serve`` cannot start: a one-line message (exit code 2)."""


def loopback_host(host: str) -> str:
    """``host`` as the IPv4 loopback address to bind; ServeError for anything reachable from another machine."""
    candidate = "127.0.0.1" if host == "localhost" else host
    try:
        address = ipaddress.ip_address(candidate)
    except ValueError:
        address = None
    if address is None or address.version != 4 or not address.is_loopback:
        raise ServeError(f"--host {host}: refused; the service listens on the loopback address 127.0.0.1 only, "
                         "so nothing outside this computer can reach it")
    return str(address)


def revoice_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("revoice")
    except PackageNotFoundError:
        return "0.0.0"


class TokenGate:
    """ASGI middleware: a request without the token gets ``401 {"error": "missing or wrong token"}``."""

    def __init__(self, app: ASGIApp, *, token: str) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode()
        self.token = token.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not self._allowed(scope):
            answer = JSONResponse({"error": "missing or wrong token"}, status_code=401,
                                  headers={"WWW-Authenticate": "Bearer"})
            await answer(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _allowed(self, scope: Scope) -> bool:
        given = Headers(scope=scope).get("authorization", "").encode()
        if given and hmac.compare_digest(given, self.expected):
            return True
        if str(scope.get("path", "")).endswith("/events"):  # EventSource cannot set headers
            query = QueryParams(scope.get("query_string", b"").decode("latin-1")).get("token", "")
            return bool(query) and hmac.compare_digest(query.encode(), self.token)
        return False


def create_app(registry: JobRegistry, *, token: str, host: str = "127.0.0.1") -> Starlette:
    """The HTTP API of docs/service-api.md over ``registry``, behind the token; ``host`` is the bound address."""

    async def health(request: Request) -> Response:
        return JSONResponse({"ok": True, "version": revoice_version()})

    async def submit(request: Request) -> Response:
        body = await _json_body(request)
        job = await run_in_threadpool(lambda: registry.submit(JobRequest.from_json(body)))
        return JSONResponse(job.status(), status_code=201)

    async def list_jobs(request: Request) -> Response:
        return JSONResponse({"jobs": [job.status() for job in registry.all()]})

    async def job_status(request: Request) -> Response:
        return JSONResponse(registry.get(request.path_params["job_id"]).status())

    async def cancel(request: Request) -> Response:
        return JSONResponse(registry.cancel(request.path_params["job_id"]).status(), status_code=202)

    async def choose_take(request: Request) -> Response:
        body = await _json_body(request)
        line_id, take = body.get("line_id"), body.get("take")
        if not isinstance(line_id, str) or not isinstance(take, int) or isinstance(take, bool):
            raise RequestError(422, "give {\"line_id\": \"L0003\", \"take\": 2}")
        job = await run_in_threadpool(registry.choose_take, request.path_params["job_id"], line_id, take)
        return JSONResponse(job.status())

    async def rerender(request: Request) -> Response:
        body = await _json_body(request)
        options = body.get("options") or {}
        if not isinstance(options, dict):
            raise RequestError(422, "options: must be a JSON object of the CLI's options")
        line_ids, texts = line_ids_of(body.get("line_ids")) or frozenset(), texts_of(body.get("texts"))
        job = await run_in_threadpool(lambda: registry.rerender(request.path_params["job_id"], sorted(line_ids),
                                                                texts=texts, options=options))
        return JSONResponse(job.status(), status_code=201)

    async def events(request: Request) -> Response:
        job = registry.get(request.path_params["job_id"])
        first = _last_event_id(request) + 1
        return StreamingResponse(_event_stream(job, first), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    async def refused(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestError)
        return JSONResponse({"error": exc.message}, status_code=exc.status)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers)

    async def internal(request: Request, exc: Exception) -> Response:
        return JSONResponse({"error": f"internal error: {type(exc).__name__}: {exc}"}, status_code=500)

    routes = [
        Route("/health", health, methods=["GET"]),
        Route("/jobs", submit, methods=["POST"]),
        Route("/jobs", list_jobs, methods=["GET"]),
        Route("/jobs/{job_id}", job_status, methods=["GET"]),
        Route("/jobs/{job_id}", cancel, methods=["DELETE"]),
        Route("/jobs/{job_id}/events", events, methods=["GET"]),
        Route("/jobs/{job_id}/takes", choose_take, methods=["POST"]),
        Route("/jobs/{job_id}/rerender", rerender, methods=["POST"]),
    ]
    middleware = [Middleware(TrustedHostMiddleware, allowed_hosts=sorted({"127.0.0.1", "localhost", host})),
                  Middleware(TokenGate, token=token)]
    return Starlette(routes=routes, middleware=middleware,
                     exception_handlers={RequestError: refused, HTTPException: http_error, Exception: internal})


async def _json_body(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError as exc:
        raise RequestError(422, f"the request body is not JSON ({exc})") from None
    if not isinstance(body, dict):
        raise RequestError(422, "the request body must be a JSON object")
    return body


def _last_event_id(request: Request) -> int:
    try:
        return int(request.headers.get("last-event-id", "-1"))
    except ValueError:
        return -1


async def _event_stream(job: Job, first: int) -> AsyncIterator[str]:
    """The job's events from number ``first``, then each new one as it comes, until ``end``."""
    loop = asyncio.get_running_loop()
    wake = asyncio.Event()

    def wake_up() -> None:  # called from the worker thread
        try:
            loop.call_soon_threadsafe(wake.set)
        except RuntimeError:  # the server stopped and its loop is closed
            pass

    stop = job.listen(wake_up)
    index = max(first, 0)
    try:
        while True:
            wake.clear()
            for event in job.events_from(index):
                yield event.encode()
                index = event.index + 1
                if event.kind == "end":
                    return
            try:
                await asyncio.wait_for(wake.wait(), KEEP_ALIVE_SECONDS)
            except TimeoutError:
                yield ": keep-alive\n\n"
    finally:
        stop()


class _Server(uvicorn.Server):
    """uvicorn's server, telling :class:`LocalService` when it listens and before it stops."""

    def __init__(self, config: uvicorn.Config, owner: LocalService) -> None:
        super().__init__(config)
        self.owner = owner

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            self.owner._listening()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self.owner._stopping()
        await super().shutdown(sockets)
        # let the running line finish writing before uvicorn re-raises SIGTERM (which ends the process)
        await asyncio.to_thread(self.owner.registry.close, wait_seconds=SHUTDOWN_GRACE_SECONDS)


class LocalService:
    """One ``revoice serve``: the token, the socket on 127.0.0.1, the app, and ``service.json`` while it listens."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, state: Path | None = None,
                 registry: JobRegistry | None = None) -> None:
        self.host = loopback_host(host)
        if not 0 <= port <= 65535:
            raise ServeError(f"--port {port}: use 0 (any free port) to 65535")
        self.state = state if state is not None else state_dir()
        self.registry = registry if registry is not None else JobRegistry()
        self.listening = threading.Event()
        """Set once the server accepts connections and ``service.json`` is written."""
        self.pid = os.getpid()
        try:
            discovery.prepare_state_dir(self.state)
            self.token = discovery.install_token(self.state)
            discovery.record_default_command(self.state)
        except OSError as exc:
            raise ServeError(f"{self.state}: cannot write the service's state folder ({exc})") from None
        self.socket = self._bind(port)
        self.port = int(self.socket.getsockname()[1])
        self.url = f"http://{self.host}:{self.port}"
        config = uvicorn.Config(create_app(self.registry, token=self.token, host=self.host), log_config=None,
                                log_level="warning",
                                access_log=False, timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS,
                                server_header=False, lifespan="off")
        self.server = _Server(config, self)

    def _bind(self, port: int) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            if os.name == "posix":
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, port))
        except OSError as exc:
            sock.close()
            raise ServeError(f"cannot listen on {self.host}:{port} ({exc.strerror or exc}); "
                             "choose another --port or 0 for any free one") from None
        sock.set_inheritable(False)
        return sock

    def run(self) -> None:
        """Serve until stopped (SIGINT/SIGTERM in the main thread, or :meth:`stop`)."""
        try:
            self.server.run(sockets=[self.socket])
        finally:
            self._stopping()
            self.socket.close()

    def stop(self) -> None:
        """Ask the server to stop (from any thread); :meth:`run` returns once it has."""
        self.server.should_exit = True

    def _listening(self) -> None:
        discovery.publish(self.state, ServiceInfo(url=self.url, port=self.port, token=self.token, pid=self.pid))
        self.listening.set()
        print(f"revoice serve: listening on {self.url} (state folder {self.state})", file=sys.stderr, flush=True)

    def _stopping(self) -> None:
        if self.listening.is_set():
            discovery.withdraw(self.state, self.pid)
            self.listening.clear()
        self.registry.close(wait_seconds=0.0)
