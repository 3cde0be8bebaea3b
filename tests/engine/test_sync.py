"""Speech-span detection (WebRTC VAD + edge refinement) on real human and piper speech, and span planning.

Real voices are placed at known offsets in silence, in -50 dBFS pink noise
and in -35 dBFS room tone; the truth is the clean file's own first / last
sample above a threshold (see :func:`true_edges`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
import soundfile as sf
from revoice.engine.dsp.resample import resample
from revoice.engine.model import DialogueLine, FrameRange
from revoice.engine.sync import SpeechSpan, detect_speech_span, extend_into_gaps, plan_span
from scipy.signal import butter, sosfiltfilt

if TYPE_CHECKING:
    from revoice.engine.voices.piper_voice import PiperBackend

SR = 48000
PEAK_DBFS = -3.0
EDGE_DB = -26.0
"""Truth threshold: sample peaks 26 dB under the clean file's peak (above its breaths and mic noise)."""
AUDIBLE_DB = 12.0
"""In noise the truth threshold is raised to noise RMS + 12 dB (about the noise's own peaks)."""
BAND_DB = 3.0
"""A fading edge is only known to within what a +-3 dB change of threshold moves it."""
ONSET_TOL_MS = 15.0
OFFSET_TOL_MS = 40.0

# name, noise RMS in dBFS (None: digital silence), spectral slope (1 = pink)
CONDITIONS = [("silence", None, 0.0), ("pink-50", -50.0, 1.0), ("room-35", -35.0, 1.3)]
OFFSETS_S = [0.25, 0.7, 1.33]
VOICES = ["en_nature_ref.wav", "en_story_main.flac", "en_story_town.flac", "zh_taiyi_ref.wav"]


def coloured_noise(samples: int, sample_rate: int, slope: float, rms_dbfs: float, seed: int) -> np.ndarray:
    """Gaussian noise with a 1/f**slope power spectrum above 20 Hz, at ``rms_dbfs`` RMS."""
    rng = np.random.default_rng(seed)
    spectrum = np.fft.rfft(rng.standard_normal(samples))
    freqs = np.fft.rfftfreq(samples, 1.0 / sample_rate)
    shape = np.where(freqs >= 20.0, np.maximum(freqs, 20.0) ** (-slope / 2.0), 0.0)
    noise = np.fft.irfft(spectrum * shape, samples)
    return noise / np.sqrt(np.mean(noise**2)) * 10.0 ** (rms_dbfs / 20.0)


def true_edges(clean: np.ndarray, sample_rate: int, noise_dbfs: float | None, shift_db: float = 0.0) -> tuple[int, int]:
    """First and last+1 sample of ``clean`` (50 Hz high-passed: mic rumble is not speech) above the threshold.

    Threshold: ``EDGE_DB`` under the peak, or ``AUDIBLE_DB`` over the noise
    RMS when that is higher (speech under the noise is not recoverable);
    ``shift_db`` moves it.
    """
    speech = sosfiltfilt(butter(4, 50.0, "highpass", fs=sample_rate, output="sos"), clean.astype(np.float64))
    threshold = np.max(np.abs(speech)) * 10.0 ** ((EDGE_DB + shift_db) / 20.0)
    if noise_dbfs is not None:
        threshold = max(threshold, 10.0 ** ((noise_dbfs + AUDIBLE_DB + shift_db) / 20.0))
    loud = np.flatnonzero(np.abs(speech) >= threshold)
    return int(loud[0]), int(loud[-1]) + 1


def edge_error_ms(found: int, clean: np.ndarray, sample_rate: int, noise_dbfs: float | None,
                  place: int, edge: int) -> tuple[float, float]:
    """(error against the nominal truth, distance to the truth band) in ms; ``edge`` 0 = onset, 1 = offset."""
    nominal = true_edges(clean, sample_rate, noise_dbfs)[edge] + place
    band = [true_edges(clean, sample_rate, noise_dbfs, d)[edge] + place for d in (-BAND_DB, 0.0, BAND_DB)]
    low, high = min(band), max(band)
    outside = 0 if low <= found <= high else min(abs(found - low), abs(found - high))
    return (found - nominal) / sample_rate * 1000.0, outside / sample_rate * 1000.0


