"""prepare_profiles with shards sharing a voices folder: a character another shard holds is done last, then reused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from revoice.engine.characters.profile import ProfileStore
from revoice.engine.characters.tuning import TuningCancelled
from revoice.engine.files import LockPolicy
from revoice.engine.voices.base import BackendOptions
from revoice.otio_bridge.lines import extract_lines
from revoice.otio_bridge.timeline import read_timeline

from revoice.casting import BackendPool, prepare_profiles


def no_pool() -> BackendPool:
    return BackendPool(loaded=[], options=BackendOptions(), fixed=True)


def test_a_character_another_shard_builds_is_waited_for_and_reused(tmp_path: Path, endgame_scene: tuple[Path, Path],
                                                                     speaker_embedder: Any) -> None:
    timeline, subtitles = endgame_scene
    lines, _, _ = extract_lines(read_timeline(timeline), subtitle_path=subtitles, timeline_path=timeline)
    elsewhere = ProfileStore(tmp_path / "elsewhere")  # what the other shard will have built
    prepare_profiles(lines, ["NELL"], store=elsewhere, embedder=lambda: speaker_embedder, pool=no_pool(), tune=False)
    built = elsewhere.get("NELL")
    assert built is not None

    store = ProfileStore(tmp_path / "voices")
    other = store.claim("NELL")
    other.acquire()  # the other shard is tuning NELL
    messages: list[str] = []
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        assert not sleeps, "still waiting after the other shard finished"
        sleeps.append(seconds)
        assert "NAGG" in store and store.lock_path("NELL").exists()  # NAGG was done meanwhile
        store.save(built)  # the other shard finishes
        other.release()

    outcome = prepare_profiles(lines, ["NELL", "NAGG"], store=store, embedder=lambda: speaker_embedder,
                               pool=no_pool(), tune=False, progress=messages.append,
                               locking=LockPolicy(poll_seconds=3.0, sleep=sleep))
    assert sleeps == [3.0]
    assert [m.split(" (")[0] for m in messages] == [
        "voice profile 2/2: NAGG", "waiting for another shard to finish voice profile NELL",
        "voice profile 1/2: NELL"]
    assert str(store.lock_path("NELL")) in messages[1]
    assert [(row["name"], row["status"]) for row in outcome.rows] == [("NELL", "reused"), ("NAGG", "built")]
    assert store.get("NELL") == built and outcome.warnings == []
    assert list(store.folder.glob("*.lock")) == []


def test_cancel_while_waiting_for_another_shard_raises_tuning_cancelled(tmp_path: Path) -> None:
    store = ProfileStore(tmp_path / "voices")
    messages: list[str] = []
    cancel = iter([False, True])
    with store.claim("NELL"):
        with pytest.raises(TuningCancelled):
            prepare_profiles([], ["NELL"], store=store, embedder=lambda: pytest.fail("nothing to build"),
                             pool=no_pool(), progress=messages.append, should_cancel=lambda: next(cancel),
                             locking=LockPolicy(poll_seconds=0.01))
    assert [m.split(" (")[0] for m in messages] == ["waiting for another shard to finish voice profile NELL"]
    assert list(store.folder.glob("*.lock")) == []
