"""Rendering lines to slot-exact, loudness-normalized BWFs with the real offline voice."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from reference_meter import ebur128_loudness_and_true_peak
from revoice.engine.dsp.bwf import read_bwf_time_reference
from revoice.engine.fit import FitPolicy
from revoice.engine.model import DialogueLine, FrameRange, SourceAudio
from revoice.engine.render import RenderSettings, Revoicer
from revoice.engine.voices.piper_voice import PiperBackend

pytestmark = pytest.mark.slow

TEXT = "Give me the keys. I'll open it myself."


def make_line(rate: float, start: int, frames: int, *, tc_start: int = 0, line_id: str = "L0001",
              text: str = TEXT, sources: tuple[SourceAudio, ...] = ()) -> DialogueLine:
    return DialogueLine(line_id=line_id, text=text, speaker="MARA", language="en",
                        record=FrameRange(start, frames, rate), timecode_start_frames=tc_start,
                        sources=sources, origin="test")


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("sample_rate", [44100, 48000])
@pytest.mark.parametrize("rate,tc_start", [(24000 / 1001, 86400), (25.0, 90000), (30000 / 1001, 107892),
                                           (60.0, 216000)])
def test_wav_is_exactly_the_slot_with_bext_time_reference(
        piper_backend: PiperBackend, tmp_path: Path, sample_rate: int, rate: float, tc_start: int) -> None:
    frames = int(round(2.6 * rate)) + 1  # shorter than natural speech: the fitter must work
    line = make_line(rate, 37, frames, tc_start=tc_start)
    revoicer = Revoicer(backend=piper_backend, settings=RenderSettings(sample_rate=sample_rate))
    rendered = revoicer.render_line(line, out_dir=tmp_path)
    info = sf.info(str(rendered.path))
    assert info.frames == line.slot_samples(sample_rate) == round(frames * sample_rate / rate)
    assert info.samplerate == sample_rate and info.channels == 1 and info.subtype == "PCM_24"
    assert rendered.report.length_error_samples == 0
    assert read_bwf_time_reference(rendered.path) == round((tc_start + 37) / rate * sample_rate)
    audio, _ = sf.read(str(rendered.path), dtype="float32")
    speech = audio[rendered.speech_start : rendered.speech_end]
    assert np.abs(speech).max() > 0.01, "speech must sit inside the slot"
    assert rendered.speech_end <= info.frames


@pytest.mark.parametrize("preset,target", [("ebu-r128", -23.0), ("atsc-a85", -24.0), ("netflix", -27.0)])
def test_loudness_presets_and_true_peak_ceiling(piper_backend: PiperBackend, tmp_path: Path,
                                                preset: str, target: float) -> None:
    line = make_line(25.0, 0, 100)
    rendered = Revoicer(backend=piper_backend, settings=RenderSettings(loudness=preset)).render_line(
        line, out_dir=tmp_path)
    audio, sr = sf.read(str(rendered.path), dtype="float32")
    lufs, true_peak = ebur128_loudness_and_true_peak(audio[rendered.speech_start : rendered.speech_end], sr)
    assert abs(lufs - target) <= 0.5
    assert true_peak <= -2.0
    assert rendered.report.loudness_lufs == pytest.approx(target, abs=0.5)


def test_match_the_original_line(piper_backend: PiperBackend, tmp_path: Path) -> None:
    sr = 48000
    t = np.arange(int(2.0 * sr)) / sr
    original = (0.02 * np.sin(2 * np.pi * 220 * t) * (1 + np.sin(2 * np.pi * 3 * t))).astype(np.float32)
    media = tmp_path / "boom.wav"
    sf.write(str(media), original, sr)
    original_lufs, _ = ebur128_loudness_and_true_peak(original, sr)
    source = SourceAudio(clip_name="boom", track_name="A1", media_url=str(media), media_path=media,
                         source_start_seconds=0.0, duration_seconds=2.0, offset_in_line_seconds=0.0)
    line = make_line(25.0, 0, 100, sources=(source,))
    rendered = Revoicer(backend=piper_backend, settings=RenderSettings(loudness="match")).render_line(
        line, out_dir=tmp_path / "out")
    audio, _ = sf.read(str(rendered.path), dtype="float32")
    lufs, _ = ebur128_loudness_and_true_peak(audio[rendered.speech_start : rendered.speech_end], sr)
    assert abs(lufs - original_lufs) <= 0.5
    assert rendered.report.loudness_note == "matched to the original line"


def test_same_inputs_and_seed_give_byte_identical_wavs(piper_backend: PiperBackend, tmp_path: Path) -> None:
    line = make_line(24000 / 1001, 10, 60)
    first = Revoicer(backend=piper_backend).render_line(line, out_dir=tmp_path / "a")
    second = Revoicer(backend=piper_backend).render_line(line, out_dir=tmp_path / "b")
    other = Revoicer(backend=piper_backend, settings=RenderSettings(seed=7)).render_line(
        line, out_dir=tmp_path / "c")
    assert digest(first.path) == digest(second.path)
    assert digest(first.path) != digest(other.path)


def test_batch_keeps_going_resumes_and_cancels(piper_backend: PiperBackend, tmp_path: Path) -> None:
    good = [make_line(25.0, i * 100, 90, line_id=f"L000{i + 1}") for i in range(3)]
    impossible = make_line(25.0, 400, 5, line_id="L0009", text="This line is far too long for a five frame slot.")
    revoicer = Revoicer(backend=piper_backend)
    result = revoicer.render([good[0], impossible, good[1]], out_dir=tmp_path)
    assert [r.line_id for r in result.rendered] == ["L0001", "L0002"]
    assert [f.line_id for f in result.failed] == ["L0009"] and "shorten the text" in result.failed[0].reason
    assert not any(p.name.startswith("MARA_L0009") for p in tmp_path.iterdir())
    before = digest(result.rendered[0].path)
    again = revoicer.render(good[:2], out_dir=tmp_path)
    assert again.cached == 2 and digest(again.rendered[0].path) == before
    finished: list[str] = []
    cancelled = revoicer.render(good, out_dir=tmp_path / "cancel",
                                progress=lambda event: finished.append(event.state),
                                should_cancel=lambda: "done" in finished)
    assert cancelled.cancelled and [r.line_id for r in cancelled.rendered] == ["L0001"]
    assert sorted(p.suffix for p in (tmp_path / "cancel").iterdir()) == [".json", ".wav"]


def test_bad_settings_are_refused_up_front(piper_backend: PiperBackend) -> None:
    with pytest.raises(ValueError, match="unknown loudness preset 'loud'"):
        Revoicer(backend=piper_backend, settings=RenderSettings(loudness="loud"))
    with pytest.raises(ValueError, match="voice 'nobody'"):
        Revoicer(backend=piper_backend, settings=RenderSettings(voice_id="nobody"))
    with pytest.raises(ValueError, match="ratio bounds"):
        Revoicer(backend=piper_backend, settings=RenderSettings(fit=FitPolicy(min_ratio=1.2)))
