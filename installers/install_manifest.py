"""The install manifest: every file and folder the installer placed, and ``uninstall``, which removes exactly those.

The manifest is JSON in the install prefix (``install-manifest.json``). Files that were already
at a target path (a user's own ``Revoice.py``, an older ``command.json``) are moved aside to
``<name>.before-revoice`` and put back on uninstall. Folders are listed only when the installer
created them, and are removed only when empty, so a user's other Resolve scripts stay. Before
anything is removed, the login entry is unloaded (macOS: ``launchctl bootout``) and a running
service started from the install's environment is stopped.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from install_service import run_unload_command, stop_running_service

MANIFEST_VERSION = 1
BACKUP_SUFFIX = ".before-revoice"

Log = Callable[[str], None]


@dataclass(frozen=True, kw_only=True)
class PluginAgentRecord:
    """A plugin installed through Adobe's UPIA: uninstall asks the same agent to remove it."""

    agent: str
    """The UnifiedPluginInstallerAgent executable."""
    plugin_name: str
    """The UXP plugin's ``name`` (its manifest.json): what Adobe documents for ``--remove``."""
    plugin_id: str
    """The plugin's ``id``, tried when removing by name fails (older agents take the id)."""
    option_prefix: str
    """``--`` on macOS (``--install``, ``--remove``), ``/`` on Windows (``/install``, ``/remove``)."""


@dataclass(kw_only=True)
class InstallManifest:
    """What one install placed, in the order it placed it (absolute paths as strings)."""

    platform: str
    prefix: str
    source: str
    venv: str | None = None
    """Revoice's Python environment, removed as a whole."""
    files: list[str] = field(default_factory=list)
    folders: list[str] = field(default_factory=list)
    """Folders the install created (outermost first); removed when empty."""
    backups: dict[str, str] = field(default_factory=dict)
    """Placed file -> where the file that was there before was moved."""
    plugin_agent: PluginAgentRecord | None = None
    login_entry_unload: list[str] = field(default_factory=list)
    """Run first on uninstall: ``launchctl bootout gui/<uid>/org.revoice.serve`` on macOS; empty elsewhere
    (the login entry itself is in :attr:`files`)."""
    service_state_folder: str | None = None
    """The service state folder: uninstall stops a service running there from :attr:`venv` first."""
    complete: bool = False
    """False when the install stopped half-way (uninstall still removes what it placed)."""
    version: int = MANIFEST_VERSION

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> InstallManifest:
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("version") != MANIFEST_VERSION:
            raise ValueError(f"not a Revoice install manifest (version {MANIFEST_VERSION})")
        agent = data.get("plugin_agent")
        return cls(
            platform=str(data["platform"]), prefix=str(data["prefix"]), source=str(data["source"]),
            venv=None if data.get("venv") is None else str(data["venv"]),
            files=[str(item) for item in data.get("files", [])],
            folders=[str(item) for item in data.get("folders", [])],
            backups={str(key): str(value) for key, value in data.get("backups", {}).items()},
            plugin_agent=None if agent is None else PluginAgentRecord(
                agent=str(agent["agent"]), plugin_name=str(agent["plugin_name"]), plugin_id=str(agent["plugin_id"]),
                option_prefix=str(agent["option_prefix"])),
            login_entry_unload=[str(word) for word in data.get("login_entry_unload", [])],
            service_state_folder=(None if data.get("service_state_folder") is None
                                  else str(data["service_state_folder"])),
            complete=bool(data.get("complete", False)),
        )

    def save(self, path: Path) -> None:
        """Write atomically (a temporary file in the same folder, then a rename)."""
        write_text_atomically(path, self.to_json())


def write_text_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary sibling and a rename (never half a file)."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


class Placer:
    """Places files on this machine and notes each file and created folder in an :class:`InstallManifest`."""

    def __init__(self, manifest: InstallManifest) -> None:
        self.manifest = manifest

    def make_folders(self, folder: Path, *, mode: int = 0o777) -> None:
        """Create ``folder`` and any missing parents, noting each one created (``mode`` for created ones)."""
        missing: list[Path] = []
        probe = folder
        while not probe.exists():
            missing.append(probe)
            probe = probe.parent
        for created in reversed(missing):
            created.mkdir(mode=mode)
            self.manifest.folders.append(str(created))

    def _make_room(self, target: Path) -> None:
        """Move a file that is already at ``target`` (and not ours) aside, noting where."""
        if not (target.exists() or target.is_symlink()):
            return
        if target.is_dir() and not target.is_symlink():
            raise IsADirectoryError(f"{target} is a folder; move it away and run the installer again")
        backup = target.with_name(target.name + BACKUP_SUFFIX)
        number = 1
        while backup.exists():
            number += 1
            backup = target.with_name(f"{target.name}{BACKUP_SUFFIX}{number}")
        os.replace(target, backup)
        self.manifest.backups[str(target)] = str(backup)

    def copy_file(self, source: Path, target: Path) -> None:
        """Copy ``source`` to ``target`` (contents and permission bits)."""
        self.make_folders(target.parent)
        self._make_room(target)
        self.manifest.files.append(str(target))
        shutil.copy2(source, target)

    def write_text(self, target: Path, text: str, *, folder_mode: int = 0o777) -> None:
        """Write ``text`` to ``target`` atomically, creating its folder with ``folder_mode`` when missing."""
        self.make_folders(target.parent, mode=folder_mode)
        self._make_room(target)
        self.manifest.files.append(str(target))
        write_text_atomically(target, text)


