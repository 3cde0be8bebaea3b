"""Where the Revoice installer puts things on each operating system.

Pure: this module computes paths from an environment mapping and touches nothing, so a
Linux machine can print the macOS or Windows layout (``--dry-run --platform ...``).
Windows paths are built with :class:`~pathlib.PureWindowsPath`; an environment variable
that is not set (as on a Linux machine printing the Windows layout) is kept as its literal
``%NAME%``, so the printout shows the documented path.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePath, PurePosixPath, PureWindowsPath


class TargetOS(enum.Enum):
    """The operating system an install is planned for (``--platform``)."""

    LINUX = "linux"
    MACOS = "macos"
    WINDOWS = "windows"


def host_os(platform: str) -> TargetOS:
    """The :class:`TargetOS` of a ``sys.platform`` value (``linux``, ``darwin``, ``win32``, ...)."""
    if platform.startswith("win"):
        return TargetOS.WINDOWS
    if platform == "darwin":
        return TargetOS.MACOS
    return TargetOS.LINUX


RESOLVE_MENU_FOLDER = "Utility"
"""The Scripts subfolder the script goes in: it shows as Workspace > Scripts > Utility > Revoice."""

MACOS_RESOLVE_SCRIPTS = "Library/Application Support/Blackmagic Design/DaVinci Resolve/Fusion/Scripts"
"""Relative to the user's home (per user) or to ``/`` (all users): Resolve's scripting README."""

LINUX_USER_RESOLVE_SCRIPTS = ".local/share/DaVinciResolve/Fusion/Scripts"
"""Relative to ``$HOME``: Resolve's per-user Scripts folder on Linux."""

LINUX_SYSTEM_RESOLVE_SCRIPTS = "/opt/resolve/Fusion/Scripts"
"""Resolve's all-users Scripts folder on Linux (``--system``)."""

MACOS_UPIA = ("/Library/Application Support/Adobe/Adobe Desktop Common/RemoteComponents/UPI/"
              "UnifiedPluginInstallerAgent/UnifiedPluginInstallerAgent.app/Contents/MacOS/UnifiedPluginInstallerAgent")
"""Adobe's Unified Plugin Installer Agent (installs a ``.ccx``), where Creative Cloud puts it on macOS."""

WINDOWS_UPIA_IN_COMMON_FILES = (r"Adobe\Adobe Desktop Common\RemoteComponents\UPI\UnifiedPluginInstallerAgent"
                                r"\UnifiedPluginInstallerAgent.exe")
"""The same agent on Windows, relative to ``%CommonProgramFiles%`` (64-bit: ``C:\\Program Files\\Common Files``)."""

LAUNCH_AGENT_LABEL = "org.revoice.serve"
"""The macOS LaunchAgent's ``Label`` (its plist is ``~/Library/LaunchAgents/<label>.plist``)."""
LINUX_AUTOSTART_ENTRY = "revoice-serve.desktop"
"""The XDG autostart entry's file name, in ``$XDG_CONFIG_HOME/autostart``."""
WINDOWS_STARTUP_SCRIPT = "Revoice service.cmd"
"""The batch file in the user's Startup folder that starts the service at login."""
WINDOWS_STARTUP_IN_APPDATA = r"Microsoft\Windows\Start Menu\Programs\Startup"
"""The per-user Startup folder, relative to ``%APPDATA%``."""


@dataclass(frozen=True, kw_only=True)
class InstallLayout:
    """Every path one install uses, in the target system's path flavour."""

    target: TargetOS
    prefix: PurePath
    """Revoice's own folder: the environment, the Premiere plugin copy and the install manifest."""
    venv: PurePath
    """Revoice's Python environment (``python -m venv``)."""
    venv_python: PurePath
    revoice_executable: PurePath
    """The ``revoice`` command inside :attr:`venv` (``command.json`` points here)."""
    manifest: PurePath
    """JSON list of everything the install placed; ``uninstall`` removes exactly that."""
    resolve_scripts: PurePath
    """The Scripts folder's ``Utility`` subfolder the Resolve script is copied into."""
    premiere_folder: PurePath
    """Where the Premiere UXP plugin (folder and ``.ccx``) is copied."""
    state_folder: PurePath
    """The service state folder (docs/service-api.md; ``REVOICE_STATE_DIR`` overrides)."""
    command_file: PurePath
    """``command.json`` in the state folder: how a plugin starts ``revoice serve``."""
    upia: PurePath | None
    """Adobe's UPIA where Creative Cloud installs it; None on Linux (no Premiere there)."""
    login_entry: PurePath
    """What starts ``revoice serve`` at login: an XDG autostart entry, a LaunchAgent or a Startup-folder script."""


