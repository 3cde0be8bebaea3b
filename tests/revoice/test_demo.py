"""The embedded demo: a real scene (Endgame, Nagg and Nell) whose lines sit on the actors' speech."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import numpy as np
import opentimelineio as otio
import pytest
import soundfile as sf
from revoice.engine.model import DialogueLine
from revoice.otio_bridge.lines import extract_lines
from revoice.otio_bridge.timeline import read_timeline

import revoice.demo as demo


@pytest.fixture(scope="module")
def endgame_wav() -> Path:
    audio, reason = demo.endgame_audio()
    if audio is None:
        pytest.skip(str(reason))
    return audio


def endgame_lines(work_dir: Path) -> list[DialogueLine]:
    files = demo.demo_files(work_dir)
    assert files.warning is None
    lines, skipped, _ = extract_lines(read_timeline(files.timeline), subtitle_path=files.subtitles,
                                      timeline_path=files.timeline)
    assert skipped == []
    return lines


def source_audio(line: DialogueLine) -> tuple[np.ndarray, int]:
    """The original audio under ``line`` (its one source), float64 mono."""
    (source,) = line.sources
    assert source.media_path is not None
    info = sf.info(str(source.media_path))
    start = int(round(source.source_start_seconds * info.samplerate))
    stop = start + int(round(source.duration_seconds * info.samplerate))
    audio, rate = sf.read(str(source.media_path), start=start, stop=stop, dtype="float64")
    return audio, rate


def rms_db(x: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(x ** 2) + 1e-18))


def median_f0(x: np.ndarray, rate: int) -> float:
    """Median pitch of the voiced 40 ms frames (FFT autocorrelation, 70-400 Hz)."""
    n, hop = int(0.04 * rate), int(0.01 * rate)
    frames = np.lib.stride_tricks.sliding_window_view(x, n)[::hop]
    frames = frames[10 * np.log10(np.mean(frames ** 2, axis=1) + 1e-18) > -35]
    frames = (frames - frames.mean(axis=1, keepdims=True)) * np.hanning(n)
    spec = np.fft.rfft(frames, 2 * n, axis=1)
    ac = np.fft.irfft(np.abs(spec) ** 2, axis=1)[:, :n]
    ac /= ac[:, :1] + 1e-18
    lo, hi = rate // 400, rate // 70
    lag = lo + np.argmax(ac[:, lo:hi], axis=1)
    voiced = ac[np.arange(len(ac)), lag] > 0.5
    return float(np.median(rate / lag[voiced]))


def test_timeline_reads_back_at_23976_from_one_hour_over_the_recording(tmp_path: Path, endgame_wav: Path) -> None:
    files = demo.demo_files(tmp_path)
    assert files.warning is None and files.timeline == tmp_path / "demo.otio"
    assert files.subtitles.name == "demo.srt" and files.subtitles.is_file()
    timeline = read_timeline(files.timeline)
    assert timeline.global_start_time.to_timecode() == "01:00:00:00"
    assert timeline.global_start_time.rate == pytest.approx(24000 / 1001)
    (picture,) = timeline.video_tracks()
    assert picture[0].name == "Endgame - picture"
    (dialogue,) = timeline.audio_tracks()
    assert dialogue.name == "A1 Dialogue" and len(dialogue) == 1
    clip = dialogue[0]
    url = clip.media_reference.target_url
    assert Path(otio.url_utils.filepath_from_url(url)) == endgame_wav
    info = sf.info(str(endgame_wav))
    available = clip.media_reference.available_range
    frames = available.duration.value
    assert available.start_time.value == 0 and available.duration.rate == pytest.approx(24000 / 1001)
    # whole frames covering the file: no more than one frame past its end
    assert 0 <= frames / available.duration.rate - info.duration < 1 / available.duration.rate
    assert clip.source_range == available and timeline.duration().value == frames
    assert len(timeline.tracks.markers) == 1


def test_timeline_is_rewritten_only_when_missing_or_different(tmp_path: Path, endgame_wav: Path) -> None:
    timeline, _ = demo.demo_files(tmp_path)
    text, stamp = timeline.read_text(), timeline.stat().st_mtime_ns
    demo.demo_files(tmp_path)
    assert timeline.stat().st_mtime_ns == stamp
    timeline.write_text("stale")
    demo.demo_files(tmp_path)
    assert timeline.read_text() == text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo.otio"]


def test_lines_of_two_actors_with_their_original_audio(tmp_path: Path, endgame_wav: Path) -> None:
    lines = endgame_lines(tmp_path)
    assert 10 <= len(lines) <= 16
    assert {line.speaker for line in lines} == {"NAGG", "NELL"}
    assert [line.speaker for line in lines[:2]] == ["NAGG", "NELL"]
    assert (lines[0].text, lines[1].text) == ("Do you hear me?", "Yes.")
    assert lines[0].record.start == 0
    for line in lines:
        (source,) = line.sources
        assert source.media_path == endgame_wav and source.track_name == "A1 Dialogue"
        assert source.duration_seconds == pytest.approx(line.record.duration_seconds)
    for before, after in zip(lines, lines[1:]):
        assert before.record.end <= after.record.start


def test_each_cue_holds_one_whole_utterance(tmp_path: Path, endgame_wav: Path) -> None:
    """Loud speech under every cue; quiet edges (the slack), so no speech is cut off.

    The last line is the exception at its end: the recording stops mid-"No".
    """
    lines = endgame_lines(tmp_path)
    for index, line in enumerate(lines):
        audio, rate = source_audio(line)
        edge = int(0.1 * rate)
        level = rms_db(audio)
        assert level > -25, line.line_id
        assert rms_db(audio[:edge]) < level - 30, line.line_id
        if index < len(lines) - 1:
            assert rms_db(audio[-edge:]) < level - 30, line.line_id


def test_speakers_match_the_voices(tmp_path: Path, endgame_wav: Path) -> None:
    """Nagg is the low voice, Nell the high one, on every line."""
    for line in endgame_lines(tmp_path):
        f0 = median_f0(*source_audio(line))
        if line.speaker == "NAGG":
            assert 80 < f0 < 150, (line.line_id, f0)
        else:
            assert 155 < f0 < 260, (line.line_id, f0)


def test_without_moonshine_voice_the_made_up_scene_is_used_and_said(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(name: str) -> importlib.metadata.Distribution:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "distribution", missing)
    files = demo.demo_files(tmp_path)
    assert files.warning is not None and "moonshine-voice is not installed" in files.warning
    timeline_path, subtitles = files
    assert timeline_path == tmp_path / "demo_fallback.otio" and subtitles.name == "demo_fallback.srt"
    timeline = read_timeline(timeline_path)
    assert timeline.global_start_time.to_timecode() == "01:00:00:00"
    lines, skipped, warnings = extract_lines(timeline, subtitle_path=subtitles, timeline_path=timeline_path)
    assert skipped == [] and len(lines) == 6
    assert {line.speaker for line in lines} == {"MARA", "JONAH"}
    assert all(source.media_path is None for line in lines for source in line.sources)
    assert any("media not found" in warning for warning in warnings)