def _remove_bytecode(placed: Path, log: Log, *, dry_run: bool) -> None:
    """Remove the ``__pycache__/<stem>.*.pyc`` Python wrote for a placed ``.py``, and the cache folder if emptied."""
    cache = placed.parent / "__pycache__"
    if placed.suffix != ".py" or not cache.is_dir():
        return
    for compiled in sorted(cache.glob(f"{placed.stem}.*.pyc")):
        log(f"{'would remove' if dry_run else 'remove'} {compiled}")
        if not dry_run:
            compiled.unlink()
    if not dry_run and not any(cache.iterdir()):
        cache.rmdir()


def _remove_through_agent(record: PluginAgentRecord, log: Log, *, dry_run: bool) -> None:
    """Ask Adobe's UPIA to remove the plugin it installed: by name, then by id."""
    remove = f"{record.option_prefix}remove"
    log(f"{'would run' if dry_run else 'run'} {record.agent} {remove} {record.plugin_name}")
    if dry_run or not Path(record.agent).exists():
        return
    for key in dict.fromkeys((record.plugin_name, record.plugin_id)):
        done = subprocess.run([record.agent, remove, key], capture_output=True, text=True)
        if done.returncode == 0:
            return
    log(f"warning: Adobe's plugin installer could not remove {record.plugin_name} (exit {done.returncode}); "
        "remove it in the Creative Cloud app (Plugins > Manage plugins)")


def _remove_tree(folder: Path, log: Log) -> None:
    """Remove ``folder``; retried once after a second (a service just stopped on Windows may still hold a file)."""
    try:
        shutil.rmtree(folder)
    except OSError:
        time.sleep(1.0)
        try:
            shutil.rmtree(folder)
        except OSError as error:
            log(f"warning: could not remove all of {folder} ({error}); a program still uses it: "
                "quit it and delete the folder by hand")


def uninstall(manifest: InstallManifest, *, manifest_path: Path, log: Log, dry_run: bool) -> list[Path]:
    """Remove what ``manifest`` lists, and nothing else; return the created folders kept (not empty).

    Order: the login entry unloaded (macOS), the running service stopped, the UXP plugin through the
    agent that installed it, the environment, the placed files (with their bytecode; the login entry
    among them), the files moved aside go back, the manifest, then the created folders that are now
    empty, deepest first.
    """
    verb = "would remove" if dry_run else "remove"
    if manifest.login_entry_unload:
        run_unload_command(manifest.login_entry_unload, log, dry_run=dry_run)
    if manifest.service_state_folder:
        stop_running_service(Path(manifest.service_state_folder), venv=Path(manifest.venv) if manifest.venv else None,
                             log=log, dry_run=dry_run)
    record = manifest.plugin_agent
    if record is not None:
        _remove_through_agent(record, log, dry_run=dry_run)
    if manifest.venv:
        venv = Path(manifest.venv)
        log(f"{verb} {venv} (Revoice's Python environment)")
        if not dry_run and venv.exists():
            _remove_tree(venv, log)
    for name in reversed(manifest.files):
        placed = Path(name)
        log(f"{verb} {placed}")
        if not dry_run and (placed.is_file() or placed.is_symlink()):
            placed.unlink()
        _remove_bytecode(placed, log, dry_run=dry_run)
        backup = manifest.backups.get(name)
        if backup is not None:
            log(f"{'would put back' if dry_run else 'put back'} {backup} -> {placed}")
            if not dry_run and Path(backup).exists() and not placed.exists():
                os.replace(backup, placed)
    log(f"{verb} {manifest_path}")
    if not dry_run:
        manifest_path.unlink(missing_ok=True)
    kept: list[Path] = []
    for name in sorted(manifest.folders, key=lambda folder: len(Path(folder).parts), reverse=True):
        folder = Path(name)
        if not folder.is_dir():
            continue
        if dry_run:
            log(f"would remove {folder} if empty")
        elif any(folder.iterdir()):
            kept.append(folder)
            log(f"keep {folder} (holds files Revoice did not place)")
        else:
            log(f"remove {folder}")
            folder.rmdir()
    return kept
