"""The service's files in the per-user state folder: the token, ``service.json`` and ``command.json``.

The folder is made user-only (0700); the token and ``service.json`` are
user-only files (0600), written atomically (a temporary file in the same
folder, then a rename) so a plugin never reads half of one. Paths and the
reading side live in :mod:`revoice.service.client`, which plugins import.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from pathlib import Path
from typing import Any

from revoice.service.client import COMMAND_FILE, SERVICE_FILE, TOKEN_FILE, ServiceInfo, read_service_info

TOKEN_BYTES = 32
"""Random bytes in a token (written as hex: 64 characters)."""


def prepare_state_dir(folder: Path) -> Path:
    """Create ``folder`` (and its parents) and make it user-only; OSError when it cannot be."""
    folder.mkdir(parents=True, exist_ok=True)
    if os.name == "posix":
        os.chmod(folder, 0o700)
    return folder


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically as a user-only (0600) file."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def install_token(folder: Path) -> str:
    """The install's token from ``<folder>/token``, made once (32 random bytes as hex, mode 0600).

    Two services starting at once agree: the file is linked into place only
    when absent, so the second one reads the first one's token.
    """
    path = folder / TOKEN_FILE
    token = _read_token(path)
    if token is None:
        made = folder / f".{TOKEN_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
        write_private(made, secrets.token_hex(TOKEN_BYTES) + "\n")
        try:
            os.link(made, path)
        except FileExistsError:
            if _read_token(path) is None:  # an empty or cut token file: replace it
                os.replace(made, path)
        except OSError:  # a file system without hard links: last writer wins
            os.replace(made, path)
        made.unlink(missing_ok=True)
        token = _read_token(path)
        if token is None:
            raise OSError(f"{path}: cannot make the service token")
    if os.name == "posix" and path.stat().st_mode & 0o077:
        os.chmod(path, 0o600)
    return token


def _read_token(path: Path) -> str | None:
    try:
        token = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return token if len(token) >= 32 else None


def publish(folder: Path, info: ServiceInfo) -> Path:
    """Write ``<folder>/service.json`` (0600, atomically) for the plugins; its path."""
    path = folder / SERVICE_FILE
    write_private(path, json.dumps(info.to_json(), indent=1) + "\n")
    return path


def withdraw(folder: Path, pid: int) -> None:
    """Remove ``<folder>/service.json`` if it still describes the process ``pid`` (a newer one is left alone)."""
    current = read_service_info(folder)
    if current is not None and current.pid == pid:
        (folder / SERVICE_FILE).unlink(missing_ok=True)


def record_default_command(folder: Path) -> None:
    """Write ``<folder>/command.json`` (how plugins start the service) unless an installer already did."""
    path = folder / COMMAND_FILE
    if path.exists():
        return
    command: dict[str, Any] = {"argv": [sys.executable, "-m", "revoice.cli", "serve"]}
    write_private(path, json.dumps(command, indent=1) + "\n")
