"""Shards run by different users of one group, sharing an output folder (revoice.engine.files).

With umask 002 every file Revoice writes (WAV, sidecar, timeline, voice profile), its
temporary staging folder and the voice-profile lock are group-readable and -writable, so
the other user's shard reads the finished lines, replaces files, waits for a live lock
and takes over a dead one. Where the tests run as root, a second and third uid
really do it (``subprocess`` with ``user=``/``group=``); elsewhere the same is checked
as far as one user can.
"""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from revoice.engine.files import (
    FileLock,
    LockPolicy,
    atomic_path,
    current_umask,
    read_lock,
    write_text_atomic,
)

GROUP = 3000
ALICE, BOB = 2001, 2002
"""Two made-up users of one made-up group (used only where the tests run as root)."""


@pytest.fixture
def umask_002() -> Iterator[None]:
    old = os.umask(0o002)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_current_umask_reads_it_without_changing_it(umask_002: None) -> None:
    assert current_umask() == 0o002
    assert current_umask() == 0o002


def test_with_umask_002_a_wav_sidecar_and_lock_are_group_writable(tmp_path: Path, umask_002: None) -> None:
    from revoice.engine.dsp.bwf import write_bwf
    from revoice.engine.model import RenderedLine
    from revoice.engine.render import sidecar_path, write_sidecar

    wav = tmp_path / "media" / "MARA_L0001_t1.wav"
    wav.parent.mkdir()
    write_bwf(wav, np.zeros(4800, dtype=np.float32), 48000, time_reference_samples=0)
    write_sidecar(RenderedLine("L0001", wav, 48000, 4800, 0, 4800, "hum", "amy"), "key")
    write_text_atomic(tmp_path / "voices" / "MARA.voice.json", "{}")
    with FileLock(tmp_path / "voices" / "MARA.lock", "MARA") as lock:
        assert lock.unlocked is None
        assert mode(tmp_path / "voices" / "MARA.lock") == 0o664
    for path in (wav, sidecar_path(wav), tmp_path / "voices" / "MARA.voice.json"):
        assert mode(path) == 0o664, path
    assert mode(tmp_path / "voices") == 0o775


