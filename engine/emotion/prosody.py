"""What a take's performance is made of: pitch contour, energy envelope, spectral tilt, and MFCC alignment.

Every analysis works on float mono audio at an explicit rate (Hz) and returns
frames every :data:`HOP_SECONDS`: frame ``k`` is centred ``k * HOP_SECONDS``
from the start. Pitch comes from Praat's autocorrelation tracker
(parselmouth, a core dependency); the MFCCs and the DTW that aligns two
readings of the same words are plain numpy/scipy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from revoice.engine.dsp._util import FloatArray, check_rate, mono_f64

HOP_SECONDS = 0.01
"""Frame hop of every analysis here (s)."""
F0_FLOOR_HZ = 65.0
F0_CEILING_HZ = 600.0
_ANALYSIS_RATE = 16000
_MFCC_FRAME = 400
"""25 ms at 16 kHz."""
_MEL_BANDS = 40
_MFCC_COUNT = 13

Frames = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Prosody:
    """One take's performance, a frame every :data:`HOP_SECONDS`."""

    f0_hz: Frames
    """Pitch per frame (Hz); NaN where unvoiced."""
    energy_db: Frames
    """RMS level per frame over 30 ms (dB re full scale; -120 for digital silence)."""

    @property
    def voiced(self) -> npt.NDArray[np.bool_]:
        return np.isfinite(self.f0_hz)

    def semitones(self) -> Frames:
        """Pitch in semitones re 100 Hz (NaN where unvoiced)."""
        return 12.0 * np.log2(self.f0_hz / 100.0)

    def median_semitones(self) -> float:
        """Median pitch of the voiced frames (semitones re 100 Hz); NaN when nothing is voiced."""
        voiced = self.semitones()[self.voiced]
        return float(np.median(voiced)) if voiced.size else math.nan

    def range_semitones(self) -> float:
        """Pitch spread: the 90th minus the 10th percentile of the voiced frames (semitones); 0 if too few."""
        voiced = self.semitones()[self.voiced]
        if voiced.size < 5:
            return 0.0
        return float(np.percentile(voiced, 90) - np.percentile(voiced, 10))


def frame_count(samples: int, sample_rate: int) -> int:
    """How many analysis frames cover ``samples`` at ``sample_rate`` Hz (at least 1)."""
    return max(1, int(math.ceil(samples / sample_rate / HOP_SECONDS)))


def analyse(audio: FloatArray, sample_rate: int) -> Prosody:
    """Pitch and energy of ``audio`` (mono, ``sample_rate`` Hz), :func:`frame_count` frames."""
    return Prosody(f0_hz=pitch_hz(audio, sample_rate), energy_db=energy_db(audio, sample_rate))


def pitch_hz(audio: FloatArray, sample_rate: int) -> Frames:
    """F0 per frame (Hz, NaN unvoiced): Praat's autocorrelation tracker, 65-600 Hz."""
    import parselmouth

    sr = check_rate(sample_rate)
    x = mono_f64(audio)
    frames = frame_count(x.size, sr)
    out = np.full(frames, np.nan)
    if x.size < int(0.05 * sr) or not np.any(x):
        return out
    try:
        pitch = parselmouth.Sound(x, sampling_frequency=float(sr)).to_pitch_ac(
            time_step=HOP_SECONDS, pitch_floor=F0_FLOOR_HZ, pitch_ceiling=F0_CEILING_HZ)
    except parselmouth.PraatError:
        return out
    values = np.asarray(pitch.selected_array["frequency"], dtype=np.float64)
    times = np.asarray(pitch.xs(), dtype=np.float64)
    index = np.clip(np.round(times / HOP_SECONDS).astype(int), 0, frames - 1)
    values[values <= 0] = np.nan
    out[index] = values
    return out


def energy_db(audio: FloatArray, sample_rate: int, *, window_seconds: float = 0.03) -> Frames:
    """RMS level (dB FS) of ``window_seconds`` around each frame centre; -120 for digital silence."""
    sr = check_rate(sample_rate)
    x = mono_f64(audio)
    frames = frame_count(x.size, sr)
    half = max(1, int(window_seconds * sr / 2))
    power = np.concatenate([[0.0], np.cumsum(x * x)])
    centres = np.minimum((np.arange(frames) * HOP_SECONDS * sr).astype(int), x.size)
    lo, hi = np.maximum(centres - half, 0), np.minimum(centres + half, x.size)
    mean = (power[hi] - power[lo]) / np.maximum(hi - lo, 1)
    return np.asarray(10.0 * np.log10(np.maximum(mean, 1e-12)), dtype=np.float64)


