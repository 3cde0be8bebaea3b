"""Files that other processes may read or share: atomic writes and a cross-process lock file.

* :func:`atomic_path` (and :func:`write_text_atomic`, :func:`write_bytes_atomic`
  over it): a file appears complete or not at all. It is written under a
  temporary name in the destination folder, fsynced and renamed over the
  target (``os.replace``); on any error the temporary file is removed and an
  existing target is left as it was. Every writer of renders, sidecars,
  profiles, timelines and reports goes through it. New files get the
  permissions the umask gives (0644 with umask 022, 0640 with 027, 0664 with
  002 for shards run by several users of one group), lock files too.
* :func:`remove_stale_temporaries`: what a killed writer left (its hidden
  ``.NAME.revoice-HOST-PID-XXXX.tmp`` staging folder) is removed on a later
  run, once its writer is gone; a live writer's, on any machine, is kept.
* :class:`FileLock`: an exclusive claim on a resource in a folder that several
  processes or machines share (``revoice run --shard K/N`` on one voices
  folder). Taken by creating the lock file with ``O_CREAT | O_EXCL``, which
  also holds on NFS; a holder that died (its file untouched for
  :attr:`LockPolicy.stale_seconds`, or its process gone on this machine) is
  taken over with a warning.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shutil
import socket
import stat
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType
from typing import Any

# -- atomic writes ---------------------------------------------------------------------------


@contextmanager
def atomic_path(target: str | os.PathLike[str], *, keep_unchanged: bool = False) -> Iterator[Path]:
    """A path to write ``target``'s new content to; on leaving the block it replaces ``target`` atomically.

    With ``keep_unchanged`` a new content byte-identical to ``target``'s is not renamed over it
    (the file, its time stamp included, stays as it was: a rerun that changed nothing rewrites nothing).

    The path (``target``'s name in a new hidden folder beside it, so writers
    that pick a format by suffix still see it) does not exist yet. When the
    block ends normally the file is fsynced, renamed over ``target`` and the
    rename fsynced (FileNotFoundError if the block wrote nothing); when it
    raises, ``target`` is left as it was. The temporary folder is always removed. The new file
    keeps the permissions of the file it replaces; a new one gets ``0666 & ~umask``, as with a
    plain write (0664 with umask 002: another user of the group sharing the folder can read
    and replace it), whatever the writer inside the block created. The target's folder must exist.
    """
    final = Path(target)
    umask = current_umask()
    staging = Path(tempfile.mkdtemp(prefix=_staging_prefix(final.name), suffix=".tmp", dir=final.parent))
    try:
        # not mkdtemp's 0700: another user's run may clean up after a crash; a shared folder's setgid stays
        os.chmod(staging, (0o777 & ~umask) | (staging.stat().st_mode & stat.S_ISGID))
        written = staging / final.name
        yield written
        if keep_unchanged and _same_bytes(written, final):
            return
        try:
            mode = final.stat().st_mode & 0o777
        except FileNotFoundError:
            mode = 0o666 & ~umask  # whatever mode the writer gave its file (some libraries make 0600)
        _fsync_file(written)
        os.chmod(written, mode)
        os.replace(written, final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    _fsync_directory(final.parent)


def _same_bytes(new: Path, old: Path) -> bool:
    """Whether the files ``new`` (must exist) and ``old`` (may not) hold the same bytes."""
    try:
        if new.stat().st_size != old.stat().st_size:
            return False
        with open(new, "rb") as a, open(old, "rb") as b:
            while True:
                block = a.read(1 << 20)
                if block != b.read(1 << 20):
                    return False
                if not block:
                    return True
    except OSError:
        return False


def current_umask() -> int:
    """This process's umask (e.g. ``0o022``), read without changing it where the system tells (Linux).

    Elsewhere it is set and restored (``os.umask``), which another thread creating a file at that
    very moment could see.
    """
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as status:
            for row in status:
                if row.startswith("Umask:"):
                    return int(row.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _staging_prefix(name: str) -> str:
    """``.NAME.revoice-HOST-PID-``: hidden, the target's name (cut to fit a file name), and who writes it."""
    return f".{name[:160]}.revoice-{_host_token()}-{os.getpid()}-"


_STAGING = re.compile(r"\..+\.revoice-(?P<host>[0-9a-f]{8})-(?P<pid>[0-9]{1,9})-[A-Za-z0-9_]+\.tmp")
"""An :func:`atomic_path` staging folder's name."""
_OLD_STAGING = re.compile(r"\.(?P<name>.+)\.[a-z0-9_]{8}\.tmp")
"""A staging folder of an older Revoice (``.NAME.XXXXXXXX.tmp``: no writer recorded, judged by age only)."""
TEMPORARY_STALE_SECONDS = 30 * 60.0
"""A staging folder untouched this long belongs to a writer that died (a writer touches it with every byte)."""