def place(clean: np.ndarray, sample_rate: int, offset_s: float, tail_s: float, condition: tuple[str, float | None, float],
          seed: int) -> tuple[np.ndarray, int]:
    """``clean`` at ``offset_s`` inside a longer buffer of silence or noise; (buffer, sample where it starts)."""
    _, noise_dbfs, slope = condition
    start = int(round(offset_s * sample_rate))
    total = start + len(clean) + int(round(tail_s * sample_rate))
    buffer = np.zeros(total)
    if noise_dbfs is not None:
        buffer += coloured_noise(total, sample_rate, slope, noise_dbfs, seed)
    buffer[start : start + len(clean)] += clean
    return buffer.astype(np.float32), start


def at_peak(audio: np.ndarray, from_rate: int, to_rate: int = SR, peak_dbfs: float = PEAK_DBFS) -> np.ndarray:
    x = resample(audio, from_rate, to_rate).astype(np.float64)
    return x * (10.0 ** (peak_dbfs / 20.0) / np.max(np.abs(x)))


@pytest.fixture(scope="module")
def voices(shared_corpus: Path) -> dict[str, np.ndarray]:
    """The corpus voices at 48 kHz, peak -3 dBFS."""
    loaded = {}
    for name in VOICES:
        data, rate = sf.read(shared_corpus / "voices" / name, dtype="float32", always_2d=True)
        loaded[name] = at_peak(data.mean(axis=1), rate)
    return loaded


@pytest.mark.parametrize("condition", CONDITIONS, ids=[c[0] for c in CONDITIONS])
@pytest.mark.parametrize("offset_s", OFFSETS_S)
@pytest.mark.parametrize("voice", VOICES)
def test_real_voices_edges(voices: dict[str, np.ndarray], voice: str, offset_s: float,
                           condition: tuple[str, float | None, float]) -> None:
    clean = voices[voice]
    buffer, start = place(clean, SR, offset_s, 0.6, condition, seed=VOICES.index(voice) * 100 + int(offset_s * 100))
    span = detect_speech_span(buffer, SR)
    assert span is not None
    onset_err, onset_out = edge_error_ms(span.onset, clean, SR, condition[1], start, 0)
    offset_err, offset_out = edge_error_ms(span.offset, clean, SR, condition[1], start, 1)
    note = f"onset {onset_err:+.1f} ms, offset {offset_err:+.1f} ms vs nominal truth"
    assert onset_out <= ONSET_TOL_MS, note
    assert offset_out <= OFFSET_TOL_MS, note
    if condition[1] is None or condition[1] <= -50:  # quiet background: the nominal truth itself
        assert abs(onset_err) <= ONSET_TOL_MS and abs(offset_err) <= OFFSET_TOL_MS, note


@pytest.mark.parametrize("sample_rate", [44100, 22050, 16000])
def test_other_rates_and_speech_at_the_buffer_edges(voices: dict[str, np.ndarray], sample_rate: int) -> None:
    clean = at_peak(voices["en_nature_ref.wav"], SR, sample_rate)
    for offset_s, tail_s in ((0.0, 0.5), (0.5, 0.0)):
        buffer, start = place(clean, sample_rate, offset_s, tail_s, CONDITIONS[1], seed=sample_rate)
        span = detect_speech_span(buffer, sample_rate)
        assert span is not None and span.offset <= len(buffer)
        onset_err, _ = edge_error_ms(span.onset, clean, sample_rate, -50.0, start, 0)
        offset_err, _ = edge_error_ms(span.offset, clean, sample_rate, -50.0, start, 1)
        assert abs(onset_err) <= ONSET_TOL_MS and abs(offset_err) <= OFFSET_TOL_MS, (onset_err, offset_err)


