"""Reading timelines: real Premiere/EDL exports, rates, start timecodes, clear errors."""

from __future__ import annotations

import pickle
from pathlib import Path

import opentimelineio as otio
import pytest
from bridge_helpers import HOUR_FRAMES, RATES, make_timeline, sha256
from revoice.otio_bridge.errors import InputError
from revoice.otio_bridge.timeline import (
    format_timecode,
    normalize_rate,
    read_timeline,
    timecode_to_frames,
    timeline_rate,
    timeline_start_frames,
)


@pytest.fixture
def timelines(shared_corpus: Path) -> Path:
    return shared_corpus / "timelines"


def test_input_error_is_one_readable_line() -> None:
    err = InputError(Path("/x/cut.srt"), 12, "malformed timing line", "write HH:MM:SS,mmm")
    assert str(err) == "/x/cut.srt:12: malformed timing line. write HH:MM:SS,mmm."
    assert (err.path, err.line, err.message, err.hint) == (Path("/x/cut.srt"), 12, "malformed timing line",
                                                             "write HH:MM:SS,mmm")
    no_line = InputError("cut.xml", None, "bad\nthing.", "")
    assert str(no_line) == "cut.xml: bad thing."
    again = pickle.loads(pickle.dumps(err))
    assert str(again) == str(err) and again.line == 12


def test_premiere_example_xml(timelines: Path) -> None:
    tl = read_timeline(timelines / "premiere_example.xml")
    assert timeline_rate(tl) == 30.0
    assert timeline_start_frames(tl) == 0
    assert len(tl.video_tracks()) == 4 and len(tl.audio_tracks()) == 4
    names = {m.name for m in tl.tracks.markers}
    assert {"My MArker 1", "dsf"} <= names
    assert tl.tracks.markers[0].metadata["fcp_xml"]["comment"] == "so, this happened"
    url = next(c.media_reference.target_url for c in tl.find_clips())
    assert url.startswith("file://localhost/D%3a/")


def test_premiere_generators_is_exact_ntsc(timelines: Path) -> None:
    tl = read_timeline(timelines / "premiere_generators.xml")
    assert timeline_rate(tl) == 24000 / 1001
    assert int(tl.duration().value) == 856


def test_premiere_enable_property_25fps(timelines: Path) -> None:
    tl = read_timeline(timelines / "premiere_enable_property.xml")
    assert timeline_rate(tl) == 25.0
    assert len(tl.audio_tracks()) == 3


def test_sample_just_track_has_no_clips(timelines: Path) -> None:
    tl = read_timeline(timelines / "sample_just_track.xml")
    assert timeline_rate(tl) == 30.0
    assert list(tl.find_clips()) == []


def test_edl_needs_its_rate(timelines: Path) -> None:
    path = timelines / "25fps.edl"
    tl = read_timeline(path, rate=25)
    assert timeline_rate(tl) == 25.0
    assert [c.name for c in tl.find_clips()] == ["sq001_s001", "sq001_s002", "sq001_s003", "sq001_s004"]
    assert int(tl.duration().value) == 496
    with pytest.raises(InputError) as info:
        read_timeline(path)
    assert "25fps.edl" in str(info.value) and "rate" in str(info.value)


def test_edl_record_start_becomes_start_timecode(timelines: Path) -> None:
    tl = read_timeline(timelines / "premiere_example.edl")
    rate = timeline_rate(tl)
    assert rate == 24.0
    assert format_timecode(timeline_start_frames(tl), rate) == "00:59:53:11"
    first = next(iter(tl.find_clips()))
    assert first.trimmed_range_in_parent() is not None
    assert first.range_in_parent().start_time.value == 0


def test_multi_audio_edl(timelines: Path) -> None:
    tl = read_timeline(timelines / "multi_audio.edl")
    assert [t.name for t in tl.audio_tracks()] == ["A1", "A2"]
    assert tl.video_tracks() == []


def test_gap_edl_keeps_gaps(timelines: Path) -> None:
    tl = read_timeline(timelines / "gap_test.edl")
    clips = list(tl.find_clips())
    assert [c.range_in_parent().start_time.value for c in clips] == [0, 40, 102]


@pytest.mark.parametrize("rate", [None, 25.0])
def test_timecode_mismatch_edl_fails_clearly(timelines: Path, rate: float | None) -> None:
    path = timelines / "timecode_mismatch.edl"
    before = sha256(path)
    with pytest.raises(InputError) as info:
        read_timeline(path, rate=rate)
    text = str(info.value)
    assert "timecode_mismatch.edl:" in text and "\n" not in text
    assert info.value.line is not None and info.value.hint
    assert sha256(path) == before


