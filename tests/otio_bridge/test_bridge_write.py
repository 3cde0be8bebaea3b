"""Revoiced timelines: new tracks at the right frames, and read -> write -> read round trips."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import opentimelineio as otio
import pytest
from bridge_helpers import HOUR_FRAMES, RATES, make_timeline, render_silence, sha256, write_srt
from revoice.engine.model import DialogueLine, FrameRange, RenderedLine
from revoice.otio_bridge.errors import InputError
from revoice.otio_bridge.lines import extract_lines
from revoice.otio_bridge.timeline import read_timeline, timeline_start_frames, to_frames
from revoice.otio_bridge.write import build_revoiced_timeline, write_timeline


def revoice_clips(tl: otio.schema.Timeline) -> list[tuple[str, str, otio.schema.Clip]]:
    """(track name, clip name, clip) for clips whose name looks like a line id."""
    out = []
    for track in tl.audio_tracks():
        for clip in track.find_clips():
            if clip.name[:1] == "L" and clip.name[1:5].isdigit():
                out.append((track.name, clip.name, clip))
    return out


def record(clip: otio.schema.Clip, tl: otio.schema.Timeline, rate: float) -> tuple[int, int]:
    rng = clip.range_in_parent()
    return (int(round(to_frames(rng.start_time, rate))), int(round(to_frames(rng.duration, rate))))


def dialogue(tmp_path: Path, rate: float, start: int) -> tuple[otio.schema.Timeline, list[DialogueLine]]:
    tl = make_timeline(rate, start, audio=[(0, int(rate * 30), "media/dia.wav", 0, 0)])
    srt = write_srt(tmp_path / "cut.srt", [
        (1.0, 2.5, "ANNA: One."), (2.0, 3.0, "BOB: Two."), (4.0, 6.26, "ANNA: Three."), (7.5, 9.0, "Four."),
    ])
    lines, skipped, _ = extract_lines(tl, subtitle_path=srt, subtitle_offset="zero")
    assert skipped == [] and len(lines) == 4
    return tl, lines


@pytest.mark.parametrize("start_tc", ["00:00:00:00", "01:00:00:00"])
@pytest.mark.parametrize("key", list(RATES))
def test_writer_clips_match_line_ranges(tmp_path: Path, key: str, start_tc: str) -> None:
    rate = RATES[key]
    start = 0 if start_tc == "00:00:00:00" else HOUR_FRAMES[key]
    tl, lines = dialogue(tmp_path, rate, start)
    out = build_revoiced_timeline(tl, lines, render_silence(lines, tmp_path / "wav"))
    expected = {ln.line_id: (ln.record.start, ln.record.duration) for ln in lines}
    for suffix in (".otio", ".xml"):
        path = tmp_path / f"out{suffix}"
        write_timeline(out, path)
        back = read_timeline(path)
        assert timeline_start_frames(back) == start
        got = {name.split()[0]: record(clip, back, rate) for _, name, clip in revoice_clips(back)}
        assert got == expected, suffix
        for _, name, clip in revoice_clips(back):
            rng = clip.media_reference.available_range
            assert int(round(to_frames(rng.duration, rate))) == expected[name.split()[0]][1]
    got_built = {name.split()[0]: record(clip, out, rate) for _, name, clip in revoice_clips(out)}
    assert got_built == expected


def test_tracks_per_speaker_and_metadata(tmp_path: Path) -> None:
    tl, lines = dialogue(tmp_path, 24.0, 86400)
    before = otio.adapters.write_to_string(tl, "otio_json")
    rendered = render_silence(lines, tmp_path / "wav")
    out = build_revoiced_timeline(tl, lines, rendered)
    assert otio.adapters.write_to_string(tl, "otio_json") == before  # input untouched
    names = [t.name for t in out.audio_tracks()]
    assert names == ["DIA", "Revoice - ANNA", "Revoice - BOB", "Revoice - Dialogue"]
    anna = out.audio_tracks()[1]
    assert [type(i).__name__ for i in anna] == ["Gap", "Clip", "Gap", "Clip"]
    clip = anna[1]
    assert clip.name == "L0001 ANNA"
    assert clip.source_range == clip.media_reference.available_range
    # media timecode = the WAV's bext time reference = the line's record timecode (Resolve's shape)
    assert clip.source_range.start_time.value == 86400 + lines[0].record.start
    meta = dict(clip.metadata["revoice"])
    assert set(meta) == {"line_id", "text", "speaker", "language", "overflow_frames", "backend", "voice", "take", "settings",
                         "report", "flags", "wav_samples", "sample_rate", "takes"}
    assert meta["line_id"] == "L0001" and meta["text"] == "One." and list(meta["flags"]) == ["short"]
    assert meta["wav_samples"] == lines[0].slot_samples(48000) and meta["sample_rate"] == 48000
    assert dict(meta["settings"]) == {"speed": 1.25}  # numpy float became a plain number
    plain = json.loads(clip.to_json_string())["metadata"]["revoice"]
    assert plain["report"] == {"lufs": -23.0} and plain["take"] == 1 and plain["voice"] == "silence"
    assert plain["backend"] == "test" and plain["speaker"] == "ANNA" and plain["language"] == "en"
    target = clip.media_reference.target_url
    assert Path(target).is_absolute() and target.endswith("/wav/L0001.wav")  # bare path, as Resolve writes
    # the original tracks keep their clips
    assert [c.name for c in out.audio_tracks()[0].find_clips()] == ["dia.wav"]


def test_clips_kept_from_an_earlier_write_give_the_same_timeline_and_only_changed_lines_are_built(
        tmp_path: Path) -> None:
    import dataclasses

    tl, lines = dialogue(tmp_path, 24.0, 86400)
    rendered = render_silence(lines, tmp_path / "wav")
    made: dict[str, otio.schema.Clip] = {}
    fresh = otio.adapters.write_to_string(build_revoiced_timeline(tl, lines, rendered), "otio_json")
    assert otio.adapters.write_to_string(build_revoiced_timeline(tl, lines, rendered, made_clips=made),
                                         "otio_json") == fresh
    assert len(made) == len(rendered)
    kept = dict(made)
    again = build_revoiced_timeline(tl, lines, rendered, made_clips=made)  # copies, never the kept clips
    assert otio.adapters.write_to_string(again, "otio_json") == fresh and made == kept
    assert all(clip.parent() is None for clip in made.values())
    # one line edited: its clip is built anew and the kept ones are this timeline's only
    edited = [dataclasses.replace(r, voice_id="other") if r.line_id == lines[0].line_id else r for r in rendered]
    changed = build_revoiced_timeline(tl, lines, edited, made_clips=made)
    assert otio.adapters.write_to_string(changed, "otio_json") == otio.adapters.write_to_string(
        build_revoiced_timeline(tl, lines, edited), "otio_json")
    assert len(made) == len(rendered) and len(set(made) - set(kept)) == 1


def test_relative_media_urls(tmp_path: Path) -> None:
    tl, lines = dialogue(tmp_path, 25.0, 0)
    out = build_revoiced_timeline(tl, lines, render_silence(lines, tmp_path / "wav"), relative_to=tmp_path)
    urls = [c.media_reference.target_url for _, _, c in revoice_clips(out)]
    assert sorted(urls) == ["wav/L0001.wav", "wav/L0002.wav", "wav/L0003.wav", "wav/L0004.wav"]


def test_overlapping_lines_of_one_speaker_get_another_track(tmp_path: Path) -> None:
    rate = 24.0
    lines = [DialogueLine("L0001", "a", "ANNA", "en", FrameRange(0, 48, rate)),
             DialogueLine("L0002", "b", "ANNA", "en", FrameRange(24, 48, rate))]
    out = build_revoiced_timeline(make_timeline(rate), lines, render_silence(lines, tmp_path))
    assert [t.name for t in out.audio_tracks()] == ["DIA", "Revoice - ANNA", "Revoice - ANNA 2"]


def test_render_checks(tmp_path: Path) -> None:
    tl, lines = dialogue(tmp_path, 24.0, 0)
    rendered = render_silence(lines[:2], tmp_path / "wav")
    out = build_revoiced_timeline(tl, lines, rendered)  # unrendered lines are left out
    assert [n for _, n, _ in revoice_clips(out)] == ["L0001 ANNA", "L0002 BOB"]
    wrong = RenderedLine("L0001", rendered[0].path, 48000, rendered[0].slot_samples + 1, 0, 1, "t", "v")
    with pytest.raises(ValueError, match="samples"):
        build_revoiced_timeline(tl, lines, [wrong])
    stray = RenderedLine("L0099", rendered[0].path, 48000, 1, 0, 1, "t", "v")
    with pytest.raises(ValueError, match="L0099"):
        build_revoiced_timeline(tl, lines, [stray])


def test_otio_output_uses_017_schemas(tmp_path: Path) -> None:
    tl, lines = dialogue(tmp_path, 24.0, 0)
    tl.tracks.markers.append(otio.schema.Marker(name="m"))
    out = build_revoiced_timeline(tl, lines, render_silence(lines, tmp_path / "wav"))
    path = tmp_path / "out.otio"
    write_timeline(out, path)
    data = json.loads(path.read_text())
    schemas: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if "OTIO_SCHEMA" in node:
                schemas.add(node["OTIO_SCHEMA"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(data)
    assert {"Clip.2", "Marker.2", "Timeline.1", "ExternalReference.1"} <= schemas
    back = read_timeline(path)
    assert revoice_clips(back)[0][2].metadata["revoice"]["line_id"] == "L0001"


def test_otioz_bundles_the_wavs(tmp_path: Path) -> None:
    tl, lines = dialogue(tmp_path, 25.0, 90000)
    out = build_revoiced_timeline(tl, lines, render_silence(lines, tmp_path / "out_media"))  # Revoice's own WAVs
    path = tmp_path / "out.otioz"
    warnings = write_timeline(out, path)
    assert warnings == ["media not found, left out of the bundle: media/dia.wav"]
    with zipfile.ZipFile(path) as z:
        assert {"media/L0001.wav", "media/L0004.wav", "content.otio"} <= set(z.namelist())
    back = read_timeline(path)
    clips = revoice_clips(back)
    assert [(t, n) for t, n, _ in clips] == [
        ("Revoice - ANNA", "L0001 ANNA"), ("Revoice - ANNA", "L0003 ANNA"),
        ("Revoice - BOB", "L0002 BOB"), ("Revoice - Dialogue", "L0004 Dialogue")]
    assert clips[0][2].media_reference.target_url == "media/L0001.wav"
    assert record(clips[0][2], back, 25.0) == (lines[0].record.start, lines[0].record.duration)


def round_trip(src: Path, tmp_path: Path, suffix: str, **read: float) -> None:
    """Corpus timeline -> lines -> revoiced -> written -> read again: everything survives."""
    tl = read_timeline(src, **read)
    srt = write_srt(tmp_path / "x.srt", [(1.0, 2.0, "ANNA: Hi."), (2.5, 4.0, "BOB: Hello.")])
    lines, _, _ = extract_lines(tl, subtitle_path=srt, subtitle_offset="zero", timeline_path=src)
    out = build_revoiced_timeline(tl, lines, render_silence(lines, tmp_path / "wav"))
    path = tmp_path / f"{src.stem}_revoiced{suffix}"
    write_timeline(out, path, overwrite_inputs=[src])
    back = read_timeline(path)
    assert len(back.tracks) == len(out.tracks)
    assert [t.kind for t in back.tracks] == [t.kind for t in out.tracks]
    orig = [(c.name, c.range_in_parent()) for c in tl.find_clips()]
    again = [(c.name, c.range_in_parent()) for c in back.find_clips()][: len(orig)]
    assert [n for n, _ in again] == [n for n, _ in orig]
    def seconds(ranges: list[tuple[str, otio.opentime.TimeRange]]) -> list[float]:
        return [t for _, r in ranges for t in (r.start_time.to_seconds(), r.duration.to_seconds())]

    assert seconds(again) == pytest.approx(seconds(orig), abs=1e-3)
    clips = revoice_clips(back)
    assert [n for _, n, _ in clips] == ["L0001 ANNA", "L0002 BOB"]
    if suffix != ".xml":  # FCP7 XML keeps no track names
        assert [t for t, _, _ in clips] == ["Revoice - ANNA", "Revoice - BOB"]
    for (_, _, clip), line in zip(clips, lines):
        line_rate = line.record.rate
        assert record(clip, back, line_rate) == (line.record.start, line.record.duration)
        url = clip.media_reference.target_url
        assert url.endswith(f"{line.line_id}.wav")


@pytest.mark.parametrize("suffix", [".otio", ".otioz", ".xml"])
@pytest.mark.parametrize("name, read", [
    ("premiere_example.xml", {}),
    ("premiere_generators.xml", {}),
    ("premiere_enable_property.xml", {}),
    ("25fps.edl", {"rate": 25.0}),
    ("multi_audio.edl", {}),
])
def test_corpus_round_trips(shared_corpus: Path, tmp_path: Path, suffix: str, name: str,
                            read: dict[str, float]) -> None:
    src = shared_corpus / "timelines" / name
    before = sha256(src)
    round_trip(src, tmp_path, suffix, **read)
    assert sha256(src) == before


def test_refuses_to_overwrite_an_input(tmp_path: Path) -> None:
    src = tmp_path / "cut.otio"
    otio.adapters.write_to_file(make_timeline(24.0), str(src))
    before = sha256(src)
    tl = read_timeline(src)
    with pytest.raises(InputError, match="refusing to overwrite"):
        write_timeline(tl, src, overwrite_inputs=[src])
    with pytest.raises(InputError, match="refusing to overwrite"):
        write_timeline(tl, tmp_path / "sub" / ".." / "cut.otio", overwrite_inputs=[str(src)])
    assert sha256(src) == before


def test_atomic_write_leaves_no_temp_files(tmp_path: Path) -> None:
    tl = make_timeline(24.0)
    out = tmp_path / "deep" / "out.otio"
    write_timeline(tl, out)
    write_timeline(tl, out)  # replacing an earlier output is fine
    assert sorted(p.name for p in out.parent.iterdir()) == ["out.otio"]
    with pytest.raises(InputError, match="cannot write timelines as '.edl'"):
        write_timeline(tl, tmp_path / "out.edl")


def test_failed_write_keeps_the_old_file(tmp_path: Path) -> None:
    out = tmp_path / "out.xml"
    out.write_text("old")
    tl = make_timeline(24.0)
    tl.tracks[0][0].source_range = otio.opentime.TimeRange(  # a rate FCP7 XML cannot express
        otio.opentime.RationalTime(0, 48000), otio.opentime.RationalTime(48000, 48000))
    tl.tracks[0][0].media_reference = otio.schema.ExternalReference(
        target_url="file:///x.wav", available_range=tl.tracks[0][0].source_range)
    with pytest.raises(InputError, match="SMPTE") as info:
        write_timeline(tl, out)
    assert "out.xml" in str(info.value)
    assert out.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.xml"]


def test_resolve_and_premiere_metadata_survive(tmp_path: Path) -> None:
    tl, lines = dialogue(tmp_path, 24000 / 1001, 86400)
    tl.metadata["Resolve_OTIO"] = {"Resolve OTIO Meta Version": "1.0"}
    tl.tracks[0].metadata["PremierePro_OTIO"] = {"TrackTargeted": True}
    clip = tl.tracks[0][0]
    clip.metadata["Resolve_OTIO"] = {"Link Group ID": 1}
    clip.markers.append(otio.schema.Marker(
        name="note", color="RED",
        marked_range=otio.opentime.TimeRange(otio.opentime.RationalTime(5, 24000 / 1001),
                                             otio.opentime.RationalTime(1, 24000 / 1001)),
        metadata={"Resolve_OTIO": {"Keywords": [], "Note": "fix this"}}))
    out = build_revoiced_timeline(tl, lines, render_silence(lines, tmp_path / "wav"))
    path = tmp_path / "resolve.otio"
    write_timeline(out, path)
    back = read_timeline(path)
    assert dict(back.metadata["Resolve_OTIO"]) == {"Resolve OTIO Meta Version": "1.0"}
    assert dict(back.tracks[0].metadata["PremierePro_OTIO"]) == {"TrackTargeted": True}
    marker = back.tracks[0][0].markers[0]
    assert (marker.name, marker.color, marker.metadata["Resolve_OTIO"]["Note"]) == ("note", "RED", "fix this")
    assert dict(back.tracks[0][0].metadata["Resolve_OTIO"]) == {"Link Group ID": 1}
