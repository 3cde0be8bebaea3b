"""Dialogue lines from cues, markers and subtitle tracks: frame snapping, offsets, skips, sources."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import opentimelineio as otio
import pytest
import soundfile as sf
from bridge_helpers import HOUR_FRAMES, RATES, make_timeline, write_srt
from revoice.engine.model import DEFAULT_SPEAKER
from revoice.otio_bridge.errors import InputError
from revoice.otio_bridge.lines import extract_lines
from revoice.otio_bridge.media import media_path_from_url
from revoice.otio_bridge.subtitles import Cue, read_subtitles
from revoice.otio_bridge.timeline import read_timeline

FRAMES = [(0, 30), (48, 61), (500, 12), (1234, 97)]
"""(start, duration) of the test lines in frames from the timeline's first frame."""


def cue(index: int, start: float, end: float, text: str, speaker: str | None = None) -> Cue:
    return Cue(index, start, end, text, speaker, None)


@pytest.mark.parametrize("start_tc", ["00:00:00:00", "01:00:00:00"])
@pytest.mark.parametrize("key", list(RATES))
def test_records_snap_to_nearest_frame(tmp_path: Path, key: str, start_tc: str) -> None:
    rate = RATES[key]
    start = 0 if start_tc == "00:00:00:00" else HOUR_FRAMES[key]
    tl = make_timeline(rate, start)
    # Cues a little off the frame grid (+-0.3 frame, then rounded to whole ms as in an SRT),
    # written as timecodes (offset by the start) so "auto" must detect and remove the start.
    # NLEs write timecode labels as clock time: 01:00:01:00 at 23.976 is "01:00:01,000"
    # (nominal 24 fps); drop-frame timecode follows the clock.
    drop_frame = round(rate * 1.001) % 30 == 0 and abs(rate * 1.001 - round(rate * 1.001)) < 1e-6
    label_rate = rate if (start == 0 or drop_frame) else round(rate)
    wobble = [0.3, -0.3, 0.2, -0.2]
    cues = []
    for i, ((f, d), w) in enumerate(zip(FRAMES, wobble), start=1):
        a = (start + f + w) / label_rate
        b = (start + f + d - w) / label_rate
        cues.append((a, b, f"SPK{i % 2}: line {i}"))
    srt = write_srt(tmp_path / "cut.srt", cues)
    lines, skipped, warnings = extract_lines(tl, subtitle_path=srt)
    assert skipped == []
    assert [(ln.record.start, ln.record.duration) for ln in lines] == FRAMES
    assert all(ln.record.rate == rate for ln in lines)
    assert all(ln.timecode_start_frames == start for ln in lines)
    assert [ln.line_id for ln in lines] == ["L0001", "L0002", "L0003", "L0004"]
    assert [ln.speaker for ln in lines] == ["SPK1", "SPK0", "SPK1", "SPK0"]
    assert lines[0].origin == "cut.srt:2"
    assert any("timecode" in w for w in warnings) == (start > 0)
    # the same cues relative to the timeline's first frame read the same with "zero"
    zero = [cue(i, (f + w) / rate, (f + d - w) / rate, "x") for i, ((f, d), w) in
            enumerate(zip(FRAMES, wobble), start=1)]
    lines0, _, _ = extract_lines(tl, cues=zero, subtitle_offset="zero")
    assert [(ln.record.start, ln.record.duration) for ln in lines0] == FRAMES


def test_half_frames_round_up() -> None:
    tl = make_timeline(25.0)
    lines, _, _ = extract_lines(tl, cues=[cue(1, 0.5, 0.7, "a")])  # 12.5 -> 13, 17.5 -> 18
    assert (lines[0].record.start, lines[0].record.end) == (13, 18)


def test_offset_modes() -> None:
    tl = make_timeline(24.0, 86400)  # 01:00:00:00, 120 s long
    at_tc = [cue(1, 3605.0, 3606.0, "hello")]
    assert extract_lines(tl, cues=at_tc)[0][0].record.start == 120  # auto
    assert extract_lines(tl, cues=at_tc, subtitle_offset="timeline")[0][0].record.start == 120
    skipped = extract_lines(tl, cues=at_tc, subtitle_offset="zero")[1]
    assert len(skipped) == 1 and "outside the timeline" in skipped[0].reason
    assert extract_lines(tl, cues=at_tc, subtitle_offset=3600.0)[0][0].record.start == 120
    relative = [cue(1, 5.0, 6.0, "hello")]
    assert extract_lines(tl, cues=relative)[0][0].record.start == 120  # auto keeps zero
    with pytest.raises(InputError, match="subtitle offset"):
        extract_lines(tl, cues=relative, subtitle_offset="later")