def test_quiet_take_is_still_found(voices: dict[str, np.ndarray]) -> None:
    """Peak -12 dBFS in -50 dBFS noise: the VAD input is raised, the edges stay put."""
    clean = at_peak(voices["zh_taiyi_ref.wav"], SR, SR, -12.0)
    buffer, start = place(clean, SR, 0.8, 0.8, CONDITIONS[1], seed=5)
    span = detect_speech_span(buffer, SR)
    assert span is not None
    assert abs(edge_error_ms(span.onset, clean, SR, -50.0, start, 0)[0]) <= ONSET_TOL_MS
    assert abs(edge_error_ms(span.offset, clean, SR, -50.0, start, 1)[0]) <= OFFSET_TOL_MS


@pytest.mark.slow
@pytest.mark.parametrize("condition", CONDITIONS, ids=[c[0] for c in CONDITIONS])
def test_piper_speech_edges(piper_backend: PiperBackend, condition: tuple[str, float | None, float]) -> None:
    from revoice.engine.voices.base import SynthesisRequest

    texts = ["Well, I told you already.", "Hold on. Let me think about this for a second.",
             "She left before dawn; nobody saw her go.", "Get in the car. Now!"]
    for index, text in enumerate(texts):
        synthesis = piper_backend.synthesize(SynthesisRequest(text=text, voice_id="joe", seed=1))
        clean = at_peak(synthesis.audio, synthesis.sample_rate)
        for offset_s in (0.2, 1.1):
            buffer, start = place(clean, SR, offset_s, 0.5, condition, seed=index * 10 + int(offset_s * 10))
            span = detect_speech_span(buffer, SR)
            assert span is not None, text
            onset_err, onset_out = edge_error_ms(span.onset, clean, SR, condition[1], start, 0)
            offset_err, offset_out = edge_error_ms(span.offset, clean, SR, condition[1], start, 1)
            note = f"{text!r} at {offset_s} s: onset {onset_err:+.1f} ms, offset {offset_err:+.1f} ms"
            assert onset_out <= ONSET_TOL_MS and offset_out <= OFFSET_TOL_MS, note


def test_silence_is_no_speech() -> None:
    assert detect_speech_span(np.zeros(3 * SR, dtype=np.float32), SR) is None
    assert detect_speech_span(np.zeros(0, dtype=np.float32), SR) is None
    assert detect_speech_span(np.full(100, 0.1, dtype=np.float32), SR) is None  # shorter than a VAD frame


def test_a_click_is_no_speech() -> None:
    click = np.zeros(3 * SR, dtype=np.float32)
    click[SR] = 0.9
    click[SR + 1] = -0.6
    assert detect_speech_span(click, SR) is None
    burst = np.zeros(3 * SR, dtype=np.float32)
    burst[SR : SR + 240] = 0.5 * np.sin(2 * np.pi * 1000 * np.arange(240) / SR)  # 5 ms tone blip
    assert detect_speech_span(burst, SR) is None


@pytest.mark.parametrize("condition", CONDITIONS[1:], ids=[c[0] for c in CONDITIONS[1:]])
def test_noise_alone_is_no_speech(condition: tuple[str, float | None, float]) -> None:
    _, noise_dbfs, slope = condition
    assert noise_dbfs is not None
    noise = coloured_noise(5 * SR, SR, slope, noise_dbfs, seed=11)
    assert detect_speech_span(noise.astype(np.float32), SR) is None
    noise[2 * SR] += 0.8  # a click in the room tone
    assert detect_speech_span(noise.astype(np.float32), SR) is None
    noise[3 * SR : 3 * SR + 480] += 0.3 * np.random.default_rng(1).standard_normal(480)  # a 10 ms knock
    assert detect_speech_span(noise.astype(np.float32), SR) is None


