"""The installers: a real Linux install and uninstall into a temporary HOME, and dry-runs for macOS and Windows.

The real install makes a fresh environment with ``python -m venv`` and pip-installs the engine
from this checkout into it; ``--deps-from-venv`` lets it reuse the test environment's packages
(nothing is downloaded), so it takes seconds. It places the XDG autostart entry but does not start
the service (``--no-start``: a real ``revoice serve`` would take port 47390 and leave its token);
starting and stopping are tested with a stand-in service, ``launchctl`` with a stand-in script.
"""

from __future__ import annotations

import configparser
import json
import os
import plistlib
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path, PureWindowsPath

import pytest

ROOT = Path(__file__).resolve().parents[2]
INSTALLERS = ROOT / "installers"
INSTALLER = INSTALLERS / "revoice_install.py"
sys.path.insert(0, str(INSTALLERS))

from install_manifest import InstallManifest, Placer, uninstall  # noqa: E402
from install_paths import TargetOS, install_layout, login_entry_path  # noqa: E402
from install_plugins import PluginIdentity, plugin_files, uxp_plugin_root  # noqa: E402
from install_service import (  # noqa: E402
    StartServiceNow,
    WriteLoginEntry,
    desktop_exec,
    launch_agent,
    plan_login_service,
    start_detached,
    startup_script,
)
from revoice_install import InstallRequest, PlaceFile, RunPluginAgent, perform, plan_install  # noqa: E402

ON_LINUX = pytest.mark.skipif(sys.platform != "linux", reason="the real install and its paths are Linux's here")
TOOL_CACHES = {".cache", ".rustup"}
"""Folders in HOME that the tools the installer runs may leave (pip's cache; a rustup shim on some machines)."""
WINDOWS_VARIABLES = ("APPDATA", "LOCALAPPDATA", "PROGRAMDATA", "ProgramData", "CommonProgramFiles",
                     "CommonProgramW6432")


def sandbox_env(tmp_path: Path, *, state_dir: bool = True) -> dict[str, str]:
    """The environment of a user whose HOME, XDG folders and service state folder are under ``tmp_path``."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = {key: value for key, value in os.environ.items()
           if key not in ("REVOICE_STATE_DIR", "PYTHONPATH", *WINDOWS_VARIABLES) and not key.startswith("XDG_")}
    env.update(HOME=str(home), XDG_DATA_HOME=str(home / ".local" / "share"),
               XDG_STATE_HOME=str(home / ".local" / "state"), XDG_CONFIG_HOME=str(home / ".config"),
               XDG_CACHE_HOME=str(home / ".cache"), PIP_NO_CACHE_DIR="1", PIP_NO_INPUT="1")
    if state_dir:
        env["REVOICE_STATE_DIR"] = str(tmp_path / "state")
    return env


def run_installer(env: dict[str, str], *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(INSTALLER), *arguments], env=env, capture_output=True, text=True,
                          timeout=300)


def tree(folder: Path) -> dict[str, bytes | None]:
    """Every path under ``folder`` (relative) with the file's bytes (None for a folder), tool caches left out."""
    found: dict[str, bytes | None] = {}
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if relative.parts[0] in TOOL_CACHES:
            continue
        found[relative.as_posix()] = path.read_bytes() if path.is_file() else None
    return found


