"""``revoice serve`` at login, started now, and stopped on uninstall: each OS's own per-user mechanism.

The Premiere UXP panel cannot start programs, so the installer registers the service to start at
login (the Resolve script can also start it on demand, through ``command.json``):

- Linux: an XDG autostart entry, ``$XDG_CONFIG_HOME/autostart/revoice-serve.desktop`` (freedesktop.org's
  Desktop Application Autostart Specification, which GNOME, KDE, Xfce, Cinnamon, MATE and LXQt follow).
  It runs inside the graphical session, where the NLE runs, with or without systemd, so no systemd user
  unit is added. Started now: the command, detached, its output appended to ``<state>/service.log``.
- macOS: a LaunchAgent, ``~/Library/LaunchAgents/org.revoice.serve.plist`` (``RunAtLoad`` true,
  ``KeepAlive`` false: a service that stopped is started again by the Resolve script or at the next
  login). Started now: ``launchctl bootstrap gui/<uid> <plist>``; uninstall runs
  ``launchctl bootout gui/<uid>/org.revoice.serve`` first.
- Windows: ``Revoice service.cmd`` in the user's Startup folder (``%APPDATA%\\Microsoft\\Windows\\Start
  Menu\\Programs\\Startup``), which runs ``start "Revoice service" /min "<venv>\\Scripts\\revoice.exe" "serve"``.
  Started now: ``cmd.exe /c`` that script.

The command is ``command.json``'s argv. The entry texts and actions are computed here without touching
anything; :func:`start_detached`, :func:`run_start_command`, :func:`run_unload_command` and
:func:`stop_running_service` are the functions that run things.
"""

from __future__ import annotations

import json
import os
import plistlib
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath

from install_paths import LAUNCH_AGENT_LABEL, InstallLayout, TargetOS

SERVICE_FILE = "service.json"
"""What a running service writes in its state folder: ``{"url", "port", "token", "pid"}`` (docs/service-api.md)."""
LOG_FILE = "service.log"
"""The service's output when the installer or launchd starts it (the same file the plugins' client uses)."""
DESKTOP_EXEC_RESERVED = frozenset(' \t\n"\'\\><~|&;$*?#()`')
"""Characters that make an Exec argument need double quotes (Desktop Entry Specification, "The Exec key")."""
DESKTOP_QUOTED_ESCAPES = frozenset('"`$\\')
"""Characters escaped with a backslash inside a double-quoted Exec argument."""

Log = Callable[[str], None]


@dataclass(frozen=True, kw_only=True)
class WriteLoginEntry:
    """Place the per-user file that starts the service at login."""

    target: PurePath
    text: str
    argv: tuple[str, ...]
    """The command it runs (``command.json``'s argv)."""
    kind: str
    """What the file is, in words ("XDG autostart entry", "LaunchAgent", "Startup-folder script")."""
    unload: tuple[str, ...]
    """Run first on uninstall (``launchctl bootout ...`` on macOS); empty where removing the file is enough."""

    def describe(self) -> str:
        return f"write {self.target}  ({self.kind}: runs `{' '.join(self.argv)}` at login)"


@dataclass(frozen=True, kw_only=True)
class StartServiceNow:
    """Start the service at once, so the Premiere panel finds it without a new login."""

    argv: tuple[str, ...]
    log: PurePath | None
    """Linux: ``argv`` is the service itself, started detached with its output appended here. None:
    ``argv`` (``launchctl bootstrap ...``, ``cmd.exe /c ...``) starts it and returns."""
    service_file: PurePath
    """``<state>/service.json``, which the service writes once it listens."""

    def describe(self) -> str:
        if self.log is None:
            return f"run {' '.join(self.argv)}  (starts the service now)"
        return f"start `{' '.join(self.argv)}` now (detached; its output goes to {self.log})"


def desktop_exec(argv: Sequence[str]) -> str:
    """``argv`` as a Desktop Entry ``Exec`` value: ``%`` doubled, arguments with reserved characters quoted,
    then the string escapes (``\\\\``) every value gets (Desktop Entry Specification)."""
    words: list[str] = []
    for argument in argv:
        argument = argument.replace("%", "%%")
        if argument and not DESKTOP_EXEC_RESERVED.intersection(argument):
            words.append(argument)
        else:
            words.append('"' + "".join("\\" + char if char in DESKTOP_QUOTED_ESCAPES else char
                                       for char in argument) + '"')
    return desktop_string(" ".join(words))