def remove_stale_temporaries(*folders: str | os.PathLike[str], stale_seconds: float = TEMPORARY_STALE_SECONDS,
                             clock: Callable[[], float] = time.time) -> list[Path]:
    """Remove the staging folders killed writers left in ``folders`` (not below them); the removed paths.

    Only Revoice's own staging folders (:func:`atomic_path`) are touched, and
    only when their writer is gone: a writer on this machine (same host and
    PID namespace, as the name records) when its process no longer runs; a
    writer on another machine sharing the folder (or an older Revoice, which
    recorded no writer) when nothing in the folder changed for
    ``stale_seconds``. A live writer's folder, this process's included, is
    kept, so a concurrent shard's write in flight is never removed. Missing or
    unreadable folders are skipped; nothing raises.
    """
    removed: list[Path] = []
    here = _host_token()
    for folder in dict.fromkeys(Path(f) for f in folders):
        try:
            entries = [entry for entry in os.scandir(folder)
                       if entry.name.endswith(".tmp") and entry.is_dir(follow_symlinks=False)]
        except OSError:
            continue
        for entry in entries:
            path = Path(entry.path)
            if _staging_is_stale(path, here=here, stale_seconds=stale_seconds, now=clock()):
                shutil.rmtree(path, ignore_errors=True)
                if not path.exists():
                    removed.append(path)
    return removed


def _staging_is_stale(path: Path, *, here: str, stale_seconds: float, now: float) -> bool:
    """Whether ``path`` is a staging folder whose writer is gone (False for anything else)."""
    ours = _STAGING.fullmatch(path.name)
    if ours is not None:
        pid = int(ours["pid"])
        if ours["host"] == here:  # a writer on this machine: gone when its process is
            return pid != os.getpid() and not _pid_alive(pid)
    else:
        old = _OLD_STAGING.fullmatch(path.name)
        try:  # it held the target's file only
            if old is None or any(name != old["name"] for name in os.listdir(path)):
                return False
        except OSError:
            return False
    return now - _last_touched(path) > stale_seconds