def _windows_folder(env: Mapping[str, str], *names: str, fallback: str) -> PureWindowsPath:
    """The first of the environment variables ``names`` that is set, else ``fallback`` (kept literal)."""
    for name in names:
        value = env.get(name)
        if value:
            return PureWindowsPath(value)
    return PureWindowsPath(fallback)


def _posix_home(env: Mapping[str, str], default_home: str) -> PurePosixPath:
    return PurePosixPath(env.get("HOME") or default_home)


def _per_user_folder(target: TargetOS, *, env: Mapping[str, str], default_home: str, xdg_variable: str,
                     under_local: str) -> PurePath:
    """Revoice's folder in a user's data: ``%LOCALAPPDATA%\\Revoice`` on Windows, ``~/Library/Application
    Support/Revoice`` on macOS, on Linux ``$<xdg_variable>/revoice``, else ``~/.local/<under_local>/revoice``."""
    if target is TargetOS.WINDOWS:
        return _windows_folder(env, "LOCALAPPDATA", fallback="%LOCALAPPDATA%") / "Revoice"
    home = _posix_home(env, default_home)
    if target is TargetOS.MACOS:
        return home / "Library" / "Application Support" / "Revoice"
    xdg_home = env.get(xdg_variable)
    return (PurePosixPath(xdg_home) if xdg_home else home / ".local" / under_local) / "revoice"


def default_prefix(target: TargetOS, *, env: Mapping[str, str], default_home: str) -> PurePath:
    """Revoice's own folder when ``--prefix`` is not given.

    Linux: ``$XDG_DATA_HOME/revoice``, else ``~/.local/share/revoice``; macOS:
    ``~/Library/Application Support/Revoice``; Windows: ``%LOCALAPPDATA%\\Revoice``.
    """
    return _per_user_folder(target, env=env, default_home=default_home, xdg_variable="XDG_DATA_HOME",
                            under_local="share")


def state_folder(target: TargetOS, *, env: Mapping[str, str], default_home: str) -> PurePath:
    """The service state folder of docs/service-api.md (``REVOICE_STATE_DIR`` overrides).

    Linux: ``$XDG_STATE_HOME/revoice``, else ``~/.local/state/revoice``; macOS:
    ``~/Library/Application Support/Revoice``; Windows: ``%LOCALAPPDATA%\\Revoice``.
    """
    flavour: type[PurePath] = PureWindowsPath if target is TargetOS.WINDOWS else PurePosixPath
    override = env.get("REVOICE_STATE_DIR")
    if override:
        return flavour(override)
    return _per_user_folder(target, env=env, default_home=default_home, xdg_variable="XDG_STATE_HOME",
                            under_local="state")


def resolve_scripts_folder(target: TargetOS, *, system: bool, env: Mapping[str, str],
                           default_home: str) -> PurePath:
    """Resolve's documented Scripts folder plus ``Utility``, per user or for all users (``system``).

    Per user: macOS ``~/Library/Application Support/Blackmagic Design/DaVinci Resolve/Fusion/Scripts``,
    Windows ``%APPDATA%\\Blackmagic Design\\DaVinci Resolve\\Support\\Fusion\\Scripts``, Linux
    ``~/.local/share/DaVinciResolve/Fusion/Scripts``. All users: macOS ``/Library/...`` (same tail),
    Windows ``%PROGRAMDATA%\\Blackmagic Design\\DaVinci Resolve\\Fusion\\Scripts``, Linux
    ``/opt/resolve/Fusion/Scripts``.
    """
    if target is TargetOS.WINDOWS:
        if system:
            scripts = (_windows_folder(env, "PROGRAMDATA", "ProgramData", fallback="%PROGRAMDATA%")
                       / "Blackmagic Design" / "DaVinci Resolve" / "Fusion" / "Scripts")
        else:
            scripts = (_windows_folder(env, "APPDATA", fallback="%APPDATA%")
                       / "Blackmagic Design" / "DaVinci Resolve" / "Support" / "Fusion" / "Scripts")
        return scripts / RESOLVE_MENU_FOLDER
    if target is TargetOS.MACOS:
        root = PurePosixPath("/") if system else _posix_home(env, default_home)
        return root / MACOS_RESOLVE_SCRIPTS / RESOLVE_MENU_FOLDER
    if system:
        return PurePosixPath(LINUX_SYSTEM_RESOLVE_SCRIPTS) / RESOLVE_MENU_FOLDER
    return _posix_home(env, default_home) / LINUX_USER_RESOLVE_SCRIPTS / RESOLVE_MENU_FOLDER


