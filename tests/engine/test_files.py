"""Atomic writes and the cross-process lock file (engine.files)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from revoice.engine import files
from revoice.engine.files import (
    FileLock,
    LockCancelled,
    LockPolicy,
    LockWording,
    atomic_path,
    read_lock,
    write_bytes_atomic,
    write_text_atomic,
)

# -- atomic writes ---------------------------------------------------------------------------


def test_text_is_written_whole_into_new_folders_and_replaces_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "notes.json"
    write_text_atomic(path, "first ✓\n")
    write_text_atomic(path, "second ✓\n")
    assert path.read_bytes() == "second ✓\n".encode()
    assert sorted(p.name for p in path.parent.iterdir()) == ["notes.json"]


def test_a_failing_writer_keeps_the_old_file_and_leaves_no_temp_file(tmp_path: Path) -> None:
    path = tmp_path / "take.wav"
    write_bytes_atomic(path, b"old")
    with pytest.raises(RuntimeError, match="encoder crashed"):
        with atomic_path(path) as written:
            written.write_bytes(b"half a fi")
            raise RuntimeError("encoder crashed")
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["take.wav"]


@pytest.mark.parametrize("broken", ["fsync", "replace"])
def test_a_failing_flush_or_rename_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      broken: str) -> None:
    path = tmp_path / "line.json"
    write_text_atomic(path, "old")

    def fail(*args: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(files.os, broken, fail)
    with pytest.raises(OSError, match="disk full"):
        write_text_atomic(path, "new")
    monkeypatch.undo()
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["line.json"]


def test_the_path_to_write_keeps_the_target_name_and_does_not_exist_yet(tmp_path: Path) -> None:
    target = tmp_path / "cut.otioz"
    with atomic_path(target) as written:
        assert written.name == "cut.otioz" and written.parent.parent == tmp_path and not written.exists()
        written.write_text("bundle")
    assert target.read_text() == "bundle"
    with pytest.raises(FileNotFoundError):  # a writer that wrote nothing changes nothing
        with atomic_path(target):
            pass
    assert target.read_text() == "bundle" and [p.name for p in tmp_path.iterdir()] == ["cut.otioz"]


def test_permissions_are_those_of_a_plain_write(tmp_path: Path) -> None:
    fresh = tmp_path / "fresh.txt"
    write_text_atomic(fresh, "x")
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o666 & ~umask
    private = tmp_path / "private.txt"
    private.write_text("x")
    private.chmod(0o600)
    write_text_atomic(private, "y")
    assert stat.S_IMODE(private.stat().st_mode) == 0o600


def test_bytes_need_an_existing_folder(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        write_bytes_atomic(tmp_path / "missing" / "x.bin", b"x")
    assert list(tmp_path.iterdir()) == []


# -- the lock file -----------------------------------------------------------------------------


def test_a_held_lock_is_refused_to_others_and_gone_after_release(tmp_path: Path) -> None:
    path = tmp_path / "locks" / "job.lock"
    with FileLock(path, "job", policy=LockPolicy(clock=lambda: 1_800_000_000.0)) as lock:
        data = json.loads(path.read_text(encoding="utf-8"))
        assert data["name"] == "job" and data["pid"] == os.getpid() and data["started"] == 1_800_000_000.0
        other = FileLock(path, "job")
        assert not other.try_acquire() and other.holder is not None and other.holder.pid == os.getpid()
        assert "waiting for another process to finish file job" in other.waiting_message
    assert not path.exists() and not lock.held
    assert other.try_acquire() and other.warnings == []
    other.release()


def test_cancelling_a_wait_raises_the_lock_s_cancel_error(tmp_path: Path) -> None:
    path = tmp_path / "x.lock"
    wording = LockWording(thing="render", peer="worker", clash="render it twice")
    with FileLock(path, "L0001"):
        waiter = FileLock(path, "L0001", policy=LockPolicy(sleep=lambda s: None), should_cancel=lambda: True)
        with pytest.raises(LockCancelled, match="cancelled while waiting for another process to finish file L0001"):
            waiter.acquire()

        class Stopped(Exception):
            pass

        worded = FileLock(path, "L0001", wording=wording, should_cancel=lambda: True, cancel_error=Stopped,
                          policy=LockPolicy(sleep=lambda s: None))
        with pytest.raises(Stopped, match="another worker to finish render L0001"):
            worded.acquire()
    assert not path.exists()


def test_a_stale_lock_of_another_machine_is_taken_over_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "x.lock"
    path.write_text(json.dumps({"host": "render-07", "pid": 4242, "started": 1000.0, "token": "t"}))
    os.utime(path, (1000.0, 1000.0))
    lock = FileLock(path, "x", policy=LockPolicy(stale_seconds=60.0, clock=lambda: 1100.0),
                    wording=LockWording(thing="cache"))
    assert lock.try_acquire()
    assert lock.warnings and lock.warnings[0].startswith(f"took over the cache lock {path} (host render-07, pid 4242")
    lock.release()
    assert not path.exists()


def test_read_lock_reports_what_the_file_says(tmp_path: Path) -> None:
    path = tmp_path / "x.lock"
    assert read_lock(path) is None
    path.write_text("{half")
    holder = read_lock(path)
    assert holder is not None and holder.host == "" and holder.touched == path.stat().st_mtime
    assert holder.describe() == "holder unknown"


# -- permissions follow the umask --------------------------------------------------------------


@pytest.fixture
def umask_027() -> Any:
    old = os.umask(0o027)
    try:
        yield
    finally:
        os.umask(old)


def test_sidecars_wavs_and_timelines_follow_the_umask(tmp_path: Path, umask_027: None) -> None:
    """With umask 027 every file Revoice writes is 0640 (no write for the group, nothing for others)."""
    import numpy as np
    import opentimelineio as otio
    from revoice.engine.dsp.bwf import write_bwf
    from revoice.engine.model import RenderedLine
    from revoice.engine.render import sidecar_path, write_sidecar
    from revoice.otio_bridge.write import write_timeline

    wav = tmp_path / "media" / "MARA_L0001_t1.wav"
    wav.parent.mkdir()
    write_bwf(wav, np.zeros(4800, dtype=np.float32), 48000, time_reference_samples=0)
    write_sidecar(RenderedLine("L0001", wav, 48000, 4800, 0, 4800, "hum", "amy"), "key")
    timeline = otio.schema.Timeline(name="cut")
    timeline.tracks.append(otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video))
    write_timeline(timeline, tmp_path / "cut_revoiced.otio")
    write_text_atomic(tmp_path / "new" / "notes.json", "{}")
    for path in (wav, sidecar_path(wav), tmp_path / "cut_revoiced.otio", tmp_path / "new" / "notes.json"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o640, path
    assert stat.S_IMODE((tmp_path / "new").stat().st_mode) == 0o750
    os.chmod(wav, 0o600)  # a file the user restricted keeps its mode when it is written again
    write_bwf(wav, np.zeros(4800, dtype=np.float32), 48000, time_reference_samples=0)
    assert stat.S_IMODE(wav.stat().st_mode) == 0o600


# -- temporary files of killed writers -----------------------------------------------------------


def _staging(folder: Path, name: str, inner: str, *, age_seconds: float = 0.0) -> Path:
    staging = folder / name
    staging.mkdir()
    (staging / inner).write_bytes(b"half a fi")
    if age_seconds:
        then = os.stat(staging).st_mtime - age_seconds
        for path in (staging / inner, staging):
            os.utime(path, (then, then))
    return staging


def test_staging_folders_name_the_target_and_their_writer(tmp_path: Path) -> None:
    with atomic_path(tmp_path / "cut.otio") as written:
        staging = written.parent.name
        assert staging.startswith(f".cut.otio.revoice-{files._host_token()}-{os.getpid()}-")
        assert staging.endswith(".tmp") and staging.startswith(".")
        written.write_text("cut")
    long_name = "x" * 250 + ".wav"
    write_bytes_atomic(tmp_path / long_name, b"ok")  # a long name still gives a legal staging name
    assert (tmp_path / long_name).read_bytes() == b"ok"


def test_only_dead_writers_staging_folders_are_removed(tmp_path: Path) -> None:
    import subprocess
    import sys

    host = files._host_token()
    dead = subprocess.Popen(["true"])
    dead.wait()
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        hour = 3600.0
        removed = [
            _staging(tmp_path, f".a.wav.revoice-{host}-{dead.pid}-abc12345.tmp", "a.wav"),  # writer here, dead
            _staging(tmp_path, f".b.json.revoice-0123abcd-{alive.pid}-abc12345.tmp", "b.json", age_seconds=hour),
            _staging(tmp_path, ".c.otio.abcdefgh.tmp", "c.otio", age_seconds=hour),  # an older Revoice's
        ]
        kept = [
            _staging(tmp_path, f".e.wav.revoice-{host}-{alive.pid}-abc12345.tmp", "e.wav", age_seconds=hour),
            _staging(tmp_path, f".f.wav.revoice-{host}-{os.getpid()}-abc12345.tmp", "f.wav", age_seconds=hour),
            _staging(tmp_path, f".g.wav.revoice-0123abcd-{dead.pid}-abc12345.tmp", "g.wav"),  # elsewhere, fresh
            _staging(tmp_path, ".h.otio.abcdefgh.tmp", "h.otio"),  # an older Revoice's, fresh
            _staging(tmp_path, ".i.otio.abcdefgh.tmp", "other.txt", age_seconds=hour),  # not what it would hold
            _staging(tmp_path, ".cache.tmp", "x", age_seconds=hour),  # not Revoice's naming
        ]
        (tmp_path / ".j.wav.abcdefgh.tmp").write_text("a file, not a staging folder")
        os.utime(tmp_path / ".j.wav.abcdefgh.tmp", (1.0, 1.0))
        kept.append(tmp_path / ".j.wav.abcdefgh.tmp")
        gone = files.remove_stale_temporaries(tmp_path, tmp_path / "missing", tmp_path)
        assert sorted(gone) == sorted(removed)
        assert not any(path.exists() for path in removed) and all(path.exists() for path in kept)
        # with a shorter staleness the fresh older-Revoice folder goes too, a live writer's never
        later = files.remove_stale_temporaries(tmp_path, stale_seconds=-1.0)
        assert tmp_path / ".h.otio.abcdefgh.tmp" in later and tmp_path / ".g.wav.revoice-0123abcd-" \
            f"{dead.pid}-abc12345.tmp" in later
        assert kept[0].exists() and kept[1].exists()
    finally:
        alive.kill()
        alive.wait()


def test_a_write_in_flight_survives_a_cleanup(tmp_path: Path) -> None:
    with atomic_path(tmp_path / "out.otio") as written:
        written.write_text("half")
        assert files.remove_stale_temporaries(tmp_path, stale_seconds=-1.0) == []
        assert written.exists()
    assert (tmp_path / "out.otio").read_text() == "half"
    assert files.remove_stale_temporaries(tmp_path / "out.otio") == []  # a file, not a folder: nothing
