"""revoice.service.client: what the plugins import to find or start the service (standard library only)."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from revoice.service.client import (
    ServiceClient,
    ServiceError,
    ServiceEvent,
    ensure_service,
    find_service,
    launch_command,
    parse_events,
    read_service_info,
    state_dir,
)
from revoice.service.discovery import install_token


def test_the_state_folder_per_platform(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert state_dir(environ={}, platform="linux", home=home) == home / ".local" / "state" / "revoice"
    assert state_dir(environ={"XDG_STATE_HOME": "/x/state"}, platform="linux", home=home) == Path("/x/state/revoice")
    assert state_dir(environ={}, platform="darwin", home=home) == home / "Library" / "Application Support" / "Revoice"
    assert state_dir(environ={"LOCALAPPDATA": str(tmp_path / "Local")}, platform="win32",
                     home=home) == tmp_path / "Local" / "Revoice"
    assert state_dir(environ={"REVOICE_STATE_DIR": str(tmp_path / "s"), "XDG_STATE_HOME": "/x"}, platform="linux",
                     home=home) == tmp_path / "s"


def test_the_token_is_made_once(tmp_path: Path) -> None:
    token = install_token(tmp_path)
    assert len(token) == 64 and install_token(tmp_path) == token
    (tmp_path / "token").write_text("short\n", encoding="utf-8")
    assert install_token(tmp_path) != token and len(install_token(tmp_path)) == 64


def test_the_client_imports_nothing_heavy() -> None:
    code = ("import sys, revoice.service.client; heavy = ('numpy', 'opentimelineio', 'starlette', 'uvicorn', "
            "'revoice.engine', 'revoice.session'); print(sorted(m for m in sys.modules if m.startswith(heavy)))")
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "[]"


def test_events_are_parsed_from_the_stream() -> None:
    stream = io.BytesIO(b": keep-alive\n\nid: 0\nevent: progress\ndata: {\"done\": 1}\n\n"
                        b"id: 1\r\nevent: end\r\ndata: {\"state\": \"done\"}\r\n\r\n")
    assert list(parse_events(stream)) == [ServiceEvent("progress", {"done": 1}, "0"),
                                          ServiceEvent("end", {"state": "done"}, "1")]


def test_launch_command_is_the_installers_else_this_python(tmp_path: Path) -> None:
    assert launch_command(tmp_path) == [sys.executable, "-m", "revoice.cli", "serve"]
    (tmp_path / "command.json").write_text(json.dumps({"argv": ["/opt/revoice/bin/revoice", "serve"]}),
                                           encoding="utf-8")
    assert launch_command(tmp_path) == ["/opt/revoice/bin/revoice", "serve"]


def test_nothing_listening_is_a_service_error(tmp_path: Path) -> None:
    assert find_service(tmp_path) is None
    (tmp_path / "service.json").write_text(json.dumps({"version": 1, "url": "http://127.0.0.1:9", "port": 9,
                                                       "token": "x" * 64, "pid": 1}), encoding="utf-8")
    assert read_service_info(tmp_path) is not None and find_service(tmp_path, timeout=1) is None
    with pytest.raises(ServiceError) as caught:
        ServiceClient("http://127.0.0.1:9", "x", timeout=1).health()
    assert caught.value.status == 0 and "does not answer" in caught.value.message


@pytest.mark.skipif(os.name != "posix", reason="SIGTERM")
def test_ensure_service_starts_it_on_demand_and_sigterm_removes_service_json(tmp_path: Path) -> None:
    state = tmp_path / "state"
    client = ensure_service(state=state, wait_seconds=60)
    info = read_service_info(state)
    assert info is not None and info.pid != os.getpid() and client.url == info.url
    assert client.health()["ok"] is True and client.jobs() == []
    again = ensure_service(state=state)
    assert again.url == client.url, "a running service is reused, not started twice"
    second = subprocess.run([sys.executable, "-m", "revoice.cli", "serve"], capture_output=True, text=True,
                            env={**os.environ, "REVOICE_STATE_DIR": str(state)}, timeout=60)
    assert second.returncode == 2 and second.stderr.startswith(f"revoice serve: already running at {client.url}")
    os.kill(info.pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    while (state / "service.json").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not (state / "service.json").exists()
    assert find_service(state) is None
    assert "listening on" in (state / "service.log").read_text(encoding="utf-8")


@pytest.mark.skipif(os.name != "posix", reason="SIGINT to a child")
def test_ctrl_c_stops_the_service_cleanly(tmp_path: Path) -> None:
    state = tmp_path / "state"
    process = subprocess.Popen([sys.executable, "-m", "revoice.cli", "serve", "--port", "0"],
                               env={**os.environ, "REVOICE_STATE_DIR": str(state)},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while find_service(state) is None and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.1)
        assert find_service(state) is not None
        process.send_signal(signal.SIGINT)
        assert process.wait(15) == 0
    finally:
        if process.poll() is None:
            process.kill()
    assert not (state / "service.json").exists() and (state / "token").is_file()
