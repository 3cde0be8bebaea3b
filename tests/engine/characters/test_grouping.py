"""Speaker grouping: the demo's two real actors, names stripped, come back as two characters."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from revoice.engine.characters.grouping import group_lines
from revoice.engine.model import DEFAULT_SPEAKER
from revoice.otio_bridge.lines import extract_lines
from revoice.otio_bridge.timeline import read_timeline


def test_unnamed_lines_of_two_real_speakers_form_two_groups(endgame_scene: tuple[Path, Path],
                                                            speaker_embedder: Any) -> None:
    timeline, subtitles = endgame_scene
    lines, _, _ = extract_lines(read_timeline(timeline), subtitle_path=subtitles, timeline_path=timeline)
    truth = {line.line_id: line.speaker for line in lines}
    assert sorted(set(truth.values())) == ["NAGG", "NELL"]
    unnamed = [dataclasses.replace(line, speaker=DEFAULT_SPEAKER) for line in lines]
    grouping = group_lines(unnamed, embedder=speaker_embedder, taken=["SPEAKER 2"])
    assert [group.name for group in grouping.groups] == ["SPEAKER 1", "SPEAKER 3"]
    found = [{truth[line_id] for line_id in group.line_ids} for group in grouping.groups]
    assert found == [{"NAGG"}, {"NELL"}]  # each group is one actor, in order of first appearance
    grouped = {line_id for group in grouping.groups for line_id in group.line_ids}
    assert grouped | set(grouping.ungrouped) == set(truth) and not grouped & set(grouping.ungrouped)
    assert len(grouped) >= 12  # only the shortest replies ("Yes.", "No.") may lack the speech to embed
    assert all(group.coherence > 0.7 for group in grouping.groups)