def desktop_string(value: str) -> str:
    """A Desktop Entry string value: backslash, newline, tab and carriage return escaped."""
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r")


def xdg_autostart_entry(argv: Sequence[str]) -> str:
    """The ``.desktop`` file that starts ``argv`` at login (``TryExec``: skipped once the command is gone)."""
    return "\n".join([
        "[Desktop Entry]",
        "Type=Application",
        "Name=Revoice service",
        "Comment=Starts the local Revoice engine service (revoice serve) for DaVinci Resolve and Premiere Pro",
        f"Exec={desktop_exec(argv)}",
        f"TryExec={desktop_string(argv[0])}",
        "Terminal=false",
        "X-GNOME-Autostart-enabled=true",
        "",
    ])


def launch_agent(argv: Sequence[str], *, log: PurePath) -> str:
    """The LaunchAgent plist: ``argv`` at load (login), not restarted when it stops, output to ``log``."""
    agent = {"Label": LAUNCH_AGENT_LABEL, "ProgramArguments": list(argv), "RunAtLoad": True, "KeepAlive": False,
             "StandardOutPath": str(log), "StandardErrorPath": str(log)}
    return plistlib.dumps(agent).decode("utf-8")


def startup_script(argv: Sequence[str]) -> str:
    """The Startup-folder batch file: starts ``argv`` in its own minimized console window and returns.

    ``%`` is doubled, as batch files need. The file is UTF-8; when the command is not plain ASCII (a user
    name with accents in the path), ``chcp 65001`` first makes cmd read the following lines as UTF-8 (it
    is left out otherwise: it also changes the code page of the console that runs the script).
    """
    quoted = " ".join('"' + argument.replace("%", "%%") + '"' for argument in argv)
    return "\n".join([
        "@echo off",
        "rem Starts the Revoice service (revoice serve) at login for DaVinci Resolve and Premiere Pro.",
        "rem Placed by the Revoice installer; its uninstall removes this file.",
        *([] if quoted.isascii() else ["chcp 65001 >nul"]),
        f'start "Revoice service" /min {quoted}',
        "",
    ])


def plan_login_service(layout: InstallLayout, argv: Sequence[str], *, start_now: bool,
                       user_id: str) -> list[WriteLoginEntry | StartServiceNow]:
    """The login entry for ``layout.target`` and, with ``start_now``, the action that starts the service now.

    ``user_id`` is the macOS user's uid for ``launchctl``'s ``gui/<uid>`` domain (``$UID`` in a dry run
    for another OS).
    """
    command = tuple(argv)
    entry = layout.login_entry
    service_file = layout.state_folder / SERVICE_FILE
    actions: list[WriteLoginEntry | StartServiceNow] = []
    if layout.target is TargetOS.MACOS:
        actions.append(WriteLoginEntry(target=entry, text=launch_agent(command, log=layout.state_folder / LOG_FILE),
                                       argv=command, kind="LaunchAgent",
                                       unload=("launchctl", "bootout", f"gui/{user_id}/{LAUNCH_AGENT_LABEL}")))
        start = StartServiceNow(argv=("launchctl", "bootstrap", f"gui/{user_id}", str(entry)), log=None,
                                service_file=service_file)
    elif layout.target is TargetOS.WINDOWS:
        actions.append(WriteLoginEntry(target=entry, text=startup_script(command), argv=command,
                                       kind="Startup-folder script, minimized", unload=()))
        start = StartServiceNow(argv=("cmd.exe", "/c", str(entry)), log=None, service_file=service_file)
    else:
        actions.append(WriteLoginEntry(target=entry, text=xdg_autostart_entry(command), argv=command,
                                       kind="XDG autostart entry", unload=()))
        start = StartServiceNow(argv=command, log=layout.state_folder / LOG_FILE, service_file=service_file)
    if start_now:
        actions.append(start)
    return actions