def test_auto_keeps_zero_when_cues_fit_either_way() -> None:
    tl = make_timeline(24.0, 240, length_frames=24 * 600)  # starts at 00:00:10:00, 10 min long
    lines, _, warnings = extract_lines(tl, cues=[cue(1, 20.0, 21.0, "a")])
    assert lines[0].record.start == 480 and warnings == []


def test_skips_are_reported() -> None:
    tl = make_timeline(24.0, length_frames=240)  # 10 s
    cues = [
        cue(1, 1.0, 2.0, "ANNA: first"),
        cue(2, 1.5, 2.5, "ANNA: overlaps first"),
        cue(3, 1.5, 2.5, "BOB: different speaker may overlap"),
        cue(4, 3.0, 3.01, "too short"),
        cue(5, 4.0, 5.0, "   "),
        cue(6, 20.0, 21.0, "after the end"),
        cue(7, 9.5, 11.0, "runs past the end"),
    ]
    lines, skipped, warnings = extract_lines(tl, cues=cues, subtitle_path="cut.srt")
    assert [(ln.line_id, ln.speaker, ln.text) for ln in lines] == [
        ("L0001", "ANNA", "first"),
        ("L0002", "BOB", "different speaker may overlap"),
        ("L0003", DEFAULT_SPEAKER, "runs past the end"),
    ]
    assert (lines[2].record.start, lines[2].record.end) == (228, 240)
    reasons = {s.origin: s.reason for s in skipped}
    assert reasons["cut.srt cue 2"] == "overlaps L0001"
    assert "frame" in reasons["cut.srt cue 4"]
    assert reasons["cut.srt cue 5"] == "no text"
    assert "outside the timeline" in reasons["cut.srt cue 6"]
    assert len(skipped) == 4
    assert any("L0003" in w and "clipped" in w for w in warnings)


def test_overlap_is_checked_against_the_longest_earlier_line() -> None:
    tl = make_timeline(24.0, length_frames=2400)
    cues = [cue(1, 1.0, 10.0, "long"), cue(2, 2.0, 3.0, "inside"), cue(3, 4.0, 5.0, "also inside")]
    lines, skipped, _ = extract_lines(tl, cues=cues)
    assert [ln.text for ln in lines] == ["long"]
    assert [s.reason for s in skipped] == ["overlaps L0001", "overlaps L0001"]


def test_default_speaker_and_language() -> None:
    tl = make_timeline(25.0)
    lines, _, _ = extract_lines(tl, cues=[cue(1, 1, 2, "hi")], default_speaker="Narrator", language="de")
    assert (lines[0].speaker, lines[0].language) == ("Narrator", "de")


def test_markers_become_lines() -> None:
    tl = make_timeline(24.0, 86400)
    rng = otio.opentime.TimeRange(otio.opentime.RationalTime(48, 24), otio.opentime.RationalTime(36, 24))
    tl.tracks.markers.append(otio.schema.Marker(name="Line 1", marked_range=rng,
                                                metadata={"revoice": {"speaker": "ANNA"}}))
    resolve = otio.schema.Marker(
        name="Marker 2",
        marked_range=otio.opentime.TimeRange(otio.opentime.RationalTime(10, 24), otio.opentime.RationalTime(24, 24)),
        metadata={"Resolve_OTIO": {"Note": "BOB: From the note.", "Keywords": []}})
    clip = tl.video_tracks()[0][0]
    clip.markers.append(resolve)  # clip source starts at 0 and sits at record 0
    tl.tracks.markers.append(otio.schema.Marker(name="point", marked_range=otio.opentime.TimeRange(
        otio.opentime.RationalTime(5, 24), otio.opentime.RationalTime(0, 24))))
    lines, skipped, _ = extract_lines(tl)
    assert [(ln.line_id, ln.speaker, ln.text, ln.record.start, ln.record.duration) for ln in lines] == [
        ("L0001", "BOB", "From the note.", 10, 24),
        ("L0002", "ANNA", "Line 1", 48, 36),
    ]
    assert lines[1].origin == "marker 'Line 1'"
    assert resolve.metadata["Resolve_OTIO"]["Note"] == "BOB: From the note."  # untouched
    assert [s.origin for s in skipped] == ["marker 'point'"] and "duration" in skipped[0].reason