def read_desktop_entry(path: Path) -> dict[str, str]:
    """The ``[Desktop Entry]`` group of a .desktop file, keys as written, values as written (no unescaping)."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(path.read_text(encoding="utf-8"))
    return dict(parser["Desktop Entry"])


@ON_LINUX
@pytest.mark.slow
def test_linux_install_places_everything_and_uninstall_removes_exactly_that(tmp_path: Path) -> None:
    if sys.prefix == sys.base_prefix:
        pytest.skip("the test reuses the packages of the virtual environment it runs in; this is not one")
    resolve_files = plugin_files(ROOT / "plugin" / "resolve")
    assert Path("Revoice.py") in resolve_files, "plugin/resolve/Revoice.py is missing from the checkout"
    uxp_root = uxp_plugin_root(ROOT / "plugin" / "premiere")
    premiere_files = plugin_files(uxp_root)
    assert premiere_files, "plugin/premiere holds no plugin files"
    env = sandbox_env(tmp_path)
    home = Path(env["HOME"])
    scripts = home / ".local" / "share" / "DaVinciResolve" / "Fusion" / "Scripts" / "Utility"
    scripts.mkdir(parents=True)
    (scripts / "My Own Script.py").write_text("print('an editor\\'s own script')\n")
    before = tree(home)

    done = run_installer(env, "install", "--deps-from-venv", sys.prefix, "--no-start")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    prefix = home / ".local" / "share" / "revoice"
    for relative in resolve_files:
        assert (scripts / relative).read_bytes() == (ROOT / "plugin" / "resolve" / relative).read_bytes()
    assert not any(part in ("tests", "standin", "standins") for path in resolve_files for part in path.parts)
    placed_plugin = prefix / "premiere" / "revoice-premiere"
    for relative in premiere_files:
        assert (placed_plugin / relative).read_bytes() == (uxp_root / relative).read_bytes()
    command = json.loads((tmp_path / "state" / "command.json").read_text())
    revoice = prefix / "venv" / "bin" / "revoice"
    assert command == {"argv": [str(revoice), "serve"]}
    assert revoice.is_file() and os.access(revoice, os.X_OK)
    helped = subprocess.run([str(revoice), "--help"], capture_output=True, text=True, env=env, cwd=tmp_path,
                            timeout=120)
    assert helped.returncode == 0, helped.stderr[-2000:]
    assert "usage: revoice" in helped.stdout
    serve_help = subprocess.run([*command["argv"], "--help"], capture_output=True, text=True, env=env, cwd=tmp_path,
                                timeout=120)
    assert serve_help.returncode == 0 and "usage: revoice serve" in serve_help.stdout, serve_help.stderr[-2000:]
    located = subprocess.run([str(prefix / "venv" / "bin" / "python"), "-c", "import revoice; print(revoice.__file__)"],
                             capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert Path(located.stdout.strip()).is_relative_to(prefix / "venv"), "the engine was not installed into the venv"
    autostart = home / ".config" / "autostart" / "revoice-serve.desktop"
    entry = read_desktop_entry(autostart)
    assert entry["Type"] == "Application" and entry["X-GNOME-Autostart-enabled"] == "true"
    assert entry["Exec"] == f"{revoice} serve" and entry["TryExec"] == str(revoice)
    assert "would start" not in done.stdout and not (tmp_path / "state" / "service.log").exists()
    manifest = InstallManifest.from_json((prefix / "install-manifest.json").read_text())
    assert manifest.complete and manifest.venv == str(prefix / "venv")
    assert manifest.service_state_folder == str(tmp_path / "state") and manifest.login_entry_unload == []
    packaged = ROOT / "plugin" / "premiere" / "dist" / "revoice.ccx"  # built by hand (tools/package.mjs), git-ignored
    assert set(manifest.files) == ({str(scripts / relative) for relative in resolve_files}
                                   | {str(placed_plugin / relative) for relative in premiere_files}
                                   | {str(tmp_path / "state" / "command.json"), str(autostart)}
                                   | ({str(prefix / "premiere" / "revoice.ccx")} if packaged.is_file() else set()))
    assert str(scripts) not in manifest.folders, "the Scripts folder existed before: it is not the installer's"

    removed = run_installer(env, "uninstall")
    assert removed.returncode == 0, removed.stdout[-3000:] + removed.stderr[-3000:]
    for name in manifest.files:
        assert not Path(name).exists(), name
    assert not autostart.exists() and not (home / ".config").exists()
    assert not prefix.exists() and not (tmp_path / "state").exists()
    assert (scripts / "My Own Script.py").read_text() == "print('an editor\\'s own script')\n"
    assert tree(home) == before


def _documented_paths(platform: str, *, system: bool, home: Path) -> list[str]:
    """The exact Resolve Scripts folder, Revoice prefix and UPIA path the docs give for ``platform``."""
    upia_mac = ("/Library/Application Support/Adobe/Adobe Desktop Common/RemoteComponents/UPI/"
                "UnifiedPluginInstallerAgent/UnifiedPluginInstallerAgent.app/Contents/MacOS/"
                "UnifiedPluginInstallerAgent")
    upia_windows = (r"C:\Program Files\Common Files\Adobe\Adobe Desktop Common\RemoteComponents\UPI"
                    r"\UnifiedPluginInstallerAgent\UnifiedPluginInstallerAgent.exe")
    if platform == "macos":
        resolve_root = "" if system else str(home)
        return [f"{resolve_root}/Library/Application Support/Blackmagic Design/DaVinci Resolve/Fusion/Scripts/Utility",
                f"{home}/Library/Application Support/Revoice/venv/bin/revoice", upia_mac]
    resolve = (r"%PROGRAMDATA%\Blackmagic Design\DaVinci Resolve\Fusion\Scripts\Utility" if system
               else r"%APPDATA%\Blackmagic Design\DaVinci Resolve\Support\Fusion\Scripts\Utility")
    return [resolve, r"%LOCALAPPDATA%\Revoice\venv\Scripts\revoice.exe", upia_windows]


@pytest.mark.parametrize("system", [False, True], ids=["per-user", "system"])
@pytest.mark.parametrize("platform", ["macos", "windows"])
def test_dry_run_prints_the_documented_paths_and_actions_and_changes_nothing(tmp_path: Path, platform: str,
                                                                             system: bool) -> None:
    env = sandbox_env(tmp_path, state_dir=False)
    home = Path(env["HOME"])
    done = run_installer(env, "install", "--dry-run", "--platform", platform, *(["--system"] if system else []))
    assert done.returncode == 0, done.stderr
    output = done.stdout
    for documented in _documented_paths(platform, system=system, home=home):
        assert documented in output
    state = (f"{home}/Library/Application Support/Revoice" if platform == "macos" else r"%LOCALAPPDATA%\Revoice")
    separator = "/" if platform == "macos" else "\\"
    revoice = _documented_paths(platform, system=system, home=home)[1]
    assert f"would write {state}{separator}command.json  " + json.dumps({"argv": [revoice, "serve"]}) in output
    assert "would create Revoice's Python environment" in output and "would pip install" in output
    scripts = _documented_paths(platform, system=system, home=home)[0]
    for relative in plugin_files(ROOT / "plugin" / "resolve"):
        assert f"would copy {ROOT / 'plugin' / 'resolve' / relative} -> {scripts}{separator}" in output
    assert "would write" in output and "install-manifest.json" in output
    assert f"Voice matching: `{revoice} voice prepare` once" in output  # the voice bank, filled ahead
    if platform == "macos":
        plist = f"{home}/Library/LaunchAgents/org.revoice.serve.plist"
        assert f"would write {plist}  (LaunchAgent: runs `{revoice} serve` at login)" in output
        assert f"would run launchctl bootstrap gui/$UID {plist}" in output
    else:
        startup = r"%APPDATA%\Microsoft\Windows\Start Menu\Programs\Startup\Revoice service.cmd"
        assert f"would write {startup}  (Startup-folder script, minimized: runs `{revoice} serve` at login)" in output
        assert f"would run cmd.exe /c {startup}" in output
    assert list(home.iterdir()) == [] and sorted(path.name for path in tmp_path.iterdir()) == ["home"]


@ON_LINUX
def test_linux_dry_run_uses_xdg_folders_and_system_scripts(tmp_path: Path) -> None:
    env = sandbox_env(tmp_path, state_dir=False)
    home = Path(env["HOME"])
    done = run_installer(env, "--dry-run", "--system")
    assert done.returncode == 0, done.stderr
    assert "/opt/resolve/Fusion/Scripts/Utility" in done.stdout
    assert f"would write {home}/.local/state/revoice/command.json" in done.stdout
    assert f"{home}/.local/share/revoice/venv" in done.stdout
    assert f"would write {home}/.config/autostart/revoice-serve.desktop  (XDG autostart entry" in done.stdout
    assert f"would start `{home}/.local/share/revoice/venv/bin/revoice serve` now" in done.stdout
    assert list(home.iterdir()) == []


@ON_LINUX
def test_another_platform_needs_dry_run(tmp_path: Path) -> None:
    done = run_installer(sandbox_env(tmp_path), "install", "--platform", "windows")
    assert done.returncode == 2 and "needs --dry-run" in done.stderr


@ON_LINUX
def test_shell_wrapper_dry_run(tmp_path: Path) -> None:
    env = sandbox_env(tmp_path)
    env["REVOICE_PYTHON"] = sys.executable
    prefix = tmp_path / "custom prefix"
    done = subprocess.run(["sh", str(INSTALLERS / "install.sh"), "--dry-run", "--prefix", str(prefix)], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "install for linux (dry run: nothing is changed)" in done.stdout
    assert f"would create Revoice's Python environment {prefix}/venv" in done.stdout
    assert f"{env['HOME']}/.local/share/DaVinciResolve/Fusion/Scripts/Utility" in done.stdout
    assert not prefix.exists() and not (tmp_path / "state").exists()


@ON_LINUX
def test_shell_wrapper_refuses_a_python_that_is_too_old(tmp_path: Path) -> None:
    old = tmp_path / "python3.9"
    old.write_text("#!/bin/sh\nexit 1\n")
    old.chmod(0o755)
    env = dict(sandbox_env(tmp_path), REVOICE_PYTHON=str(old))
    done = subprocess.run(["sh", str(INSTALLERS / "install.sh"), "--dry-run"], env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2 and "not a Python 3.11 or newer" in done.stderr


@pytest.mark.skipif(shutil.which("dash") is None, reason="dash (a strict POSIX sh) is not installed")
def test_shell_wrapper_is_posix_sh() -> None:
    done = subprocess.run(["dash", "-n", str(INSTALLERS / "install.sh")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_a_users_file_at_a_target_path_is_moved_aside_and_put_back(tmp_path: Path) -> None:
    scripts = tmp_path / "Scripts" / "Utility"
    scripts.mkdir(parents=True)
    (scripts / "Revoice.py").write_text("the user's own\n")
    (scripts / "Other.py").write_text("unrelated\n")
    new = tmp_path / "new_Revoice.py"
    new.write_text("ours\n")
    manifest = InstallManifest(platform="linux", prefix=str(tmp_path / "prefix"), source=str(tmp_path))
    placer = Placer(manifest)
    placer.copy_file(new, scripts / "Revoice.py")
    placer.copy_file(new, scripts / "helpers" / "client.py")
    assert (scripts / "Revoice.py").read_text() == "ours\n"
    assert manifest.folders == [str(scripts / "helpers")]
    manifest_path = tmp_path / "manifest.json"
    manifest.save(manifest_path)
    (scripts / "__pycache__").mkdir()
    (scripts / "__pycache__" / "Revoice.cpython-311.pyc").write_bytes(b"")
    (scripts / "__pycache__" / "Other.cpython-311.pyc").write_bytes(b"")

    kept = uninstall(InstallManifest.from_json(manifest_path.read_text()), manifest_path=manifest_path,
                     log=lambda line: None, dry_run=False)
    assert kept == []
    assert sorted(path.name for path in scripts.iterdir()) == ["Other.py", "Revoice.py", "__pycache__"]
    assert (scripts / "Revoice.py").read_text() == "the user's own\n"
    assert [path.name for path in (scripts / "__pycache__").iterdir()] == ["Other.cpython-311.pyc"]
    assert not manifest_path.exists()


def _source_with_packaged_plugin(tmp_path: Path) -> Path:
    """A minimal source folder whose plugin/premiere/dist/revoice.ccx is a real zip with a manifest.json."""
    source = tmp_path / "source"
    (source / "plugin" / "premiere" / "dist").mkdir(parents=True)
    (source / "pyproject.toml").write_text("[project]\nname = 'revoice'\n")
    manifest = {"id": "com.example.revoice", "name": "Revoice", "manifestVersion": 5}
    (source / "plugin" / "premiere" / "manifest.json").write_text(json.dumps(manifest))
    with zipfile.ZipFile(source / "plugin" / "premiere" / "dist" / "revoice.ccx", "w") as archive:
        archive.writestr("manifest.json", json.dumps(manifest))
    return source


@pytest.mark.parametrize("platform, install_option", [("macos", "--install"), ("windows", "/install")])
def test_a_packaged_plugin_goes_through_adobes_agent(tmp_path: Path, platform: str, install_option: str) -> None:
    source = _source_with_packaged_plugin(tmp_path)
    layout = install_layout(TargetOS(platform), env={"HOME": str(tmp_path / "home")}, default_home="/nowhere")
    request = InstallRequest(source=source, python="python3", extras=(), pip_options=(), deps_from_venv=None)
    actions = plan_install(layout, request)
    agent_runs = [action for action in actions if isinstance(action, RunPluginAgent)]
    assert [(run.agent, run.plugin.plugin_id, run.plugin.name) for run in agent_runs] == [
        (layout.upia, "com.example.revoice", "Revoice")]
    assert f"{install_option} {layout.premiere_folder / 'revoice.ccx'}" in agent_runs[0].describe()
    copies = {action.target for action in actions if isinstance(action, PlaceFile)}
    assert layout.premiere_folder / "revoice.ccx" in copies
    assert layout.premiere_folder / "revoice-premiere" / "manifest.json" in copies


@ON_LINUX
def test_the_agent_installs_and_removes_the_plugin(tmp_path: Path) -> None:
    """Adobe's UPIA replaced by a script that records its arguments: install, then uninstall by the plugin's name."""
    calls = tmp_path / "calls.txt"
    agent = tmp_path / "UnifiedPluginInstallerAgent"
    agent.write_text(f"#!/bin/sh\necho \"$@\" >> '{calls}'\n")
    agent.chmod(0o755)
    package = tmp_path / "revoice.ccx"
    manifest = InstallManifest(platform="macos", prefix=str(tmp_path), source=str(tmp_path))
    perform(RunPluginAgent(agent=agent, package=package, plugin=PluginIdentity(plugin_id="com.example.revoice",
                                                                                name="Revoice"),
                           option_prefix="--"), Placer(manifest))
    assert manifest.plugin_agent is not None and manifest.plugin_agent.plugin_name == "Revoice"
    manifest_path = tmp_path / "install-manifest.json"
    manifest.save(manifest_path)
    uninstall(InstallManifest.from_json(manifest_path.read_text()), manifest_path=manifest_path, log=lambda line: None,
              dry_run=False)
    assert calls.read_text().splitlines() == [f"--install {package}", "--remove Revoice"]


def test_login_entry_paths_follow_each_os_and_xdg_config_home() -> None:
    home = {"HOME": "/home/ed"}
    assert str(login_entry_path(TargetOS.LINUX, env=home, default_home="/nowhere")) == (
        "/home/ed/.config/autostart/revoice-serve.desktop")
    assert str(login_entry_path(TargetOS.LINUX, env={**home, "XDG_CONFIG_HOME": "/cfg"}, default_home="/nowhere")) == (
        "/cfg/autostart/revoice-serve.desktop")
    assert str(login_entry_path(TargetOS.LINUX, env={**home, "XDG_CONFIG_HOME": "relative"},
                                default_home="/nowhere")) == "/home/ed/.config/autostart/revoice-serve.desktop"
    assert str(login_entry_path(TargetOS.MACOS, env=home, default_home="/nowhere")) == (
        "/home/ed/Library/LaunchAgents/org.revoice.serve.plist")
    assert login_entry_path(TargetOS.WINDOWS, env={"APPDATA": r"C:\Users\Ed\AppData\Roaming"},
                            default_home="/nowhere") == PureWindowsPath(
        r"C:\Users\Ed\AppData\Roaming\Microsoft\Windows\Start Menu\Programs\Startup\Revoice service.cmd")


def test_login_entries_run_the_service_command() -> None:
    spaced = ["/Users/Ed Smith/100% Revoice/venv/bin/revoice", "serve"]
    assert desktop_exec(spaced) == '"/Users/Ed Smith/100%% Revoice/venv/bin/revoice" serve'
    assert desktop_exec(["/a/b$c\\d", "serve"]) == '"/a/b\\\\$c\\\\\\\\d" serve'
    agent = plistlib.loads(launch_agent(spaced, log=Path("/state/service.log")).encode("utf-8"))
    assert agent["Label"] == "org.revoice.serve" and agent["ProgramArguments"] == spaced
    assert agent["RunAtLoad"] is True and agent["KeepAlive"] is False
    revoice = r"C:\Users\Ed\AppData\Local\Revoice\venv\Scripts\revoice.exe"
    script = startup_script([revoice, "serve"])
    assert f'start "Revoice service" /min "{revoice}" "serve"' in script.splitlines()
    assert "chcp" not in script and "chcp 65001 >nul" in startup_script([r"C:\Users\José\revoice.exe", "serve"])


@pytest.mark.parametrize("platform", ["linux", "macos", "windows"])
def test_no_autostart_places_no_login_entry(tmp_path: Path, platform: str) -> None:
    layout = install_layout(TargetOS(platform), env={"HOME": str(tmp_path / "home")}, default_home="/nowhere")
    request = InstallRequest(source=ROOT, python="python3", extras=(), pip_options=(), deps_from_venv=None)
    planned = [type(action) for action in plan_install(layout, request)]
    assert planned.count(WriteLoginEntry) == 1 and planned.count(StartServiceNow) == 1
    skipped = InstallRequest(source=ROOT, python="python3", extras=(), pip_options=(), deps_from_venv=None,
                             autostart=False)
    planned = [type(action) for action in plan_install(layout, skipped)]
    assert WriteLoginEntry not in planned and StartServiceNow not in planned
    not_now = InstallRequest(source=ROOT, python="python3", extras=(), pip_options=(), deps_from_venv=None,
                             start_now=False)
    planned = [type(action) for action in plan_install(layout, not_now)]
    assert WriteLoginEntry in planned and StartServiceNow not in planned


@ON_LINUX
def test_no_autostart_dry_run(tmp_path: Path) -> None:
    env = sandbox_env(tmp_path, state_dir=False)
    done = run_installer(env, "--dry-run", "--no-autostart")
    assert done.returncode == 0, done.stderr
    assert "revoice-serve.desktop" not in done.stdout and "would start" not in done.stdout
    assert "login entry      none (--no-autostart)" in done.stdout
    assert list(Path(env["HOME"]).iterdir()) == []


def _stand_in(folder: Path, name: str, body: str) -> Path:
    """An executable shell script ``folder/name`` running ``body``."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / name
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(0o755)
    return script