def spectral_tilt_db(audio: FloatArray, sample_rate: int) -> float:
    """Level above 1 kHz minus level below it (dB) over the louder half of the frames; NaN for silence."""
    from scipy.signal import stft

    sr = check_rate(sample_rate)
    x = mono_f64(audio)
    if x.size < 512 or not np.any(x):
        return math.nan
    freqs, _, spectra = stft(x, fs=sr, nperseg=1024, noverlap=512)
    power = np.abs(spectra) ** 2
    loud = power.sum(axis=0) >= np.median(power.sum(axis=0))
    low = power[(freqs >= 80) & (freqs < 1000)][:, loud].sum()
    high = power[(freqs >= 1000) & (freqs < 8000)][:, loud].sum()
    return float(10.0 * np.log10(max(high, 1e-20) / max(low, 1e-20)))


def mfcc(audio: FloatArray, sample_rate: int) -> Frames:
    """MFCCs 1-12 (no c0: level-independent) per frame, shape (frames, 12), mean-normalised per coefficient."""
    from revoice.engine.dsp.resample import resample
    from scipy.fft import dct

    sr = check_rate(sample_rate)
    x = resample(mono_f64(audio).astype(np.float32), sr, _ANALYSIS_RATE).astype(np.float64)
    frames = frame_count(len(audio), sr)
    hop = int(round(HOP_SECONDS * _ANALYSIS_RATE))
    padded = np.pad(x, (_MFCC_FRAME // 2, _MFCC_FRAME + frames * hop))
    windows = np.lib.stride_tricks.sliding_window_view(padded, _MFCC_FRAME)[::hop][:frames]
    spectrum = np.abs(np.fft.rfft(windows * np.hamming(_MFCC_FRAME), n=512, axis=1)) ** 2
    mel = np.log(np.maximum(spectrum @ _mel_filters(512, _ANALYSIS_RATE).T, 1e-10))
    coefficients = dct(mel, type=2, norm="ortho", axis=1)[:, 1:_MFCC_COUNT]
    return np.asarray(coefficients - coefficients.mean(axis=0, keepdims=True), dtype=np.float64)


def _mel_filters(n_fft: int, sample_rate: int) -> Frames:
    """Triangular mel filters (bands x bins), 60 Hz to 7.6 kHz."""
    def to_mel(hz: Frames) -> Frames:
        return np.asarray(2595.0 * np.log10(1.0 + hz / 700.0), dtype=np.float64)

    edges_mel = np.linspace(to_mel(np.array([60.0]))[0], to_mel(np.array([7600.0]))[0], _MEL_BANDS + 2)
    edges = 700.0 * (10.0 ** (edges_mel / 2595.0) - 1.0)
    bins = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    filters = np.zeros((_MEL_BANDS, bins.size))
    for band in range(_MEL_BANDS):
        lo, centre, hi = edges[band : band + 3]
        rising = (bins - lo) / (centre - lo)
        falling = (hi - bins) / (hi - centre)
        filters[band] = np.clip(np.minimum(rising, falling), 0.0, None)
    return filters


def dtw_path(a: Frames, b: Frames, *, band: float = 0.35) -> npt.NDArray[np.int64]:
    """Monotonic alignment of feature sequences ``a`` (n, d) and ``b`` (m, d): pairs (i, j), shape (k, 2).

    Euclidean frame distance; steps (1,1), (1,0), (0,1); cells further than
    ``band`` x the longer length from the diagonal are not searched (both
    readings already start and end together: the renderer fitted them).
    """
    n, m = len(a), len(b)
    if n == 0 or m == 0:
        return np.zeros((0, 2), dtype=np.int64)
    cost = np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=2))
    width = max(2, int(band * max(n, m)))
    diagonal = np.arange(n)[:, None] * (m / n) - np.arange(m)[None, :]
    cost[np.abs(diagonal) > width] = np.inf
    total = np.full((n + 1, m + 1), np.inf)
    total[0, 0] = 0.0
    for d in range(2, n + m + 1):  # anti-diagonals: cell (i, j) needs only diagonals d-1 and d-2
        i = np.arange(max(1, d - m), min(n, d - 1) + 1)
        j = d - i
        best = np.minimum(total[i - 1, j - 1], np.minimum(total[i - 1, j], total[i, j - 1]))
        total[i, j] = cost[i - 1, j - 1] + best
    return _backtrack(total)