def test_subtitle_track_lines_when_no_markers() -> None:
    tl = make_timeline(25.0)
    subs = otio.schema.Track(name="Subtitles", kind="Subtitle")
    subs.append(otio.schema.Gap(source_range=otio.opentime.TimeRange(
        otio.opentime.RationalTime(0, 25), otio.opentime.RationalTime(50, 25))))
    subs.append(otio.schema.Clip(name="ANNA: From a subtitle track", source_range=otio.opentime.TimeRange(
        otio.opentime.RationalTime(0, 25), otio.opentime.RationalTime(40, 25))))
    tl.tracks.append(subs)
    lines, _, _ = extract_lines(tl)
    assert [(ln.speaker, ln.text, ln.record.start, ln.record.duration) for ln in lines] == [
        ("ANNA", "From a subtitle track", 50, 40)]


def test_nothing_to_revoice_warns() -> None:
    lines, skipped, warnings = extract_lines(make_timeline(25.0))
    assert lines == [] and skipped == [] and any("nothing to revoice" in w for w in warnings)


def test_sources_from_audio_clips(tmp_path: Path) -> None:
    rate = 24.0
    media = tmp_path / "media"
    media.mkdir()
    wav = media / "dia.wav"
    sf.write(wav, np.zeros(4800, dtype=np.float32), 48000)
    # clip 1: relative url, media timecode 10:00:00:00, plays from 2 s into the file, at record 1 s..5 s
    # clip 2: absolute file url (missing file), at record 5 s..9 s
    tl = make_timeline(rate, 86400, audio=[
        (24, 96, "media/dia.wav", 864000, 48),
        (120, 96, "file:///nowhere/missing.wav", 0, 0),
    ])
    tl_path = tmp_path / "cut.otio"
    lines, _, warnings = extract_lines(tl, cues=[cue(1, 3.0, 7.0, "across two clips")],
                                       subtitle_offset="zero", timeline_path=tl_path)
    (line,) = lines
    first, second = line.sources
    assert first.clip_name == "dia.wav" and first.track_name == "DIA"
    assert first.media_path == wav
    assert first.source_start_seconds == pytest.approx(2.0 + 2.0)  # 2 s in-point + 2 s into the clip
    assert first.duration_seconds == pytest.approx(2.0)
    assert first.offset_in_line_seconds == pytest.approx(0.0)
    assert second.media_path is None and not second.available
    assert second.media_url == "file:///nowhere/missing.wav"
    assert second.source_start_seconds == pytest.approx(0.0)
    assert second.offset_in_line_seconds == pytest.approx(2.0)
    assert sum("missing.wav" in w for w in warnings) == 1
    # twice over the same missing media: still one warning
    lines, _, warnings = extract_lines(tl, cues=[cue(1, 5.5, 6.0, "a"), cue(2, 7.0, 8.0, "b")],
                                       subtitle_offset="zero", timeline_path=tl_path)
    assert sum("missing.wav" in w for w in warnings) == 1


def test_media_urls(tmp_path: Path) -> None:
    wav = tmp_path / "a b.wav"
    wav.write_bytes(b"RIFF")
    assert media_path_from_url(wav.as_uri()) == wav
    assert media_path_from_url(f"file://localhost{wav}") == wav
    assert media_path_from_url(str(wav)) == wav
    assert media_path_from_url("a b.wav", tmp_path) == wav
    assert media_path_from_url("a b.wav") is None
    assert media_path_from_url("file://localhost/D%3a/media/x.mov") is None
    assert media_path_from_url("D:/media/x.mov", tmp_path) is None
    assert media_path_from_url("https://example.com/a.wav") is None
    assert media_path_from_url("") is None


