"""Revoice's record in a clip: what the writer puts in is what the reader gets back, key for key."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import opentimelineio as otio
from bridge_helpers import make_timeline, render_silence
from revoice.engine.model import DialogueLine, FrameRange
from revoice.engine.records import RenderReport, TakeEntry, TakeQc, VoiceProfileUse
from revoice.otio_bridge import clip_metadata
from revoice.otio_bridge.clip_metadata import ClipMetadata, ClipProfile
from revoice.otio_bridge.timeline import read_timeline
from revoice.otio_bridge.write import build_revoiced_timeline, write_timeline


def test_read_write_read_keeps_every_key(tmp_path: Path) -> None:
    line = DialogueLine("L0001", "Give me the keys.", "ANNA", "en", FrameRange(24, 48, 24.0),
                        metadata={"overflow_frames": 3})
    render = render_silence([line], tmp_path / "wav")[0]
    qc = TakeQc.from_json({"meters": ["asr"], "wer": 0.0, "asr_text": "give me the keys", "flags": [], "score": 0.9})
    other = dataclasses.replace(qc, score=0.5, flags=("mos 2.10 < 3.00: sounds unnatural or damaged",))
    use = VoiceProfileUse(name="ANNA", kind="tint", key="abc", strength=0.8, base_backend="piper", base_voice="joe",
                          match_language="en", cross_lingual=False, similarity_base=0.41, similarity_matched=0.63,
                          consent="granted")
    report = RenderReport.from_json({"ratio": 0.97, "speech_seconds": 1.5, "future_key": [1, 2]})
    report = dataclasses.replace(report, voice_profile=use, qc=qc, chosen_take=1, chosen_by="score", takes=(
        TakeEntry(take=1, file=render.path.name, score=0.9, flags=(), qc=qc),
        TakeEntry(take=2, file="ANNA_L0001_t2.wav", score=0.5, flags=other.flags, qc=other)))
    render = dataclasses.replace(render, report=report)
    written = ClipMetadata.of(line, render)
    assert written.profile == ClipProfile.of(use) and written.voice_kind == "tint"
    assert [t.path for t in written.takes] == [str(render.path.resolve()), str(render.path.resolve().with_name(
        "ANNA_L0001_t2.wav"))]

    clip = otio.schema.Clip(name="L0001 ANNA")
    clip_metadata.write(clip, written)
    first = clip_metadata.read(clip)
    assert first is not None and first == written
    assert first.report is not None and first.report.qc is not None and first.report.qc.wer == 0.0
    assert first.report.extra == {"future_key": [1, 2]} and first.overflow_frames == 3

    again = otio.schema.Clip(name="copy")
    clip_metadata.write(again, first)
    second = clip_metadata.read(again)
    assert second == first
    assert json.loads(again.to_json_string())["metadata"] == json.loads(clip.to_json_string())["metadata"]
    assert clip_metadata.read(otio.schema.Clip(name="not ours")) is None


def test_a_written_timeline_reads_back(tmp_path: Path) -> None:
    timeline = make_timeline(24.0)
    lines = [DialogueLine("L0001", "One.", "ANNA", "en", FrameRange(0, 48, 24.0))]
    rendered = render_silence(lines, tmp_path / "wav")
    path = tmp_path / "out.otio"
    write_timeline(build_revoiced_timeline(timeline, lines, rendered), path)
    clips = [c for c in read_timeline(path).find_clips() if clip_metadata.read(c) is not None]
    assert len(clips) == 1
    meta = clip_metadata.read(clips[0])
    assert meta is not None and meta.line_id == "L0001" and meta.voice == "silence" and meta.profile is None
    assert meta.report is not None and meta.report.to_json() == {"lufs": -23.0}  # a partial report stays partial
    assert meta.voice_kind == "stock" and meta.takes == () and meta.settings == {"speed": 1.25}
    back = meta.rendered_line(lines[0], rendered[0].path)
    assert (back.slot_samples, back.take, back.flags) == (rendered[0].slot_samples, 1, ("short",))
    plain = json.loads(clips[0].to_json_string())["metadata"]["revoice"]
    assert meta.to_json() == plain