@ON_LINUX
def test_launch_agent_is_bootstrapped_and_booted_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The macOS steps on this machine, ``launchctl`` replaced by a script that records its arguments."""
    calls = tmp_path / "calls.txt"
    _stand_in(tmp_path / "bin", "launchctl", f"echo \"$@\" >> '{calls}'\n")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    home = tmp_path / "home"
    home.mkdir()
    layout = install_layout(TargetOS.MACOS, env={"HOME": str(home)}, default_home="/nowhere")
    argv = (str(layout.revoice_executable), "serve")
    manifest = InstallManifest(platform="macos", prefix=str(tmp_path), source=str(tmp_path))
    placer = Placer(manifest)
    for action in plan_login_service(layout, argv, start_now=True, user_id="501"):
        perform(action, placer)
    plist = home / "Library" / "LaunchAgents" / "org.revoice.serve.plist"
    assert plistlib.loads(plist.read_bytes())["ProgramArguments"] == list(argv)
    assert manifest.files == [str(plist)] and manifest.folders == [str(home / "Library"), str(plist.parent)]
    manifest_path = tmp_path / "install-manifest.json"
    manifest.save(manifest_path)

    lines: list[str] = []
    uninstall(InstallManifest.from_json(manifest_path.read_text()), manifest_path=manifest_path, log=lines.append,
              dry_run=True)
    assert "would run launchctl bootout gui/501/org.revoice.serve" in lines and plist.is_file()
    uninstall(InstallManifest.from_json(manifest_path.read_text()), manifest_path=manifest_path, log=lines.append,
              dry_run=False)
    assert calls.read_text().splitlines() == [f"bootstrap gui/501 {plist}", "bootout gui/501/org.revoice.serve"]
    assert list(home.iterdir()) == []


STAND_IN_SERVICE = """
import http.server, json, os, pathlib, signal, sys
state = pathlib.Path(sys.argv[1])

class Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.headers.get("Authorization") == "Bearer tok" else 401)
        self.end_headers()

    def log_message(self, *args):
        pass

server = http.server.HTTPServer(("127.0.0.1", 0), Health)
url = "http://127.0.0.1:%d" % server.server_address[1]

def stop(*args):
    (state / "service.json").unlink()
    os._exit(0)

signal.signal(signal.SIGTERM, stop)
(state / "service.json").write_text(json.dumps({"url": url, "port": 0, "token": "tok", "pid": os.getpid()}))
print("listening at", url, flush=True)
server.serve_forever()
"""
"""A stand-in for ``revoice serve``: writes service.json, answers /health, removes service.json on SIGTERM."""


@pytest.fixture
def stand_in_service(tmp_path: Path) -> Iterator[tuple[list[str], Path]]:
    """The stand-in service's argv (naming a fake environment folder) and its state folder; killed afterwards."""
    state = tmp_path / "state"
    state.mkdir()
    script = tmp_path / "venv" / "bin" / "stand_in_service.py"
    script.parent.mkdir(parents=True)
    script.write_text(STAND_IN_SERVICE)
    yield [sys.executable, str(script), str(state)], state
    record = state / "service.json"
    if record.is_file():
        try:
            os.kill(json.loads(record.read_text())["pid"], 9)
        except OSError:
            pass


