"""The conversion stage: a line's fitted speech in another timbre, with its length and onset kept.

:func:`convert_speech` is pure DSP around a :class:`~revoice.engine.conversion.base.VoiceConverter`:

1. the sounding span of the input (first to last 5 ms window within :data:`SOUNDING_DB` of the loudest) is
   cut out with :data:`CONTEXT_SECONDS` of margin, resampled to the model's rate and padded with that much
   silence (a model needs some before the first word);
2. the converter's output comes back to the input rate, loses the padding and is trimmed or padded to the
   cut's length;
3. it is re-aligned: the lag that best matches the two onset envelopes (dB, 1 ms steps, within
   ±:data:`MAX_LAG_SECONDS`), then, if its first sound is still late, shifted onto the input's;
4. its loudest 5 ms is matched to the input's loudest, and for :data:`ATTACK_SECONDS` from the
   onset it is held no louder than the input; it replaces the input only over the span: the leading and
   trailing silence are the input's own samples, with :data:`EDGE_RAMP_SECONDS` crossfades.

So the output has exactly the input's length in samples, and its first sound is where the input's was
(within the ramp; tests hold it to 5 ms over three sample rates).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import soxr
from revoice.engine.conversion.base import ConversionError, VoiceConverter
from revoice.engine.model import AudioArray

CONTEXT_SECONDS = 0.1
"""Margin kept around the sounding span, and silence added around it for the model (seconds)."""
MAX_LAG_SECONDS = 0.1
"""The largest timing offset a converter may add that the stage corrects (seconds)."""
EDGE_RAMP_SECONDS = 0.003
"""Crossfade between the input's silence and the converted speech at the span's edges (seconds)."""
SOUNDING_DB = 40.0
"""A 5 ms window sounds when it is within this many dB of the loudest window."""
ENVELOPE_HOP_SECONDS = 0.001
ENVELOPE_WINDOW_SECONDS = 0.005
MAX_GAIN_DB = 40.0
"""The most the converted speech is raised or lowered to match the input's level (dB)."""
ATTACK_SECONDS = 0.03
"""From the onset for this long the converted speech is held no louder than the input (5 ms RMS), so its
first sound cannot come earlier than the input's, whatever a meter's threshold (seconds)."""

FloatArray = npt.NDArray[np.float64]


def _checked_mono(audio: AudioArray, what: str) -> AudioArray:
    array = np.asarray(audio)
    if array.ndim != 1:
        raise ValueError(f"{what} must be mono (shape (samples,)), got shape {array.shape}")
    return array.astype(np.float32, copy=False)


def resample(audio: AudioArray, source_rate: int, target_rate: int) -> AudioArray:
    """``audio`` from ``source_rate`` to ``target_rate`` Hz (soxr, high quality); unchanged when they agree."""
    if source_rate == target_rate or audio.size == 0:
        return audio.astype(np.float32, copy=False)
    resampled = soxr.resample(audio.astype(np.float32, copy=False), source_rate, target_rate, quality="HQ")
    return np.asarray(resampled, dtype=np.float32)


def envelope_db(audio: AudioArray, sample_rate: int) -> FloatArray:
    """Level in dB of a 5 ms window every 1 ms (frame k starts at sample ``k * hop``); -200 dB for silence."""
    hop = max(1, int(round(ENVELOPE_HOP_SECONDS * sample_rate)))
    window = max(1, int(round(ENVELOPE_WINDOW_SECONDS * sample_rate)))
    squares = np.concatenate([[0.0], np.cumsum(np.asarray(audio, dtype=np.float64) ** 2)])
    starts = np.arange(0, max(1, len(audio) - window + 1), hop)
    ends = np.minimum(starts + window, len(audio))
    power = (squares[ends] - squares[starts]) / np.maximum(ends - starts, 1)
    return np.asarray(10.0 * np.log10(np.maximum(power, 1e-20)), dtype=np.float64)


def sounding_span(audio: AudioArray, sample_rate: int) -> tuple[int, int] | None:
    """(first, end) samples of the windows within :data:`SOUNDING_DB` of the loudest; None for silence."""
    levels = envelope_db(audio, sample_rate)
    if levels.size == 0 or levels.max() <= -150.0:
        return None
    hop = max(1, int(round(ENVELOPE_HOP_SECONDS * sample_rate)))
    window = max(1, int(round(ENVELOPE_WINDOW_SECONDS * sample_rate)))
    loud = np.flatnonzero(levels >= levels.max() - SOUNDING_DB)
    return int(loud[0] * hop), min(len(audio), int(loud[-1] * hop + window))