def _service_record(service_file: Path) -> tuple[str, str, int] | None:
    """``service.json``'s url, token and pid, or None when it is missing or unreadable."""
    try:
        data = json.loads(service_file.read_text(encoding="utf-8"))
        return str(data["url"]), str(data["token"]), int(data["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _answers(url: str, token: str) -> bool:
    """Whether a service answers ``GET /health`` at ``url`` with ``token`` (2 s at most)."""
    request = urllib.request.Request(url.rstrip("/") + "/health", headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=2.0) as answer:
            return int(answer.status) == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _last_line(path: Path) -> str:
    try:
        lines = [line for line in path.read_text(encoding="utf-8", errors="replace").splitlines() if line.strip()]
    except OSError:
        return ""
    return lines[-1] if lines else ""


def start_detached(argv: Sequence[str], *, log_path: Path, service_file: Path, wait_seconds: float = 10.0) -> str:
    """Start ``argv`` in its own session (it outlives the installer), output appended to ``log_path``.

    Waits up to ``wait_seconds`` for the service to write ``service_file`` or to stop; returns one line
    saying which (a line starting ``warning:`` when it stopped at once, e.g. another service holds the port).
    """
    with open(log_path, "ab") as log:
        process = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                   start_new_session=True)
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        record = _service_record(service_file)
        if record is not None and record[2] == process.pid:
            return f"the Revoice service runs at {record[0]} (pid {process.pid}; output in {log_path})"
        code = process.poll()
        if code is not None:
            return (f"warning: the Revoice service stopped at once (exit {code}): {_last_line(log_path)}; "
                    "it starts at the next login")
        time.sleep(0.1)
    return f"the Revoice service is starting (pid {process.pid}; output in {log_path})"


def run_start_command(argv: Sequence[str]) -> str:
    """Run ``launchctl bootstrap ...`` or ``cmd.exe /c <script>``; one line saying how it went.

    Its output goes to the installer's own (nothing is captured: the service ``cmd`` starts must not
    hold a pipe the installer waits on).
    """
    try:
        done = subprocess.run(list(argv), stdin=subprocess.DEVNULL, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"warning: could not start the Revoice service now ({error}); it starts at the next login"
    if done.returncode != 0:
        return (f"warning: `{' '.join(argv)}` failed (exit {done.returncode}); "
                "the Revoice service starts at the next login")
    return "the Revoice service was started"


def run_unload_command(argv: Sequence[str], log: Log, *, dry_run: bool) -> None:
    """Unload the login entry from the running session (``launchctl bootout``, which also stops the service).

    A failure is expected when it was never loaded (installed with ``--no-start``, or booted out by hand)
    and is not reported.
    """
    log(f"{'would run' if dry_run else 'run'} {' '.join(argv)}")
    if dry_run:
        return
    try:
        subprocess.run(list(argv), stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        pass


def _runs_from(pid: int, venv: Path) -> bool:
    """Whether process ``pid``'s command line names ``venv``; True where ``/proc`` cannot tell (macOS, Windows)."""
    if not Path("/proc/self/cmdline").is_file():
        return True
    try:
        words = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    marker = os.fsencode(str(venv))
    return any(marker in word for word in words)


def stop_running_service(state_folder: Path, *, venv: Path | None, log: Log, dry_run: bool,
                         wait_seconds: float = 15.0) -> None:
    """Stop the service ``<state_folder>/service.json`` names when it answers and runs from ``venv``.

    Before the environment is removed: a running ``revoice.exe`` cannot be deleted on Windows, and
    elsewhere it would go on running from deleted files. SIGTERM lets it finish the line it renders
    (on Windows it is TerminateProcess); waits up to ``wait_seconds`` for it to stop answering.
    """
    record = _service_record(state_folder / SERVICE_FILE)
    if record is None or not _answers(record[0], record[1]):
        return
    url, token, pid = record
    if venv is not None and not _runs_from(pid, venv):
        log(f"leave the Revoice service at {url} running (pid {pid} does not run from {venv})")
        return
    log(f"{'would stop' if dry_run else 'stop'} the running Revoice service at {url} (pid {pid})")
    if dry_run:
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except OSError as error:
        log(f"warning: could not stop the Revoice service (pid {pid}): {error}")
        return
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        if not _answers(url, token):
            return
        time.sleep(0.2)
    log(f"warning: the Revoice service (pid {pid}) still answers after {wait_seconds:.0f} s")