@ON_LINUX
def test_the_service_starts_detached_and_uninstall_stops_it(tmp_path: Path,
                                                            stand_in_service: tuple[list[str], Path]) -> None:
    argv, state = stand_in_service
    said = start_detached(argv, log_path=state / "service.log", service_file=state / "service.json")
    assert said.startswith("the Revoice service runs at http://127.0.0.1:"), said
    record = json.loads((state / "service.json").read_text())
    assert os.getsid(record["pid"]) == record["pid"], "not in a session of its own"
    assert "listening at" in (state / "service.log").read_text()

    manifest_path = tmp_path / "install-manifest.json"
    lines: list[str] = []
    other = InstallManifest(platform="linux", prefix=str(tmp_path), source=str(tmp_path),
                            venv=str(tmp_path / "another-venv"), service_state_folder=str(state))
    other.save(manifest_path)
    uninstall(other, manifest_path=manifest_path, log=lines.append, dry_run=False)
    assert any(line.startswith("leave the Revoice service") for line in lines) and (state / "service.json").exists()

    ours = InstallManifest(platform="linux", prefix=str(tmp_path), source=str(tmp_path),
                           venv=str(tmp_path / "venv"), service_state_folder=str(state))
    ours.save(manifest_path)
    uninstall(ours, manifest_path=manifest_path, log=lines.append, dry_run=False)
    assert f"stop the running Revoice service at {record['url']} (pid {record['pid']})" in lines
    assert not (state / "service.json").exists() and not (tmp_path / "venv").exists()


@ON_LINUX
def test_a_service_that_stops_at_once_is_reported(tmp_path: Path) -> None:
    failing = _stand_in(tmp_path / "bin", "revoice", "echo 'revoice serve: already running' >&2\nexit 2\n")
    said = start_detached([str(failing), "serve"], log_path=tmp_path / "service.log",
                          service_file=tmp_path / "service.json")
    assert said.startswith("warning: the Revoice service stopped at once (exit 2): revoice serve: already running")
