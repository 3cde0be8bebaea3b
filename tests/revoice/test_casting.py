"""revoice.casting.prepare_profiles: who gets a profile, who keeps a stock voice, and why."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from revoice.engine.characters.profile import Consent, ProfileStore, VoiceProfile
from revoice.engine.voices.base import BackendOptions
from revoice.otio_bridge.lines import extract_lines
from revoice.otio_bridge.timeline import read_timeline

from revoice.casting import BackendPool, prepare_profiles


def test_denied_consent_and_missing_speech_keep_a_stock_voice(tmp_path: Path, endgame_scene: tuple[Path, Path],
                                                              speaker_embedder: Any) -> None:
    timeline, subtitles = endgame_scene
    lines, _, _ = extract_lines(read_timeline(timeline), subtitle_path=subtitles, timeline_path=timeline)
    lines = [dataclasses.replace(line, sources=()) if line.speaker == "NAGG" else line for line in lines]
    store = ProfileStore(tmp_path / "voices")
    store.save(VoiceProfile(name="NELL", consent=Consent("denied", "agent", "2026-11-21")))
    before = store.path_for("NELL").read_bytes()
    outcome = prepare_profiles(lines, ["NAGG", "NELL"], store=store, embedder=lambda: speaker_embedder,
                               pool=BackendPool(loaded=[], options=BackendOptions(), fixed=True))
    assert outcome.profiles == []
    assert [row["status"] for row in outcome.rows] == ["not used: consent denied"]
    assert any("NAGG: no usable original speech" in w for w in outcome.warnings)
    assert any("NELL: consent denied" in w for w in outcome.warnings)
    assert store.path_for("NELL").read_bytes() == before and "NAGG" not in store
