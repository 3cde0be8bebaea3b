"""The ``revoice`` command end to end: real timelines, real subtitles, the real voice."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import opentimelineio as otio
import pytest
import soundfile as sf

from revoice.cli import EXIT_BAD_INPUT, EXIT_OK, main
from revoice.demo import demo_files

DATA = Path(__file__).parents[1] / "data"
BAD_SUBTITLES = ["invalid_format1.srt", "invalid_format2.srt", "invalid_format3.srt", "invalid_format4.srt",
                 "invalid_timeframe.srt", "missing_caption_text.srt", "missing_timeframe.srt", "empty.vtt"]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def revoice_tracks(path: Path) -> dict[str, list[tuple[float, float, otio.schema.Clip]]]:
    """Per "Revoice - ..." track: (record start, duration, clip) in timeline frames."""
    timeline = otio.adapters.read_from_file(str(path))
    return {track.name: [(item.range_in_parent().start_time.value, item.duration().value, item)
                         for item in track if isinstance(item, otio.schema.Clip)]
            for track in timeline.audio_tracks() if track.name.startswith("Revoice - ")}


def check_clips_match_wavs(out: Path, sample_rate: int = 48000) -> None:
    for clips in revoice_tracks(out).values():
        for _, _, clip in clips:
            wav = Path(otio.url_utils.filepath_from_url(clip.media_reference.target_url))
            if not wav.is_absolute():
                wav = out.parent / wav
            frames = clip.duration().value
            assert sf.info(str(wav)).frames == round(frames * sample_rate / clip.duration().rate)


@pytest.mark.parametrize("name", BAD_SUBTITLES)
def test_bad_subtitles_give_one_clear_line_and_touch_nothing(
        shared_corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str) -> None:
    subs = shared_corpus / "subtitles" / name
    timeline = shared_corpus / "timelines" / "premiere_example.xml"
    before = digest(subs), digest(timeline)
    code = main(["run", str(timeline), "--subs", str(subs), "--out", str(tmp_path / "out.otio")])
    err = capsys.readouterr().err.strip()
    assert code == EXIT_BAD_INPUT
    assert len(err.splitlines()) == 1 and name in err and "Traceback" not in err
    assert (digest(subs), digest(timeline)) == before
    assert not (tmp_path / "out.otio").exists()


def test_timecode_mismatch_edl_is_refused(shared_corpus: Path, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    edl = shared_corpus / "timelines" / "timecode_mismatch.edl"
    before = digest(edl)
    code = main(["run", str(edl), "--subs", str(DATA / "premiere_example.srt"), "--out", str(tmp_path / "o.otio")])
    err = capsys.readouterr().err.strip()
    assert code == EXIT_BAD_INPUT and "timecode_mismatch.edl" in err and len(err.splitlines()) == 1
    assert digest(edl) == before


def test_output_may_not_overwrite_an_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    timeline, subs = demo_files()
    copy = tmp_path / "cut.otio"
    copy.write_bytes(timeline.read_bytes())
    code = main(["run", str(copy), "--subs", str(subs), "--out", str(copy)])
    assert code == EXIT_BAD_INPUT and "overwritten" in capsys.readouterr().err
    assert copy.read_bytes() == timeline.read_bytes()


@pytest.mark.slow
def test_premiere_fcp7_xml_with_subtitles(shared_corpus: Path, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    timeline = shared_corpus / "timelines" / "premiere_example.xml"
    subs = DATA / "premiere_example.srt"
    before = digest(timeline), digest(subs)
    out = tmp_path / "premiere_revoiced.otio"
    code = main(["run", str(timeline), "--subs", str(subs), "--out", str(out), "--loudness", "netflix",
                 "--json", "--quiet"])
    summary = json.loads(capsys.readouterr().out)
    assert code == EXIT_OK
    assert (digest(timeline), digest(subs)) == before
    tracks = revoice_tracks(out)
    assert sorted(tracks) == ["Revoice - ANNA", "Revoice - BEN"]
    # record ranges at 30 fps from the SRT times, to the frame
    starts = sorted((start, length) for clips in tracks.values() for start, length, _ in clips)
    assert starts == [(36, 84), (150, 75), (270, 108), (600, 60)]
    check_clips_match_wavs(out)
    assert [line["loudness_lufs"] for line in summary["lines"]] == pytest.approx([-27.0] * 4, abs=0.5)
    assert all(line["true_peak_dbtp"] <= -2.0 for line in summary["lines"])
    assert summary["failed"] == [] and summary["skipped"] == []


def test_allow_overflow_grows_slots_into_free_gaps(shared_corpus: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    timeline = shared_corpus / "timelines" / "premiere_example.xml"
    out = tmp_path / "overflow.otio"
    code = main(["run", str(timeline), "--subs", str(DATA / "premiere_example.srt"), "--out", str(out),
                 "--allow-overflow", "2", "--json", "--quiet"])
    capsys.readouterr()
    assert code == EXIT_OK
    clips = sorted((start, length, clip) for clips in revoice_tracks(out).values() for start, length, clip in clips)
    # 30 fps cues (36,84) (150,75) (270,108) (600,60): each grows to 0.25 s (7.5 frames) before the
    # next cue, by at most 2 s (60 frames); the last one has nothing after it.
    assert [(start, length) for start, length, _ in clips] == [(36, 106), (150, 112), (270, 168), (600, 120)]
    assert [clip.metadata["revoice"]["overflow_frames"] for _, _, clip in clips] == [22, 37, 60, 60]
    check_clips_match_wavs(out)
    code = main(["run", str(timeline), "--subs", str(DATA / "premiere_example.srt"), "--out", str(out),
                 "--allow-overflow", "-1", "--quiet"])
    assert code == EXIT_BAD_INPUT
    assert "--allow-overflow" in capsys.readouterr().err


@pytest.mark.slow
def test_demo_at_23976_from_one_hour_with_bundle_and_fcp_xml(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "demo.otio"
    assert main(["demo", "--out", str(out), "--also", "otioz", "--also", "xml", "--quiet",
                 "--profiles", "off"]) == EXIT_OK  # voice profiles: tests/revoice/test_voice_cli.py
    table = capsys.readouterr().out
    assert "01:00:00:00" in table and "14 rendered" in table
    timeline = otio.adapters.read_from_file(str(out))
    assert timeline.global_start_time.to_timecode() == "01:00:00:00"
    tracks = revoice_tracks(out)
    assert sorted(tracks) == ["Revoice - NAGG", "Revoice - NELL"]
    assert min(start for clips in tracks.values() for start, _, _ in clips) == 0
    check_clips_match_wavs(out)
    bundle = otio.adapters.read_from_file(str(tmp_path / "demo.otioz"))
    assert len(bundle.audio_tracks()) == len(timeline.audio_tracks())
    xml = otio.adapters.read_from_file(str(tmp_path / "demo.xml"))
    assert len(xml.audio_tracks()) == len(timeline.audio_tracks())
    # a second run reuses every finished line
    assert main(["demo", "--out", str(out), "--quiet", "--profiles", "off"]) == EXIT_OK
    assert "14 rendered (14 reused)" in capsys.readouterr().out


def test_voices_lists_the_default_backend(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["voices", "--json"]) == EXIT_OK
    rows = json.loads(capsys.readouterr().out)
    piper = next(row for row in rows if row["name"] == "piper")
    assert piper["available"] and piper["licence"] and piper["voices"][0]["voice_id"] == "joe"


@pytest.mark.slow
def test_mixed_mandarin_and_english_lines_route_to_their_voices(shared_corpus: Path, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "mixed.otio"
    code = main(["run", str(shared_corpus / "timelines" / "premiere_example.xml"),
                 "--subs", str(DATA / "premiere_mixed.srt"), "--out", str(out), "--json", "--quiet"])
    assert code == EXIT_OK, capsys.readouterr().err
    backends = {clip.metadata["revoice"]["line_id"]: (clip.metadata["revoice"]["backend"],
                                                      clip.metadata["revoice"]["language"])
                for clips in revoice_tracks(out).values() for _, _, clip in clips}
    assert backends == {"L0001": ("piper", "en"), "L0002": ("kokoro", "zh"), "L0003": ("piper", "en")}
    check_clips_match_wavs(out)


@pytest.mark.slow
def test_progress_counts_over_the_whole_run_not_per_language(shared_corpus: Path, tmp_path: Path) -> None:
    from revoice.job import JobOptions, run_job

    events: list[tuple[int, int]] = []
    options = JobOptions(timeline=shared_corpus / "timelines" / "premiere_example.xml",
                         subtitles=DATA / "premiere_mixed.srt", out=tmp_path / "mixed.otio", profiles="off")
    outcome = run_job(options, progress=lambda done, total, label: events.append((done, total)))
    assert not outcome.failed
    counted = [e for e in events if e[1] == 3]
    assert counted and all(total == 3 for _, total in events)  # English and Mandarin lines: one count
    assert [done for done, _ in counted] == sorted(done for done, _ in counted) and counted[-1][0] == 3