def _last_touched(folder: Path) -> float:
    """The latest modification time of ``folder`` and what it holds (epoch seconds; +inf when unreadable)."""
    try:
        times = [folder.stat().st_mtime]
        with os.scandir(folder) as entries:
            times += [entry.stat(follow_symlinks=False).st_mtime for entry in entries]
    except OSError:
        return math.inf
    return max(times)


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (:func:`atomic_path`); the folder must exist."""
    with atomic_path(path) as written:
        written.write_bytes(data)


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` as UTF-8 to ``path`` atomically (:func:`atomic_path`), creating missing folders."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(path, text.encode("utf-8"))


def _fsync_file(path: Path) -> None:
    """Flush ``path``'s content to the disk."""
    fd = os.open(path, os.O_RDWR | getattr(os, "O_BINARY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_directory(folder: Path) -> None:
    """Persist a rename (POSIX); a no-op where directories cannot be opened (Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# -- the lock file -----------------------------------------------------------------------------


class LockCancelled(RuntimeError):
    """A :class:`FileLock` stopped waiting because its ``should_cancel`` returned True."""


@dataclass(frozen=True)
class LockPolicy:
    """How a :class:`FileLock` waits: poll interval, when a holder counts as gone, and the clock.

    A holder touches its lock file every ``heartbeat_seconds`` (a quarter of
    ``stale_seconds``, at most a minute), so a lock untouched for
    ``stale_seconds`` belongs to a process that died (or a machine that
    stopped) and is taken over with a warning; so is a lock whose process,
    on this machine, is no longer running.
    """

    poll_seconds: float = 2.0
    stale_seconds: float = 30 * 60.0
    clock: Callable[[], float] = time.time
    """Wall-clock seconds (compared with the lock files' times, which other machines write)."""
    sleep: Callable[[float], None] = time.sleep

    @property
    def heartbeat_seconds(self) -> float:
        return max(0.05, min(60.0, self.stale_seconds / 4))


@dataclass(frozen=True)
class LockWording:
    """How a :class:`FileLock`'s messages name what it guards and who else may hold it."""

    thing: str = "file"
    """What is locked, before its name: ``"voice profile"`` gives "voice profile NELL", "the voice profile lock"."""
    peer: str = "process"
    """Who else takes the lock: ``"shard"`` gives "waiting for another shard to finish ...", "no shard lock"."""
    clash: str = "work on it at the same time"
    """What the peers may do when no lock can be made: ``"tune the same character"``."""


@dataclass(frozen=True)
class LockHolder:
    """Who holds a lock file, as it says (empty fields: not readable yet) and when it was last touched."""

    host: str = ""
    pid: int = 0
    pid_namespace: str = ""
    started: float = 0.0
    """Epoch seconds the holder took the lock."""
    token: str = ""
    touched: float = 0.0
    """The lock file's modification time (the holder's heartbeat), epoch seconds."""

    def describe(self) -> str:
        if not self.host:
            return "holder unknown"
        since = datetime.fromtimestamp(self.started).isoformat(timespec="seconds") if self.started else "?"
        return f"host {self.host}, pid {self.pid}, since {since}"


class FileLock:
    """An exclusive claim on ``name`` through the lock file ``path``, across processes and machines.

    Taken by creating ``path`` with ``O_CREAT | O_EXCL`` (JSON: name, host,
    pid, start time, a token); deleted on release, also when the body raises
    or is cancelled. A context manager: ``__enter__`` waits (:meth:`acquire`).
    Where no lock file can be created (a read-only folder), it goes on
    unlocked (``unlocked`` says why, ``warnings`` warns). ``should_cancel`` is
    polled while waiting; when it returns True, ``cancel_error`` (called with a
    message) is raised. ``on_wait`` is told once when this lock starts waiting.
    """

    def __init__(self, path: Path, name: str, *, policy: LockPolicy | None = None,
                 wording: LockWording | None = None,
                 should_cancel: Callable[[], bool] | None = None,
                 cancel_error: Callable[[str], BaseException] = LockCancelled,
                 on_wait: Callable[[FileLock], None] | None = None) -> None:
        self.path = Path(path)
        self.name = name
        self.policy = policy or LockPolicy()
        self.wording = wording or LockWording()
        self.should_cancel = should_cancel
        self.cancel_error = cancel_error
        self.on_wait = on_wait
        self.held = False
        self.unlocked: str | None = None
        self.holder: LockHolder | None = None
        """The other process holding it, as last seen (None: not seen)."""
        self.warnings: list[str] = []
        """One per stale lock taken over, naming the lock file."""
        self._token = uuid.uuid4().hex
        self._announced = False
        self._stop = threading.Event()
        self._heartbeat: threading.Thread | None = None

    @property
    def waiting_for(self) -> str:
        """What a waiter waits for: ``"another shard to finish voice profile NELL"``."""
        return f"another {self.wording.peer} to finish {self.wording.thing} {self.name}"

    @property
    def waiting_message(self) -> str:
        holder = self.holder.describe() if self.holder is not None else "holder unknown"
        return f"waiting for {self.waiting_for} ({holder}; lock {self.path}, delete it if that process is gone)"

    def try_acquire(self) -> bool:
        """Take the lock if it is free or stale (True), else note its ``holder`` (False); never waits."""
        if self.held:
            return True
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            return self._go_unlocked(exc)
        for _ in range(5):  # create, or take a stale lock over and create again
            try:
                handle = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # & ~umask
            except FileExistsError:
                holder = read_lock(self.path)
                if holder is None:
                    continue  # released meanwhile
                reason = self._stale(holder)
                if reason is None:
                    self.holder = holder
                    return False
                if _remove_lock(self.path, holder):
                    self.warnings.append(f"took over the {self.wording.thing} lock {self.path} "
                                         f"({holder.describe()}): {reason}")
                continue
            except OSError as exc:
                return self._go_unlocked(exc)
            try:
                try:
                    os.write(handle, json.dumps(self._content()).encode())
                finally:
                    os.close(handle)
            except BaseException:  # e.g. a full disk: leave no lock nobody holds
                self.path.unlink(missing_ok=True)
                raise
            self.held = True
            self._start_heartbeat()
            return True
        return False

    def acquire(self) -> None:
        """Take the lock, polling while another live process holds it; ``cancel_error`` when cancelled meanwhile."""
        while not self.try_acquire():
            self.announce()
            self.check_cancel()
            self.policy.sleep(self.policy.poll_seconds)

    def release(self) -> None:
        """Delete the lock file if it is still this one's (a process that took it over keeps its own)."""
        if not self.held:
            return
        self.held = False
        self._stop.set()
        if self._heartbeat is not None:
            self._heartbeat.join()
            self._heartbeat = None
        if self.unlocked is not None:
            return
        holder = read_lock(self.path)
        if holder is not None and holder.token == self._token:
            try:
                self.path.unlink()
            except FileNotFoundError:
                pass

    def announce(self) -> None:
        """Tell ``on_wait`` (once) that this process is waiting for the holder."""
        if not self._announced and self.on_wait is not None:
            self._announced = True
            self.on_wait(self)

    def check_cancel(self) -> None:
        """Raise ``cancel_error`` when ``should_cancel`` says so."""
        if self.should_cancel is not None and self.should_cancel():
            raise self.cancel_error(f"cancelled while waiting for {self.waiting_for}")

    def __enter__(self) -> FileLock:
        self.acquire()
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.release()

    def _go_unlocked(self, exc: OSError) -> bool:
        words = self.wording
        self.unlocked = f"cannot create {self.path} ({exc.strerror or exc})"
        self.warnings.append(f"{words.thing} {self.name}: no {words.peer} lock ({self.unlocked}); other "
                             f"{words.peer}s sharing this folder may {words.clash}")
        self.held = True
        return True

    def _content(self) -> dict[str, Any]:
        now = self.policy.clock()
        return {"name": self.name, "host": socket.gethostname(), "pid": os.getpid(),
                "pid_namespace": _pid_namespace(), "started": now,
                "started_iso": datetime.fromtimestamp(now, timezone.utc).isoformat(timespec="seconds"),
                "token": self._token}

    def _stale(self, holder: LockHolder) -> str | None:
        """Why ``holder`` is gone (its lock can be taken over), or None while it may be working."""
        age = self.policy.clock() - max(holder.started, holder.touched)
        if age > self.policy.stale_seconds:
            return (f"untouched for {age / 60:.1f} min (a holder touches it every "
                    f"{self.policy.heartbeat_seconds:g} s; stale after {self.policy.stale_seconds / 60:g} min)")
        here = holder.host == socket.gethostname() and holder.pid_namespace == _pid_namespace()
        if here and holder.pid > 0 and holder.pid != os.getpid() and not _pid_alive(holder.pid):
            return f"process {holder.pid} on {holder.host} is not running"
        return None

    def _start_heartbeat(self) -> None:
        self._stop.clear()

        def beat() -> None:
            while not self._stop.wait(self.policy.heartbeat_seconds):
                try:
                    os.utime(self.path)
                except OSError:
                    return

        self._heartbeat = threading.Thread(target=beat, name=f"lock {self.path.name}", daemon=True)
        self._heartbeat.start()


def read_lock(path: Path) -> LockHolder | None:
    """The holder written in lock file ``path`` (fields empty while unreadable), or None when there is none."""
    try:
        touched = path.stat().st_mtime
    except FileNotFoundError:
        return None
    except OSError:
        return LockHolder(touched=math.inf)  # cannot even be looked at: never taken over (its message names it)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError:  # another user's lock this one may not read: its holder's heartbeat (mtime) still tells
        return LockHolder(touched=touched)
    try:
        data = json.loads(text)
    except ValueError:
        data = None  # being written, or garbage: only its age counts
    if not isinstance(data, dict):
        return LockHolder(touched=touched)
    pid, started = data.get("pid"), data.get("started")
    return LockHolder(host=str(data.get("host", "")), pid=pid if isinstance(pid, int) else 0,
                      pid_namespace=str(data.get("pid_namespace", "")),
                      started=float(started) if isinstance(started, (int, float)) and math.isfinite(started) else 0.0,
                      token=str(data.get("token", "")), touched=touched)


def _remove_lock(path: Path, holder: LockHolder) -> bool:
    """Delete the stale lock of ``holder`` unless another process replaced it meanwhile; True when gone.

    Two processes taking over the same stale lock at the same instant may both
    get it; that repeats work, not damage (what they write is written atomically).
    """
    current = read_lock(path)
    if current is None:
        return True
    if (current.token, current.pid, current.started) != (holder.token, holder.pid, holder.started):
        return False
    try:
        path.unlink()
    except FileNotFoundError:
        pass
    return True


def _host_token() -> str:
    """8 hex digits naming this machine and PID namespace (where this process's PIDs mean something)."""
    return hashlib.sha256(f"{socket.gethostname()}\0{_pid_namespace()}".encode()).hexdigest()[:8]


def _pid_namespace() -> str:
    """This process's PID namespace (containers on one host share its name but not its PIDs); "" if unknown."""
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return ""


def _pid_alive(pid: int) -> bool:
    """Whether process ``pid`` runs on this machine (True when it cannot be told)."""
    if os.name == "nt":  # os.kill would end the process there
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. another user's process
        return True
    return True


__all__ = [
    "TEMPORARY_STALE_SECONDS", "FileLock", "LockCancelled", "LockHolder", "LockPolicy", "LockWording", "atomic_path",
    "current_umask", "read_lock", "remove_stale_temporaries", "write_bytes_atomic", "write_text_atomic",
]