def test_the_staging_folder_and_a_writers_own_0600_file_follow_the_umask(tmp_path: Path, umask_002: None) -> None:
    """A library that creates its file 0600 (as mkstemp does) still leaves a 0664 file; the staging folder
    of a writer that dies mid-write can be removed by the group."""
    target = tmp_path / "cut.otio"
    with atomic_path(target) as written:
        assert mode(written.parent) == 0o775
        descriptor = os.open(written, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(descriptor, b"{}")
        os.close(descriptor)
    assert mode(target) == 0o664 and target.read_bytes() == b"{}"


def test_a_lock_this_user_cannot_read_is_judged_by_its_heartbeat(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Another user's lock file that this one may not read (umask 077 over there) is not waited on forever:
    while its holder touches it, it is held; once untouched for stale_seconds, it is taken over."""
    path = tmp_path / "NELL.lock"
    path.write_text('{"host": "elsewhere", "pid": 1, "token": "theirs"}')
    original = Path.read_text

    def refuse(self: Path, *args: object, **kwargs: object) -> str:
        if self == path:
            raise PermissionError(13, "Permission denied", str(self))
        return original(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "read_text", refuse)
    holder = read_lock(path)
    assert holder is not None and holder.touched == path.stat().st_mtime
    now = path.stat().st_mtime
    fresh = FileLock(path, "NELL", policy=LockPolicy(stale_seconds=60, clock=lambda: now + 10))
    assert not fresh.try_acquire()
    later = FileLock(path, "NELL", policy=LockPolicy(stale_seconds=60, clock=lambda: now + 3600))
    assert later.try_acquire() and "took over" in later.warnings[0]
    later.release()


# -- really two users (root only) ---------------------------------------------------------------------


ALICE_WRITES = """
import os, sys, time
import numpy as np
from pathlib import Path
from revoice.engine.dsp.bwf import write_bwf
from revoice.engine.files import FileLock, atomic_path, write_text_atomic
shared = Path(sys.argv[1])
(shared / "media").mkdir()  # as a shard makes its media folder
write_bwf(shared / "media" / "MARA_L0001_t1.wav", np.full(4800, 0.1, dtype=np.float32), 48000,
          time_reference_samples=0)
write_text_atomic(shared / "media" / "MARA_L0001_t1.json", '{"by": "alice"}')
lock = FileLock(shared / "voices" / "MARA.lock", "MARA")
lock.acquire()
print("held", flush=True)
if sys.argv[2] == "release":
    sys.stdin.readline()
    lock.release()
    print("released", flush=True)
else:  # die holding the lock and with a write in flight
    with atomic_path(shared / "media" / "MARA_L0002_t1.wav") as written:
        written.write_bytes(b"half")
        print("writing", flush=True)
        time.sleep(600)
"""

BOB_JOINS = """
import json, sys
from pathlib import Path
from revoice.engine.files import FileLock, LockPolicy, remove_stale_temporaries, write_text_atomic
shared = Path(sys.argv[1])
report = {"sidecar": json.loads((shared / "media" / "MARA_L0001_t1.json").read_text()),
          "wav_bytes": len((shared / "media" / "MARA_L0001_t1.wav").read_bytes())}
write_text_atomic(shared / "media" / "MARA_L0001_t1.json", '{"by": "bob"}')
report["removed"] = [p.name for p in remove_stale_temporaries(shared / "media")]
lock = FileLock(shared / "voices" / "MARA.lock", "MARA", policy=LockPolicy(poll_seconds=0.1))
report["got_lock"] = lock.try_acquire()
report["holder_pid"] = lock.holder.pid if lock.holder else None
if sys.argv[2] == "wait":
    lock.acquire()
    report["got_lock"] = True
report["warnings"] = lock.warnings
lock.release()
print(json.dumps(report))
"""


def _as(uid: int, script: str, *args: str, **popen: object) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(script), *args], user=uid, group=GROUP,
                            extra_groups=[GROUP], umask=0o002, text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, **popen)  # type: ignore[call-overload]


@pytest.fixture
def shared_folder() -> Iterator[Path]:
    """A folder of the group (setgid, 2775) that both users can reach: not under pytest's 0700 tmp folder."""
    if os.name != "posix" or os.geteuid() != 0:
        pytest.skip("two real users need root here (subprocess user=/group=)")
    with tempfile.TemporaryDirectory(prefix="revoice-shared-", dir="/tmp") as name:
        folder = Path(name)
        os.chmod(folder, 0o755)
        shared = folder / "reel"
        shared.mkdir()
        os.chown(shared, 0, GROUP)
        os.chmod(shared, 0o2775)
        yield shared


def _line(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    if not line:
        process.wait(10)
        raise AssertionError(process.stderr.read() if process.stderr else "no output")
    return line


def test_a_second_users_shard_reads_replaces_and_waits_for_the_first_users_files(shared_folder: Path) -> None:
    import json

    alice = _as(ALICE, ALICE_WRITES, str(shared_folder), "release", stdin=subprocess.PIPE)
    try:
        assert _line(alice) == "held"
        media = shared_folder / "media"
        assert (media.stat().st_uid, media.stat().st_gid, mode(media)) == (ALICE, GROUP, 0o2775)
        lock = shared_folder / "voices" / "MARA.lock"
        assert (lock.stat().st_uid, mode(lock)) == (ALICE, 0o664)
        bob = _as(BOB, BOB_JOINS, str(shared_folder), "wait")
        time.sleep(1.0)
        assert bob.poll() is None, "bob must wait for alice's live lock"
        assert alice.stdin is not None
        alice.stdin.write("go\n")
        alice.stdin.flush()
        assert _line(alice) == "released"
        out, err = bob.communicate(timeout=60)
        assert bob.returncode == 0, err[-2000:]
        report = json.loads(out)
    finally:
        alice.kill()
        alice.wait(10)
    assert report["sidecar"] == {"by": "alice"} and report["wav_bytes"] > 4800 * 3
    assert report["got_lock"] is True and report["warnings"] == []
    sidecar = shared_folder / "media" / "MARA_L0001_t1.json"
    assert json.loads(sidecar.read_text()) == {"by": "bob"}
    assert (sidecar.stat().st_uid, mode(sidecar)) == (BOB, 0o664)


def test_a_second_user_takes_over_a_dead_users_lock_and_cleans_its_staging_folder(shared_folder: Path) -> None:
    import json

    alice = _as(ALICE, ALICE_WRITES, str(shared_folder), "die")
    try:
        assert _line(alice) == "held"
        assert _line(alice) == "writing"
        staging = [p for p in (shared_folder / "media").iterdir() if p.name.endswith(".tmp")]
        assert len(staging) == 1 and mode(staging[0]) == 0o2775
    finally:
        os.kill(alice.pid, signal.SIGKILL)
        alice.wait(10)
    bob = _as(BOB, BOB_JOINS, str(shared_folder), "try")
    out, err = bob.communicate(timeout=60)
    assert bob.returncode == 0, err[-2000:]
    report = json.loads(out)
    assert report["removed"] == [staging[0].name] and not staging[0].exists()
    assert report["got_lock"] is True
    assert "took over" in report["warnings"][0] and "is not running" in report["warnings"][0]
    assert not (shared_folder / "voices" / "MARA.lock").exists()