def _backtrack(total: Frames) -> npt.NDArray[np.int64]:
    i, j = total.shape[0] - 1, total.shape[1] - 1
    path = [(i - 1, j - 1)]
    while i > 1 or j > 1:
        steps = ((total[i - 1, j - 1], i - 1, j - 1), (total[i - 1, j], i - 1, j), (total[i, j - 1], i, j - 1))
        _, i, j = min((step for step in steps if step[1] >= 1 and step[2] >= 1), key=lambda s: s[0])
        path.append((i - 1, j - 1))
    return np.asarray(path[::-1], dtype=np.int64)


def warp_indices(path: npt.NDArray[np.int64], length: int) -> Frames:
    """For each frame 0..length-1 of the second sequence, the matching (mean) frame of the first."""
    sums = np.zeros(length)
    counts = np.zeros(length)
    np.add.at(sums, path[:, 1], path[:, 0])
    np.add.at(counts, path[:, 1], 1)
    filled = counts > 0
    frames = np.arange(length)
    return np.asarray(np.interp(frames, frames[filled], sums[filled] / counts[filled]), dtype=np.float64)


def clean_pitch(semitones: Frames, *, max_excursion: float = 10.0) -> Frames:
    """A pitch track (semitones, NaN unvoiced) without the tracker's usual errors.

    Octave jumps and creak (frames more than ``max_excursion`` from the median)
    and voiced runs shorter than 30 ms become unvoiced; each remaining run is
    median-filtered over 5 frames.
    """
    out = np.asarray(semitones, dtype=np.float64).copy()
    voiced = np.isfinite(out)
    if voiced.sum() < 3:
        return out
    median = float(np.median(out[voiced]))
    out[voiced & (np.abs(out - median) > max_excursion)] = np.nan
    padded = np.concatenate([[False], np.isfinite(out), [False]])
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    for start, end in zip(edges[::2], edges[1::2], strict=True):
        if end - start < 3:
            out[start:end] = np.nan
            continue
        run = out[start:end]
        window = np.lib.stride_tricks.sliding_window_view(np.pad(run, 2, mode="edge"), 5)
        out[start:end] = np.median(window, axis=1)
    return out


def fill_unvoiced(values: Frames) -> Frames:
    """NaN frames take values interpolated between their voiced neighbours (held flat at the ends)."""
    finite = np.isfinite(values)
    if not finite.any():
        return values.copy()
    frames = np.arange(values.size)
    return np.asarray(np.interp(frames, frames[finite], values[finite]), dtype=np.float64)


def smooth(values: Frames, frames: int) -> Frames:
    """Moving average over ``frames`` frames (edges repeated)."""
    if frames <= 1 or values.size == 0:
        return values.copy()
    kernel = np.ones(frames) / frames
    padded = np.pad(values, (frames // 2, frames - 1 - frames // 2), mode="edge")
    return np.asarray(np.convolve(padded, kernel, mode="valid"), dtype=np.float64)


def impose_pitch(x: npt.NDArray[np.float64], sample_rate: int, semitones: Frames) -> npt.NDArray[np.float64]:
    """``x`` resynthesized by TD-PSOLA (Praat's Manipulation, overlap-add) with pitch ``semitones`` re 100 Hz
    at its non-NaN frames; same length, formants kept. ``x`` unchanged when Praat cannot analyse it."""
    import parselmouth
    from parselmouth.praat import call

    voiced = np.flatnonzero(np.isfinite(semitones))
    try:
        sound = parselmouth.Sound(x, sampling_frequency=float(sample_rate))
        manipulation = call(sound, "To Manipulation", HOP_SECONDS, 65.0, 600.0)
        tier = call("Create PitchTier", "target", 0.0, x.size / sample_rate)
        for frame in voiced:
            call(tier, "Add point", float(frame * HOP_SECONDS), float(100.0 * 2.0 ** (semitones[frame] / 12.0)))
        call([tier, manipulation], "Replace pitch tier")
        out = np.asarray(call(manipulation, "Get resynthesis (overlap-add)").values[0], dtype=np.float64)
    except parselmouth.PraatError:
        return x
    fitted = np.zeros(x.size)
    fitted[: min(x.size, out.size)] = out[: x.size]
    return fitted
