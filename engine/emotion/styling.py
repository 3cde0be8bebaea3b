"""A label's prosody target applied to a fitted line: pitch level and range, voice quality, breath.

:func:`style_speech` moves the voice's own reading toward a
:class:`~revoice.engine.emotion.labels.ProsodyTarget` without changing its
length (so the fit and the onset stay exact to the sample):

* pitch: every voiced frame becomes ``median * 2**(shift/12) * (f0/median)**range``
  (TD-PSOLA, Praat's Manipulation; formants stay where they are);
* tilt: a smooth shelf around 1 kHz, ``tilt_db`` above it relative to below;
* breathiness: that share of the voiced excitation is replaced by noise
  through the same vocal-tract filter (LPC, 25 ms frames), so a whisper keeps
  its words and loses its pitch.

The label's energy goes to the loudness stage (:attr:`ProsodyTarget.energy_db`
added to the line's loudness target) and its rate and pauses to the fitter
where the line's length is free; both are the renderer's part.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from revoice.engine.dsp._util import AudioArray, FloatArray, check_rate, mono_f64
from revoice.engine.emotion.labels import ProsodyTarget
from revoice.engine.emotion.prosody import Prosody, analyse, impose_pitch

TILT_CORNER_HZ = 1000.0
"""Centre of the tilt shelf (Hz)."""
_LPC_ORDER = 18
_LPC_FRAME_SECONDS = 0.025


@dataclass(frozen=True)
class StyledSpeech:
    """The styled line and the pitch it measurably has now, against the voice's neutral reading."""

    audio: AudioArray
    f0_shift_semitones: float | None
    """Measured median-pitch change (semitones); None when too little is voiced to measure."""
    f0_range_factor: float | None
    """Measured pitch-spread factor (10th-90th percentile range, after / before)."""


def style_speech(speech: FloatArray, sample_rate: int, target: ProsodyTarget, *, seed: int = 0) -> StyledSpeech:
    """``speech`` (mono, ``sample_rate`` Hz) moved toward ``target``; same length, float32.

    ``seed`` drives the breath noise (a whisper of the same line and seed is
    the same samples).
    """
    sr = check_rate(sample_rate)
    x = mono_f64(speech, "speech")
    before = analyse(x, sr)
    y = x
    if abs(target.f0_shift_semitones) > 1e-6 or abs(target.f0_range_factor - 1.0) > 1e-6:
        y = _psola(y, sr, before, target.f0_shift_semitones, target.f0_range_factor)
    if abs(target.tilt_db) > 1e-6:
        y = tilt(y, sr, target.tilt_db)
    if target.breathiness > 0.0:
        y = breathe(y, sr, target.breathiness, seed=seed)
    after = analyse(y, sr)
    shift, spread = _measured_change(before, after)
    return StyledSpeech(y.astype(np.float32), shift, spread)


def _measured_change(before: Prosody, after: Prosody) -> tuple[float | None, float | None]:
    if before.voiced.sum() < 5:
        return None, None
    if after.voiced.sum() < max(5, 0.3 * before.voiced.sum()):
        return None, 0.0  # whispered: what the tracker still calls voiced is breath, not pitch
    shift = round(after.median_semitones() - before.median_semitones(), 2)
    width = before.range_semitones()
    spread = round(after.range_semitones() / width, 3) if width > 0 else None
    return shift, spread


def _psola(x: npt.NDArray[np.float64], sample_rate: int, before: Prosody, shift: float,
           spread: float) -> npt.NDArray[np.float64]:
    """Every voiced frame to ``median + shift + spread * (f0 - median)`` semitones (PSOLA)."""
    if before.voiced.sum() < 3:
        return x
    median = before.median_semitones()
    return impose_pitch(x, sample_rate, median + shift + spread * (before.semitones() - median))


def tilt(audio: FloatArray, sample_rate: int, tilt_db: float) -> npt.NDArray[np.float64]:
    """``audio`` with ``tilt_db`` more level above :data:`TILT_CORNER_HZ` than below (a smooth shelf).

    Half of the change lowers one side and half raises the other, so the
    overall level moves little; the loudness stage sets it anyway.
    """
    sr = check_rate(sample_rate)
    x = mono_f64(audio)
    if x.size == 0:
        return x
    n = 1 << int(math.ceil(math.log2(max(x.size, 2))))
    freqs = np.fft.rfftfreq(n, 1.0 / sr)
    octaves = np.log2(np.maximum(freqs, 1.0) / TILT_CORNER_HZ)
    gain_db = tilt_db * (np.tanh(octaves) / 2.0)  # -tilt/2 far below, +tilt/2 far above, one octave wide
    spectrum = np.fft.rfft(x, n) * 10.0 ** (gain_db / 20.0)
    return np.asarray(np.fft.irfft(spectrum, n)[: x.size], dtype=np.float64)


def breathe(audio: FloatArray, sample_rate: int, amount: float, *, seed: int = 0) -> npt.NDArray[np.float64]:
    """``audio`` with ``amount`` (0-1) of its excitation replaced by noise of the same level (LPC, overlap-add)."""
    from scipy.linalg import solve_toeplitz
    from scipy.signal import lfilter

    sr = check_rate(sample_rate)
    x = mono_f64(audio)
    amount = min(max(float(amount), 0.0), 1.0)
    frame = max(64, int(_LPC_FRAME_SECONDS * sr))
    hop = frame // 2
    if x.size < frame or amount <= 0.0:
        return x
    window = np.hanning(frame + 1)[:-1]  # periodic Hann: overlap-adds to 1 at half-frame hops
    rng = np.random.default_rng(seed)
    out = np.zeros(x.size + frame)
    padded = np.pad(x, (0, frame))
    for start in range(0, x.size, hop):
        piece = padded[start : start + frame] * window
        energy = float(np.dot(piece, piece))
        if energy < 1e-12:
            continue
        r = np.correlate(piece, piece, mode="full")[frame - 1 : frame + _LPC_ORDER]
        r[0] *= 1.0 + 1e-6
        try:
            a = solve_toeplitz(r[:-1], -r[1:])
        except np.linalg.LinAlgError:
            out[start : start + frame] += piece
            continue
        coefficients = np.concatenate([[1.0], a])
        residual = lfilter(coefficients, [1.0], piece)
        noise = rng.standard_normal(frame) * window
        noise *= math.sqrt(float(np.dot(residual, residual)) / max(float(np.dot(noise, noise)), 1e-20))
        excitation = (1.0 - amount) * residual + math.sqrt(amount * (2.0 - amount)) * noise
        shaped = lfilter([1.0], coefficients, excitation)
        if not np.all(np.isfinite(shaped)) or np.max(np.abs(shaped)) > 8.0 * (np.max(np.abs(piece)) + 1e-9):
            shaped = piece  # an unstable frame filter: keep the frame as it was
        out[start : start + frame] += shaped
    return np.asarray(out[: x.size], dtype=np.float64)
