"""Find, start and call the local engine service (``revoice serve``) from a plugin. Standard library only.

The Resolve script imports this module (or copies this one file next to
itself): it pulls in nothing beyond the standard library, so it runs inside
the NLE's own Python. The service is described in docs/service-api.md::

    from revoice.service.client import ensure_service

    service = ensure_service()                     # reads service.json, else starts `revoice serve`
    job = service.submit("/abs/cut.otio", subtitles="/abs/cut.srt", out="/abs/cut_revoiced.otio",
                         options={"profiles": "off"})
    for event in service.events(job["id"]):        # server-sent events until the job ends
        print(event.kind, event.data)
    status = service.job(job["id"])                # lines with their WAVs and record frames

Every error from the service is a :class:`ServiceError` carrying the HTTP
status and the one-line message the CLI would print.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

STATE_ENV = "REVOICE_STATE_DIR"
"""Environment variable that overrides the per-user state folder."""
SERVICE_FILE = "service.json"
TOKEN_FILE = "token"
COMMAND_FILE = "command.json"
LOG_FILE = "service.log"
"""Where a service started by :func:`ensure_service` writes its output."""
SERVICE_FILE_VERSION = 1


def state_dir(*, environ: Mapping[str, str] | None = None, platform: str | None = None,
              home: Path | None = None) -> Path:
    """The per-user state folder: ``$REVOICE_STATE_DIR``, else the platform's (see docs/service-api.md).

    Linux ``$XDG_STATE_HOME/revoice`` or ``~/.local/state/revoice``; macOS
    ``~/Library/Application Support/Revoice``; Windows ``%LOCALAPPDATA%\\Revoice``.
    Nothing is created here.
    """
    env = os.environ if environ is None else environ
    system = sys.platform if platform is None else platform
    user_home = Path.home() if home is None else home
    if env.get(STATE_ENV):
        return Path(env[STATE_ENV])
    if system == "darwin":
        return user_home / "Library" / "Application Support" / "Revoice"
    if system.startswith("win"):
        local = env.get("LOCALAPPDATA")
        return (Path(local) if local else user_home / "AppData" / "Local") / "Revoice"
    xdg = env.get("XDG_STATE_HOME")
    return (Path(xdg) if xdg else user_home / ".local" / "state") / "revoice"


@dataclass(frozen=True)
class ServiceInfo:
    """What ``service.json`` says: where the running service listens and the token it wants."""

    url: str
    port: int
    token: str
    pid: int
    version: int = SERVICE_FILE_VERSION

    def to_json(self) -> dict[str, Any]:
        return {"version": self.version, "url": self.url, "port": self.port, "token": self.token, "pid": self.pid}

    @classmethod
    def from_json(cls, data: Any) -> ServiceInfo:
        """The record in ``data``; ValueError when a field is missing or of the wrong type."""
        if not isinstance(data, dict):
            raise ValueError("service.json: not a JSON object")
        try:
            info = cls(url=str(data["url"]), port=int(data["port"]), token=str(data["token"]), pid=int(data["pid"]),
                       version=int(data.get("version", SERVICE_FILE_VERSION)))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"service.json: missing or bad field ({exc})") from None
        return info


def read_service_info(state: Path | None = None) -> ServiceInfo | None:
    """``<state>/service.json``, or None when there is none (or it cannot be read)."""
    path = (state if state is not None else state_dir()) / SERVICE_FILE
    try:
        return ServiceInfo.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return None


def launch_command(state: Path | None = None) -> list[str]:
    """How to start the service: ``<state>/command.json``'s argv (the installer's), else this Python's revoice."""
    path = (state if state is not None else state_dir()) / COMMAND_FILE
    try:
        argv = json.loads(path.read_text(encoding="utf-8")).get("argv")
    except (OSError, ValueError, AttributeError):
        argv = None
    if isinstance(argv, list) and argv and all(isinstance(item, str) for item in argv):
        return list(argv)
    return [sys.executable, "-m", "revoice.cli", "serve"]