def upia_path(target: TargetOS, *, env: Mapping[str, str]) -> PurePath | None:
    """Where Adobe's UnifiedPluginInstallerAgent lives when Creative Cloud is installed (None on Linux)."""
    if target is TargetOS.MACOS:
        return PurePosixPath(MACOS_UPIA)
    if target is TargetOS.WINDOWS:
        common = _windows_folder(env, "CommonProgramW6432", "CommonProgramFiles",
                                 fallback=r"C:\Program Files\Common Files")
        return common / WINDOWS_UPIA_IN_COMMON_FILES
    return None


def login_entry_path(target: TargetOS, *, env: Mapping[str, str], default_home: str) -> PurePath:
    """The per-user file that starts the service at login, in each OS's documented place.

    Linux: ``$XDG_CONFIG_HOME/autostart/revoice-serve.desktop`` (XDG Autostart; ``~/.config`` when
    ``XDG_CONFIG_HOME`` is unset or not absolute); macOS: ``~/Library/LaunchAgents/org.revoice.serve.plist``;
    Windows: ``%APPDATA%\\Microsoft\\Windows\\Start Menu\\Programs\\Startup\\Revoice service.cmd``.
    """
    if target is TargetOS.WINDOWS:
        return (_windows_folder(env, "APPDATA", fallback="%APPDATA%") / WINDOWS_STARTUP_IN_APPDATA
                / WINDOWS_STARTUP_SCRIPT)
    home = _posix_home(env, default_home)
    if target is TargetOS.MACOS:
        return home / "Library" / "LaunchAgents" / f"{LAUNCH_AGENT_LABEL}.plist"
    config_home = env.get("XDG_CONFIG_HOME", "")
    config = PurePosixPath(config_home) if config_home.startswith("/") else home / ".config"
    return config / "autostart" / LINUX_AUTOSTART_ENTRY


def install_layout(target: TargetOS, *, env: Mapping[str, str], default_home: str, prefix: str | None = None,
                   system: bool = False) -> InstallLayout:
    """Every path of an install for ``target``.

    ``env`` is the environment (``os.environ``); ``default_home`` the home folder used when
    ``HOME`` is unset; ``prefix`` is ``--prefix`` (already absolute when given); ``system``
    puts the Resolve script in the all-users Scripts folder.
    """
    flavour: type[PurePath] = PureWindowsPath if target is TargetOS.WINDOWS else PurePosixPath
    root = flavour(prefix) if prefix else default_prefix(target, env=env, default_home=default_home)
    venv = root / "venv"
    if target is TargetOS.WINDOWS:
        venv_python, revoice = venv / "Scripts" / "python.exe", venv / "Scripts" / "revoice.exe"
    else:
        venv_python, revoice = venv / "bin" / "python", venv / "bin" / "revoice"
    state = state_folder(target, env=env, default_home=default_home)
    return InstallLayout(
        target=target, prefix=root, venv=venv, venv_python=venv_python, revoice_executable=revoice,
        manifest=root / "install-manifest.json",
        resolve_scripts=resolve_scripts_folder(target, system=system, env=env, default_home=default_home),
        premiere_folder=root / "premiere", state_folder=state, command_file=state / "command.json",
        upia=upia_path(target, env=env),
        login_entry=login_entry_path(target, env=env, default_home=default_home),
    )
