"""No network at run time: a real job longer than 15 s attempts no socket, and every entry point says so first.

onnxruntime's telemetry (1DS, native code) looks up ``mobile.events.data.microsoft.com`` about 10 s into
a process unless ``ORT_DISABLE_TELEMETRY=1`` is set before it loads. Native code does not go through
Python's ``socket`` module, so the audit hook below cannot see it; ``strace`` (when installed) watches
the system calls of every thread, native ones included.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from revoice.privacy import OFFLINE_ENVIRONMENT, offline_environment

REVOICE = Path(sys.executable).with_name("revoice")
MIN_SECONDS = 15.0

SITECUSTOMIZE = '''\
"""Test harness: record and refuse every socket use Python sees; keep the process alive MIN seconds."""
import atexit, os, sys, time

_LOG = os.environ["REVOICE_TEST_SOCKET_LOG"]
_STARTED = time.monotonic()
_WATCHED = {"socket.connect", "socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyname_ex",
            "socket.gethostbyaddr", "socket.getnameinfo", "socket.sendto", "socket.sendmsg", "socket.bind"}


def _refuse(event, args):
    if event in _WATCHED:
        with open(_LOG, "a", encoding="utf-8") as log:
            log.write(f"{event} {args!r}\\n")
        raise OSError(f"network blocked by the test: {event}")


def _stay():  # a fast machine still lives past the telemetry's first upload
    time.sleep(max(0.0, float(os.environ["REVOICE_TEST_MIN_SECONDS"]) - (time.monotonic() - _STARTED)))


sys.addaudithook(_refuse)
atexit.register(_stay)
'''

NETWORK_CALL = re.compile(r"\b(socket|connect|sendto|sendmsg)\(.*(AF_INET|nscd)")
"""strace lines that open an internet socket, connect or send to one, or ask nscd for a host name."""


def strace_usable() -> bool:
    strace = shutil.which("strace")
    if strace is None:
        return False
    probe = subprocess.run([strace, "-f", "-qq", "-o", os.devnull, "true"], capture_output=True, timeout=30, check=False)
    return probe.returncode == 0


@dataclass(frozen=True)
class TracedJob:
    returncode: int
    seconds: float
    stdout: str
    stderr: str
    python_socket_calls: list[str]
    native_network_calls: list[str] | None
    """strace's network system calls, None when strace cannot run here."""
    out: Path


@pytest.fixture(scope="module")
def traced_demo(tmp_path_factory: pytest.TempPathFactory) -> TracedJob:
    """``revoice demo --takes 2 --profiles off`` (14 lines, 28 renders) with sockets watched at both levels."""
    if not REVOICE.exists():
        pytest.skip(f"{REVOICE} is not installed")
    folder = tmp_path_factory.mktemp("offline")
    site = folder / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE, encoding="utf-8")
    python_log, trace = folder / "python_sockets.txt", folder / "strace.txt"
    env = {key: value for key, value in os.environ.items() if key not in OFFLINE_ENVIRONMENT}
    env.update(PYTHONPATH=os.pathsep.join([str(site), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
               REVOICE_TEST_SOCKET_LOG=str(python_log), REVOICE_TEST_MIN_SECONDS=str(MIN_SECONDS + 1))
    out = folder / "out" / "demo_revoiced.otio"
    command = [str(REVOICE), "demo", "--profiles", "off", "--takes", "2", "--quiet", "--out", str(out)]
    traced = strace_usable()
    if traced:
        command = ["strace", "-f", "-qq", "-e", "signal=none", "-e", "trace=socket,connect,sendto,sendmsg",
                   "-o", str(trace), *command]
    started = time.monotonic()
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900, check=False)
    seconds = time.monotonic() - started
    calls = python_log.read_text(encoding="utf-8").splitlines() if python_log.exists() else []
    native = [line for line in trace.read_text(encoding="utf-8").splitlines()
              if NETWORK_CALL.search(line)] if traced else None
    return TracedJob(done.returncode, seconds, done.stdout, done.stderr, calls, native, out)


@pytest.mark.slow
def test_a_job_longer_than_15_s_attempts_no_socket_from_python(traced_demo: TracedJob) -> None:
    job = traced_demo
    assert job.returncode == 0, job.stderr[-2000:]
    assert job.out.exists()
    assert job.seconds > MIN_SECONDS
    assert job.python_socket_calls == []


@pytest.mark.slow
def test_a_job_longer_than_15_s_attempts_no_socket_from_native_code(traced_demo: TracedJob) -> None:
    """onnxruntime's telemetry is native: without ORT_DISABLE_TELEMETRY this sees its DNS lookup."""
    if traced_demo.native_network_calls is None:
        pytest.skip("strace is not available here: native sockets (onnxruntime's telemetry) are not watched")
    assert traced_demo.returncode == 0, traced_demo.stderr[-2000:]
    assert traced_demo.native_network_calls == [], "\n".join(traced_demo.native_network_calls[:8])


def test_offline_environment_sets_each_variable_and_overrides_the_shell() -> None:
    environ = {"ORT_DISABLE_TELEMETRY": "0", "HOME": "/home/ed"}
    assert offline_environment(environ) == dict(OFFLINE_ENVIRONMENT)
    assert environ == {**OFFLINE_ENVIRONMENT, "HOME": "/home/ed"}
    assert OFFLINE_ENVIRONMENT["ORT_DISABLE_TELEMETRY"] == "1" and OFFLINE_ENVIRONMENT["HF_HUB_OFFLINE"] == "1"


def _unset_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in OFFLINE_ENVIRONMENT:
        monkeypatch.setenv(key, "0")  # restored (removed) after the test


def _assert_offline() -> None:
    assert {key: os.environ.get(key) for key in OFFLINE_ENVIRONMENT} == dict(OFFLINE_ENVIRONMENT)


def test_the_cli_goes_offline_first_for_every_command(monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    from revoice.cli import main

    _unset_offline(monkeypatch)
    assert main(["text", "Dr. Smith paid $5."]) == 0
    _assert_offline()
    _unset_offline(monkeypatch)
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    _assert_offline()
    capsys.readouterr()


def test_serve_goes_offline_before_its_jobs_load_anything(monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    import argparse

    from revoice.service.command import EXIT_CANNOT_START, serve_main

    _unset_offline(monkeypatch)
    assert serve_main(argparse.Namespace(host="0.0.0.0", port=0)) == EXIT_CANNOT_START  # refused, after going offline
    _assert_offline()
    assert "revoice serve:" in capsys.readouterr().err


def test_the_panel_and_the_benchmarks_go_offline_first(monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.syspath_prepend(str(Path(__file__).parents[2]))  # bench/ is a folder of the checkout
    from bench.__main__ import main as bench_main

    _unset_offline(monkeypatch)
    assert bench_main(["list"]) == 0
    _assert_offline()
    pytest.importorskip("PyQt6.QtWidgets")
    from revoice.ui.app import main as panel_main

    _unset_offline(monkeypatch)
    with pytest.raises(SystemExit):
        panel_main(["--help"])
    _assert_offline()
    capsys.readouterr()