def _fit_length(audio: AudioArray, length: int) -> AudioArray:
    if len(audio) >= length:
        return audio[:length]
    return np.concatenate([audio, np.zeros(length - len(audio), dtype=np.float32)])


def _shifted(audio: AudioArray, samples: int) -> AudioArray:
    """``audio`` moved ``samples`` later (earlier when negative), same length, zeros coming in."""
    if samples == 0:
        return audio
    moved = np.zeros_like(audio)
    if samples > 0:
        moved[samples:] = audio[: len(audio) - samples]
    else:
        moved[: len(audio) + samples] = audio[-samples:]
    return moved


def alignment_lag(reference: AudioArray, converted: AudioArray, sample_rate: int) -> int:
    """Samples by which ``converted`` is late against ``reference`` (negative: early), by envelope correlation.

    The dB envelopes are floored 50 dB under their peaks and correlated over lags up to ±:data:`MAX_LAG_SECONDS`.
    """
    hop = max(1, int(round(ENVELOPE_HOP_SECONDS * sample_rate)))
    ref, conv = envelope_db(reference, sample_rate), envelope_db(converted, sample_rate)
    count = min(len(ref), len(conv))
    ref, conv = ref[:count], conv[:count]
    ref = np.maximum(ref, ref.max() - 50.0) - np.maximum(ref, ref.max() - 50.0).mean()
    conv = np.maximum(conv, conv.max() - 50.0) - np.maximum(conv, conv.max() - 50.0).mean()
    if not ref.any() or not conv.any():
        return 0
    max_lag = min(count - 1, int(round(MAX_LAG_SECONDS / ENVELOPE_HOP_SECONDS)))
    scores = [float(np.dot(ref[max(0, -lag): count - max(0, lag)], conv[max(0, lag): count - max(0, -lag)]))
              for lag in range(-max_lag, max_lag + 1)]
    return (int(np.argmax(scores)) - max_lag) * hop


def _edge_weights(length: int, start: int, end: int, ramp: int) -> FloatArray:
    """1 on [start, end), raised-cosine ramps of ``ramp`` samples just outside it, 0 elsewhere."""
    weights = np.zeros(length, dtype=np.float64)
    weights[start:end] = 1.0
    if ramp > 0:
        rise = 0.5 - 0.5 * np.cos(np.pi * (np.arange(1, ramp + 1) / (ramp + 1)))
        head = np.arange(start - ramp, start)
        keep = head >= 0
        weights[head[keep]] = rise[keep]
        tail = np.arange(end, end + ramp)
        keep = tail < length
        weights[tail[keep]] = rise[::-1][keep]
    return weights


def _moving_rms(audio: AudioArray, sample_rate: int) -> FloatArray:
    """RMS of a centred 5 ms window at every sample."""
    window = max(1, int(round(ENVELOPE_WINDOW_SECONDS * sample_rate)))
    power = np.convolve(np.asarray(audio, dtype=np.float64) ** 2, np.full(window, 1.0 / window), mode="same")
    return np.asarray(np.sqrt(np.maximum(power, 0.0)), dtype=np.float64)


def _held_under(converted: AudioArray, source: AudioArray, start: int, stop: int, sample_rate: int) -> AudioArray:
    """``converted`` with samples ``start:stop`` scaled down wherever it is louder (5 ms RMS) than ``source``."""
    window = max(1, int(round(ENVELOPE_WINDOW_SECONDS * sample_rate)))
    lo, hi = max(0, start - window), min(len(converted), stop + window)
    if hi <= lo:
        return converted
    ratio = _moving_rms(source[lo:hi], sample_rate) / np.maximum(_moving_rms(converted[lo:hi], sample_rate), 1e-12)
    held = converted.copy()
    first, last = max(0, start) - lo, min(len(converted), stop) - lo
    held[lo + first: lo + last] *= np.minimum(1.0, ratio[first:last]).astype(np.float32)
    return held


def _rms(audio: AudioArray) -> float:
    return float(np.sqrt(np.mean(np.asarray(audio, dtype=np.float64) ** 2))) if audio.size else 0.0


