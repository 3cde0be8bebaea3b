"""Shared pieces of the benchmarks: logging, timing, meters with a result cache, an onset detector, tables.

The onset detector here is deliberately independent of the engine's VAD
(``revoice.engine.sync`` uses webrtcvad): a plain RMS-energy threshold on a 1 ms grid.
"""

from __future__ import annotations

import hashlib
import math
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from revoice.engine.model import AudioArray as AudioArray  # re-exported for the benches
from revoice.engine.qc.asr import AsrMeter
from revoice.engine.qc.mos import DistillMosMeter, DnsMosMeter
from revoice.engine.qc.text_norm import wer


def log(message: str) -> None:
    """Progress line on stderr (stdout carries only the JSON result)."""
    print(message, file=sys.stderr, flush=True)


@contextmanager
def stopwatch() -> Iterator[list[float]]:
    """``with stopwatch() as t: ...`` then ``t[0]`` is the elapsed wall time in seconds."""
    box = [0.0]
    start = time.perf_counter()
    try:
        yield box
    finally:
        box[0] = time.perf_counter() - start


def fit_to(audio: AudioArray, samples: int) -> AudioArray:
    """``audio`` truncated or zero-padded at the end to exactly ``samples``."""
    if len(audio) >= samples:
        return np.ascontiguousarray(audio[:samples], dtype=np.float32)
    return np.concatenate([audio, np.zeros(samples - len(audio), dtype=np.float32)]).astype(np.float32)


@dataclass
class Meters:
    """The quality meters plus a cache keyed by audio content (identical clips are scored once)."""

    asr: AsrMeter
    distillmos: DistillMosMeter
    dnsmos: DnsMosMeter | None
    cache: dict[str, dict[str, Any]] = field(default_factory=dict)

    def measure(self, audio: AudioArray, sample_rate: int, reference_text: str) -> dict[str, Any]:
        """WER (English, normalized), transcript, DistillMOS and DNSMOS of ``audio``.

        Trailing zero padding is not scored (it is silence): a clip and the same
        clip zero-padded share one measurement.
        """
        trimmed = np.trim_zeros(np.asarray(audio, dtype=np.float32), "b")
        if trimmed.size == 0:
            return {"wer": 1.0, "transcript": "", "distillmos": None, "dnsmos": None, "meter_seconds": 0.0}
        key = hashlib.sha1(trimmed.tobytes() + reference_text.encode() + str(sample_rate).encode()).hexdigest()
        cached = self.cache.get(key)
        if cached is not None:
            return {**cached, "meter_seconds": 0.0}
        with stopwatch() as elapsed:
            transcript = self.asr.transcribe(trimmed, sample_rate, language="en")
            result: dict[str, Any] = {
                "wer": round(wer(reference_text, transcript), 4),
                "transcript": transcript,
                "distillmos": round(self.distillmos.score(trimmed, sample_rate), 4),
                "dnsmos": round(self.dnsmos.score(trimmed, sample_rate), 4) if self.dnsmos else None,
            }
        self.cache[key] = result
        return {**result, "meter_seconds": round(elapsed[0], 3)}


def envelope_db(audio: AudioArray, sample_rate: int, *, hop_s: float = 0.001, window_s: float = 0.005) -> npt.NDArray[np.float64]:
    """RMS level (dB re full scale) of ``window_s`` windows centred every ``hop_s`` seconds."""
    x = np.asarray(audio, dtype=np.float64)
    hop = max(1, int(round(hop_s * sample_rate)))
    width = max(1, int(round(window_s * sample_rate)))
    count = max(1, math.ceil(x.size / hop))
    padded = np.concatenate([np.zeros(width // 2), x, np.zeros(count * hop + width)])
    cum = np.concatenate([[0.0], np.cumsum(np.square(padded))])
    starts = np.arange(count) * hop
    energy = (cum[starts + width] - cum[starts]) / width
    return np.asarray(10.0 * np.log10(np.maximum(energy, 1e-20)), dtype=np.float64)


def energy_span(
    audio: AudioArray, sample_rate: int, *, below_peak_db: float = 40.0, above_floor_db: float = 15.0,
    min_run_s: float = 0.03,
) -> tuple[float, float] | None:
    """(onset, offset) of the speech in ``audio`` in seconds, by energy alone; None when silent.

    A 1 ms-hop, 5 ms RMS envelope is compared against
    ``max(peak - below_peak_db, noise floor + above_floor_db)``; the noise floor
    is the 5th percentile of the envelope (digital silence counts as -200 dB).
    Onset is the start of the first run above threshold lasting ``min_run_s``;
    offset the end of the last such run.
    """
    env = envelope_db(audio, sample_rate)
    peak = float(np.max(env))
    if peak <= -150.0:
        return None
    floor = float(np.percentile(env, 5))
    threshold = max(peak - below_peak_db, floor + above_floor_db)
    above = env >= threshold
    edges = np.diff(np.concatenate([[0], above.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    min_run = max(1, int(round(min_run_s * 1000)))
    runs = [(int(s), int(e)) for s, e in zip(starts, ends, strict=True) if e - s >= min_run]
    if not runs:
        return None
    return runs[0][0] / 1000.0, runs[-1][1] / 1000.0


def speech_runs(audio: AudioArray, sample_rate: int, *, min_pause_s: float = 0.25, below_peak_db: float = 35.0) -> list[tuple[float, float]]:
    """Speech stretches (start, end) in seconds separated by pauses of at least ``min_pause_s``."""
    env = envelope_db(audio, sample_rate, hop_s=0.005, window_s=0.02)
    peak = float(np.max(env))
    floor = float(np.percentile(env, 5))
    above = env >= max(peak - below_peak_db, floor + 12.0)
    edges = np.diff(np.concatenate([[0], above.astype(np.int8), [0]]))
    runs = [[int(s) * 0.005, int(e) * 0.005] for s, e in
            zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True)]
    merged: list[list[float]] = []
    for start, end in runs:
        if merged and start - merged[-1][1] < min_pause_s:
            merged[-1][1] = end
        else:
            merged.append([start, end])
    return [(s, e) for s, e in merged if e - s >= 0.1]


def mean(values: Sequence[float | None]) -> float | None:
    """Mean of the non-None values, None if there are none."""
    kept = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    return round(sum(kept) / len(kept), 4) if kept else None


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain fixed-width text table."""
    def cell(value: Any) -> str:
        if value is None:
            return "-"
        if isinstance(value, float):
            return f"{value:.3f}" if abs(value) < 100 else f"{value:.0f}"
        return str(value)

    cells = [[cell(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(headers, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines.extend("  ".join(v.rjust(w) for v, w in zip(r, widths, strict=True)) for r in cells)
    return "\n".join(lines)