def test_click_and_knock_before_the_line_do_not_move_it(voices: dict[str, np.ndarray]) -> None:
    clean = voices["en_story_main.flac"]
    buffer, start = place(clean, SR, 1.2, 0.5, CONDITIONS[1], seed=3)
    buffer[int(0.3 * SR)] += 0.8  # click
    knock = int(0.6 * SR)
    buffer[knock : knock + 480] += 0.3 * np.random.default_rng(3).standard_normal(480).astype(np.float32)
    span = detect_speech_span(buffer, SR)
    assert span is not None
    assert abs(edge_error_ms(span.onset, clean, SR, -50.0, start, 0)[0]) <= ONSET_TOL_MS


def test_bad_arguments() -> None:
    audio = np.zeros(SR, dtype=np.float32)
    with pytest.raises(ValueError, match="aggressiveness"):
        detect_speech_span(audio, SR, aggressiveness=4)
    with pytest.raises(ValueError, match="frame_ms"):
        detect_speech_span(audio, SR, frame_ms=15)
    with pytest.raises(ValueError, match="sample_rate"):
        detect_speech_span(audio, 0)
    with pytest.raises(ValueError, match="onset"):
        SpeechSpan(10, 10)


def test_plan_span() -> None:
    assert plan_span(48000, original=SpeechSpan(4800, 40800), lead_in_samples=2400) == (4800, 36000)
    assert plan_span(48000, original=None, lead_in_samples=2400) == (2400, None)
    assert plan_span(48000, original=None, lead_in_samples=96000) == (47999, None)  # clamped into the slot
    assert plan_span(48000, original=SpeechSpan(24000, 60000), lead_in_samples=0) == (24000, 24000)
    assert SpeechSpan(100, 350).samples == 250
    with pytest.raises(ValueError):
        plan_span(0, original=None, lead_in_samples=0)


def _line(line_id: str, start: int, duration: int, rate: float = 24.0) -> DialogueLine:
    return DialogueLine(line_id=line_id, text="Hello.", speaker="A", language="en",
                        record=FrameRange(start, duration, rate))


@pytest.mark.parametrize("rate", [23.976, 25.0, 60.0])
def test_extend_into_gaps_stops_before_the_next_line(rate: float) -> None:
    fps = rate
    lines = [_line("1", 0, int(2 * fps), rate), _line("2", int(3 * fps), int(fps), rate),
             _line("3", int(4.1 * fps), int(fps), rate)]
    grown = extend_into_gaps(lines, max_seconds=2.0, keep_gap_seconds=0.25)
    assert [line.line_id for line in grown] == ["1", "2", "3"]
    first, second, third = grown
    # Line 1: the gap to line 2 is 1 s; it may take all but 0.25 s of it, in whole frames.
    assert first.record.start == 0
    assert first.record.end <= lines[1].record.start - 0.25 * fps + 1e-6
    assert first.record.end > lines[1].record.start - 0.25 * fps - 1
    # Line 2 ends 0.1 s before line 3 starts: less than the gap to keep, so no growth.
    assert second.record == lines[1].record and second.metadata["overflow_frames"] == 0
    # The last line has nothing after it: it grows by the full allowance.
    assert third.record.duration == lines[2].record.duration + int(2.0 * fps)
    assert first.metadata["overflow_frames"] == first.record.duration - lines[0].record.duration
    for a, b in zip(grown, grown[1:]):
        assert a.record.end <= b.record.start


def test_extend_into_gaps_keeps_the_input_and_refuses_negative_limits() -> None:
    lines = [_line("1", 0, 24), _line("2", 100, 24)]
    extend_into_gaps(lines, max_seconds=1.0)
    assert lines[0].record.duration == 24 and "overflow_frames" not in lines[0].metadata
    assert extend_into_gaps(lines, max_seconds=0.0)[0].record.duration == 24
    with pytest.raises(ValueError, match="overflow"):
        extend_into_gaps(lines, max_seconds=-1.0)
