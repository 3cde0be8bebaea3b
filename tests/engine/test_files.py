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