def test_premiere_example_with_srt(shared_corpus: Path, tmp_path: Path) -> None:
    path = shared_corpus / "timelines" / "premiere_example.xml"
    tl = read_timeline(path)
    # markers in that file are points (no duration): each one is reported, none becomes a line
    lines, skipped, _ = extract_lines(tl, timeline_path=path)
    assert lines == [] and len(skipped) == 4
    assert any(s.text == "so, this happened" for s in skipped)

    srt = write_srt(tmp_path / "premiere.srt", [
        (5.0, 7.5, "ANNA: Hello there."),
        (12.0, 14.0, "BOB: Hi."),
        (40.0, 44.0, "ANNA: Past the end."),
    ])
    lines, skipped, warnings = extract_lines(tl, subtitle_path=srt, timeline_path=path)
    assert [(ln.line_id, ln.speaker, ln.record.start, ln.record.duration) for ln in lines] == [
        ("L0001", "ANNA", 150, 75), ("L0002", "BOB", 360, 60), ("L0003", "ANNA", 1200, 71)]
    bob = lines[1].sources
    assert [(s.clip_name, s.track_name) for s in bob] == [("sc01_placeholder.wav", "A2")]
    assert bob[0].source_start_seconds == pytest.approx(25 / 30)  # in-point 0 (media tc 8497) + 25 frames
    assert bob[0].media_url == "file://localhost/D%3a/media/sc01_placeholder.wav"
    assert bob[0].media_path is None
    assert lines[2].sources[0].source_start_seconds == pytest.approx(29 / 30)
    assert any("D%3a/media/track_08.wav" in w for w in warnings)
    assert any("L0003" in w and "clipped" in w for w in warnings)


def test_premiere_generators_are_not_sources(shared_corpus: Path) -> None:
    tl = read_timeline(shared_corpus / "timelines" / "premiere_generators.xml")
    lines, _, _ = extract_lines(tl, cues=[cue(1, 0.0, 2.0, "over the leader")])
    assert lines[0].record.rate == 24000 / 1001 and lines[0].record.duration == 48
    assert lines[0].sources == ()


def test_disabled_clips_are_not_sources(shared_corpus: Path) -> None:
    tl = read_timeline(shared_corpus / "timelines" / "premiere_enable_property.xml")
    lines, _, _ = extract_lines(tl, cues=[cue(1, 180 / 25, 200 / 25, "over a disabled clip"),
                                          cue(2, 1.0, 2.0, "over an enabled clip")])
    by_text = {ln.text: ln for ln in lines}
    assert by_text["over a disabled clip"].sources == ()  # audio_track_1_disabled_1 at 177..220
    assert [s.clip_name for s in by_text["over an enabled clip"].sources] == ["source.mp4"]


def test_empty_timeline_does_not_clip(shared_corpus: Path) -> None:
    tl = read_timeline(shared_corpus / "timelines" / "sample_just_track.xml")
    cues = read_subtitles(shared_corpus / "subtitles" / "sample.srt")
    lines, skipped, warnings = extract_lines(tl, cues=cues, subtitle_path="sample.srt")
    assert len(lines) == 5 and skipped == []
    assert (lines[0].record.start, lines[0].record.end) == (15, 210)
    assert any("empty" in w for w in warnings)


def test_edl_lines_with_missing_media(shared_corpus: Path) -> None:
    tl = read_timeline(shared_corpus / "timelines" / "multi_audio.edl")
    lines, _, warnings = extract_lines(tl, cues=[cue(1, 1.0, 2.0, "hello")])
    assert [(s.track_name, s.media_path, s.media_url) for s in lines[0].sources] == [
        ("A1", None, ""), ("A2", None, "")]
    assert sum("no media linked" in w for w in warnings) == 1


def test_edl_start_timecode_is_used(shared_corpus: Path) -> None:
    tl = read_timeline(shared_corpus / "timelines" / "premiere_example.edl")
    start = 86243 / 24  # 00:59:53:11
    lines, _, _ = extract_lines(tl, cues=[cue(1, start + 1.0, start + 2.0, "hi")])
    assert (lines[0].record.start, lines[0].timecode_start_frames) == (24, 86243)
    lines25, _, _ = extract_lines(read_timeline(shared_corpus / "timelines" / "25fps.edl", rate=25),
                                  cues=[cue(1, 1.0, 2.0, "hi")])
    assert lines25[0].record.rate == 25.0 and lines25[0].record.start == 25


def test_stack_markers_written_as_timecodes_are_rebased() -> None:
    tl = make_timeline(24.0, 86400, length_frames=2400)
    tl.tracks.markers.append(otio.schema.Marker(name="absolute", marked_range=otio.opentime.TimeRange(
        otio.opentime.RationalTime(86400 + 240, 24), otio.opentime.RationalTime(48, 24))))
    tl.tracks.markers.append(otio.schema.Marker(name="relative", marked_range=otio.opentime.TimeRange(
        otio.opentime.RationalTime(480, 24), otio.opentime.RationalTime(48, 24))))
    lines, skipped, warnings = extract_lines(tl)
    assert [(ln.origin, ln.record.start) for ln in lines] == [("marker 'absolute'", 240),
                                                              ("marker 'relative'", 480)]
    assert skipped == [] and any("timecodes" in w for w in warnings)