class ServiceError(Exception):
    """A request the service refused (``status`` is the HTTP status, 0 when nothing answered)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class ServiceEvent:
    """One server-sent event: ``kind`` is ``progress``, ``line`` or ``end``; ``data`` its JSON."""

    kind: str
    data: dict[str, Any]
    event_id: str = ""


class ServiceClient:
    """Calls one running service at ``url`` with ``token`` (``timeout`` seconds per request)."""

    def __init__(self, url: str, token: str, *, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout

    @classmethod
    def from_info(cls, info: ServiceInfo, *, timeout: float = 30.0) -> ServiceClient:
        return cls(info.url, info.token, timeout=timeout)

    def request(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The JSON answer of ``method path``; ServiceError with the service's message on a 4xx/5xx."""
        data = json.dumps(body).encode("utf-8") if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method,
                                         headers={"Authorization": f"Bearer {self.token}",
                                                  "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                return _json_object(answer.read())
        except urllib.error.HTTPError as exc:
            raise ServiceError(exc.code, _error_message(exc)) from None
        except (urllib.error.URLError, OSError) as exc:
            raise ServiceError(0, f"{self.url}: the Revoice service does not answer ({exc})") from None

    def health(self) -> dict[str, Any]:
        return self.request("GET", "/health")

    def submit(self, timeline: str | Path, *, out: str | Path, subtitles: str | Path | None = None,
               options: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Start a job (``POST /jobs``); its status. Options are the CLI's long names with ``_``."""
        body = {"timeline": str(timeline), "subtitles": str(subtitles) if subtitles is not None else None,
                "out": str(out), "options": dict(options or {})}
        return self.request("POST", "/jobs", body)

    def jobs(self) -> list[dict[str, Any]]:
        return list(self.request("GET", "/jobs")["jobs"])

    def job(self, job_id: str) -> dict[str, Any]:
        return self.request("GET", f"/jobs/{urllib.parse.quote(job_id)}")

    def cancel(self, job_id: str) -> dict[str, Any]:
        return self.request("DELETE", f"/jobs/{urllib.parse.quote(job_id)}")

    def choose_take(self, job_id: str, line_id: str, take: int) -> dict[str, Any]:
        return self.request("POST", f"/jobs/{urllib.parse.quote(job_id)}/takes", {"line_id": line_id, "take": take})

    def rerender(self, job_id: str, line_ids: Sequence[str], *, texts: Mapping[str, str] | None = None,
                 options: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """A new job over the same timeline re-rendering ``line_ids`` (with new ``texts``); its status."""
        body: dict[str, Any] = {"line_ids": list(line_ids), "texts": dict(texts or {})}
        if options:
            body["options"] = dict(options)
        return self.request("POST", f"/jobs/{urllib.parse.quote(job_id)}/rerender", body)

    def events(self, job_id: str, *, timeout: float | None = None) -> Iterator[ServiceEvent]:
        """The job's server-sent events, from its first, until its ``end`` event.

        ``timeout`` (seconds) bounds each read; the service sends a comment every
        15 s, so anything above that only trips when the service is gone.
        """
        request = urllib.request.Request(f"{self.url}/jobs/{urllib.parse.quote(job_id)}/events",
                                         headers={"Authorization": f"Bearer {self.token}",
                                                  "Accept": "text/event-stream"})
        try:
            answer = urllib.request.urlopen(request, timeout=timeout if timeout is not None else 60.0)
        except urllib.error.HTTPError as exc:
            raise ServiceError(exc.code, _error_message(exc)) from None
        except (urllib.error.URLError, OSError) as exc:
            raise ServiceError(0, f"{self.url}: the Revoice service does not answer ({exc})") from None
        with answer:
            for event in parse_events(answer):
                yield event
                if event.kind == "end":
                    return

    def wait(self, job_id: str) -> dict[str, Any]:
        """Follow the job's events to its end; its final status."""
        for _ in self.events(job_id):
            pass
        return self.job(job_id)


def parse_events(stream: Any) -> Iterator[ServiceEvent]:
    """Server-sent events from a binary line stream (``event:``, ``data:``, ``id:``; ``:`` comments)."""
    kind, event_id = "message", ""
    data: list[str] = []
    for raw in stream:
        line = raw.decode("utf-8").rstrip("\r\n")
        if not line:
            if data:
                payload = json.loads("\n".join(data))
                yield ServiceEvent(kind, payload if isinstance(payload, dict) else {"value": payload}, event_id)
            kind, data = "message", []
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if field == "event":
            kind = value
        elif field == "data":
            data.append(value)
        elif field == "id":
            event_id = value


def find_service(state: Path | None = None, *, timeout: float = 2.0) -> ServiceClient | None:
    """A client of the service ``service.json`` names, when it answers ``/health`` with our token; else None."""
    info = read_service_info(state)
    if info is None:
        return None
    client = ServiceClient.from_info(info, timeout=timeout)
    try:
        client.health()
    except ServiceError:
        return None
    client.timeout = 30.0
    return client


def ensure_service(*, state: Path | None = None, wait_seconds: float = 30.0,
                   command: Sequence[str] | None = None) -> ServiceClient:
    """The running service, started (detached) when nothing answers; ServiceError when it does not come up.

    ``command`` defaults to :func:`launch_command`. Its output goes to
    ``<state>/service.log``; the wait for ``service.json`` is ``wait_seconds``.
    """
    folder = state if state is not None else state_dir()
    found = find_service(folder)
    if found is not None:
        return found
    argv = list(command) if command is not None else launch_command(folder)
    folder.mkdir(parents=True, exist_ok=True)
    log_path = folder / LOG_FILE
    env = dict(os.environ)
    env[STATE_ENV] = str(folder)
    try:
        with open(log_path, "ab") as log:
            process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env,
                                       **_detached())
    except OSError as exc:
        raise ServiceError(0, f"cannot start the Revoice service ({' '.join(argv)}): {exc}") from None
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        found = find_service(folder)
        if found is not None:
            return found
        if process.poll() is not None:
            raise ServiceError(0, f"the Revoice service stopped at once (exit {process.returncode}): "
                                  f"{_last_line(log_path)}")
        time.sleep(0.1)
    raise ServiceError(0, f"the Revoice service did not start within {wait_seconds:.0f} s; see {log_path}")


def _detached() -> dict[str, Any]:
    """Popen arguments that let the service outlive the plugin that started it."""
    if sys.platform.startswith("win"):
        flags = getattr(subprocess, "DETACHED_PROCESS", 0) | getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)
        return {"creationflags": flags}
    return {"start_new_session": True}


def _json_object(raw: bytes) -> dict[str, Any]:
    value = json.loads(raw.decode("utf-8")) if raw else {}
    return value if isinstance(value, dict) else {"value": value}


def _error_message(error: urllib.error.HTTPError) -> str:
    try:
        message = _json_object(error.read()).get("error")
    except ValueError:
        message = None
    return str(message) if message else f"HTTP {error.code} {error.reason}"


def _last_line(path: Path) -> str:
    try:
        lines = [line for line in path.read_text(encoding="utf-8", errors="replace").splitlines() if line.strip()]
    except OSError:
        return ""
    return lines[-1] if lines else ""