def convert_speech(audio: AudioArray, sample_rate: int, *, converter: VoiceConverter, reference_audio: AudioArray,
                   reference_sample_rate: int) -> AudioArray:
    """``audio`` (float32 mono, ``sample_rate`` Hz) in ``reference_audio``'s timbre, same length, same onset.

    The converter runs at its own rate (``converter.spec.sample_rate``); the reference is resampled to it
    too. Silent input comes back unchanged (a copy). ConversionError when the converter returns nothing,
    silence or non-finite samples.
    """
    if sample_rate <= 0 or reference_sample_rate <= 0:
        raise ValueError(f"sample rates must be positive, got {sample_rate} and {reference_sample_rate} Hz")
    source = _checked_mono(audio, "speech to convert")
    reference = _checked_mono(reference_audio, "reference audio")
    if reference.size == 0:
        raise ValueError("reference audio is empty")
    span = sounding_span(source, sample_rate)
    if span is None:
        return source.copy()
    name = converter.spec.name
    model_rate = converter.spec.sample_rate
    margin = int(round(CONTEXT_SECONDS * sample_rate))
    cut_start, cut_end = max(0, span[0] - margin), min(len(source), span[1] + margin)
    cut = source[cut_start:cut_end]
    padding = int(round(CONTEXT_SECONDS * model_rate))
    silence = np.zeros(padding, dtype=np.float32)
    model_input = np.concatenate([silence, resample(cut, sample_rate, model_rate), silence])
    output = np.asarray(converter.convert(audio=model_input, sample_rate=model_rate,
                                          reference_audio=resample(reference, reference_sample_rate, model_rate),
                                          reference_sample_rate=model_rate))
    if output.ndim != 1 or output.size == 0:
        raise ConversionError(f"converter {name!r} returned no mono audio (shape {output.shape})")
    if not np.all(np.isfinite(output)):
        raise ConversionError(f"converter {name!r} returned non-finite samples (NaN or infinity)")
    back = resample(output.astype(np.float32), model_rate, sample_rate)
    back = _fit_length(back[int(round(padding * sample_rate / model_rate)):], len(cut))
    back = _shifted(back, -alignment_lag(cut, back, sample_rate))
    start, end = span[0] - cut_start, span[1] - cut_start
    converted_span = sounding_span(back, sample_rate)
    if converted_span is not None and converted_span[0] > start:  # late: the gate below cannot fix that
        back = _shifted(back, -min(converted_span[0] - start, margin))
    if _rms(back[start:end]) < 1e-7:
        raise ConversionError(f"converter {name!r} returned silence for speech")
    # loudest 5 ms window to the input's: the same "sounding" threshold for both, so the hold below decides
    gain_db = float(envelope_db(cut[start:end], sample_rate).max() - envelope_db(back[start:end], sample_rate).max())
    back = back * np.float32(10 ** (np.clip(gain_db, -MAX_GAIN_DB, MAX_GAIN_DB) / 20))
    ramp = int(round(EDGE_RAMP_SECONDS * sample_rate))
    back = _held_under(back, cut, start - ramp, start + int(round(ATTACK_SECONDS * sample_rate)), sample_rate)
    weights = _edge_weights(len(cut), start, end, ramp)
    result = source.copy()
    result[cut_start:cut_end] = (cut * (1.0 - weights) + back * weights).astype(np.float32)
    # last, the renderer's own onset meter (engine.sync): a softer converted attack can read a few ms late
    for _ in range(2):
        lag = _onset_lag(source, result, sample_rate)
        if abs(lag) <= int(round(ONSET_SLACK_SECONDS * sample_rate)) or abs(lag) > margin:
            break
        back = _shifted(back, -lag)
        result[cut_start:cut_end] = (cut * (1.0 - weights) + back * weights).astype(np.float32)
    return result


ONSET_SLACK_SECONDS = 0.002
"""Onset differences (by the renderer's meter) the stage leaves alone: 2 ms, inside the 5 ms it promises."""


def _onset_lag(source: AudioArray, converted: AudioArray, sample_rate: int) -> int:
    """Samples by which ``converted``'s speech onset is late against ``source``'s (the renderer's VAD); 0 if none."""
    from revoice.engine.sync import detect_speech_span

    before, after = detect_speech_span(source, sample_rate), detect_speech_span(converted, sample_rate)
    return 0 if before is None or after is None else int(after.onset - before.onset)