@pytest.mark.parametrize("name, content, line", [
    ("cut.fcpxml", "<fcpxml/>", None),
    ("broken.xml", "<xmeml>\n<sequence>", 2),
    ("not_fcp.xml", "<html/>", None),
    ("broken.otio", "{not json", 1),
    ("empty.otio", "", None),
    ("broken.otioz", "not a zip", None),
    ("empty.edl", "", None),
    ("garbage.edl", "hello world", None),
])
def test_bad_timeline_files_raise_input_error(tmp_path: Path, name: str, content: str,
                                              line: int | None) -> None:
    path = tmp_path / name
    path.write_text(content)
    before = sha256(path)
    with pytest.raises(InputError) as info:
        read_timeline(path)
    assert name in str(info.value) and "Traceback" not in str(info.value)
    if line is not None:
        assert info.value.line == line
    assert sha256(path) == before


def test_missing_timeline_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="nope.otio: no such file"):
        read_timeline(tmp_path / "nope.otio")


def test_otio_round_trip_through_reader(tmp_path: Path) -> None:
    tl = make_timeline(25.0, 90000)
    path = tmp_path / "t.otio"
    otio.adapters.write_to_file(tl, str(path))
    back = read_timeline(path)
    assert timeline_start_frames(back) == 90000
    assert format_timecode(timeline_start_frames(back), timeline_rate(back)) == "01:00:00:00"


def test_collection_with_one_timeline(tmp_path: Path) -> None:
    coll = otio.schema.SerializableCollection(children=[make_timeline(24.0)])
    path = tmp_path / "c.otio"
    otio.adapters.write_to_file(coll, str(path))
    assert read_timeline(path).name == "synthetic"
    coll.append(make_timeline(24.0))
    otio.adapters.write_to_file(coll, str(path))
    with pytest.raises(InputError, match="2 timelines"):
        read_timeline(path)


@pytest.mark.parametrize("given, exact", [
    (23.976, 24000 / 1001), (23.98, 24000 / 1001), (29.97, 30000 / 1001), (59.94, 60000 / 1001),
    (47.952, 48000 / 1001), (25.0, 25.0), (15.0, 15.0), (12.0, 12.0),
])
def test_normalize_rate(given: float, exact: float) -> None:
    assert normalize_rate(given) == pytest.approx(exact, rel=1e-12)


@pytest.mark.parametrize("bad", [0.0, -24.0])
def test_zero_rate_is_an_input_error(bad: float) -> None:
    tl = otio.schema.Timeline(name="zero", global_start_time=otio.opentime.RationalTime(0, bad))
    with pytest.raises(InputError, match="frame rate"):
        timeline_rate(tl)


def test_no_rate_at_all_is_an_input_error() -> None:
    with pytest.raises(InputError, match="no frame rate"):
        timeline_rate(otio.schema.Timeline(name="blank"), path="blank.otio")


def test_rate_from_first_clip_when_no_start_time() -> None:
    tl = make_timeline(25.0)
    tl.global_start_time = None
    assert timeline_rate(tl) == 25.0
    assert timeline_start_frames(tl) == 0


@pytest.mark.parametrize("key", list(RATES))
def test_hour_timecodes(key: str) -> None:
    rate = RATES[key]
    drop = key.endswith("DF")
    hour = "01:00:00;00" if drop else "01:00:00:00"
    assert timecode_to_frames(hour, rate) == HOUR_FRAMES[key]
    assert format_timecode(HOUR_FRAMES[key], rate) == hour
    tl = make_timeline(rate, HOUR_FRAMES[key])
    assert timeline_start_frames(tl) == HOUR_FRAMES[key]
    assert timeline_rate(tl) == rate


def test_long_start_timecode_at_23976_does_not_drift() -> None:
    tl = make_timeline(23.976, 1987200)  # 23:00:00:00 written with the rounded rate
    assert timeline_rate(tl) == 24000 / 1001
    assert timeline_start_frames(tl) == 1987200


def test_format_timecode_drop_frame_choice() -> None:
    assert format_timecode(107892, 30000 / 1001, drop_frame=True) == "01:00:00;00"
    assert format_timecode(108000, 29.97, drop_frame=False) == "01:00:00:00"
    assert format_timecode(86400, 23.976) == "01:00:00:00"


def test_start_time_in_seconds_is_not_the_rate() -> None:
    tl = make_timeline(25.0)
    tl.global_start_time = otio.opentime.RationalTime(3600, 1)  # 01:00:00:00 kept in seconds
    assert timeline_rate(tl) == 25.0
    assert timeline_start_frames(tl) == 90000
