"""Pause redistribution: change a line's length in its pauses before any time-stretch.

:func:`find_pauses` takes the pauses from the voice's alignment (word gaps,
punctuation, sentence joins) and keeps only their quiet parts;
:func:`resize_pauses` shortens or lengthens those pauses toward a target
length with equal-power crossfades inside the silence, leaving every voiced
sample untouched. Whatever it cannot absorb is left for the time-stretch.
Lengths and positions are in samples; durations passed in are in seconds.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence
from typing import TypedDict, Unpack

import numpy as np
import numpy.typing as npt
from revoice.engine.dsp._util import AudioArray, FloatArray, check_rate, mono_f64
from revoice.engine.dsp.stretch import pause_spans
from revoice.engine.model import Segment
from scipy.ndimage import uniform_filter1d

Pause = tuple[int, int]
"""(start, end) samples, end exclusive."""

CROSSFADE_S = 0.005
"""Default equal-power crossfade inside a resized pause, seconds."""


class PauseLimits(TypedDict, total=False):
    """How far each pause may change: the keyword options of :func:`pause_changes` and :func:`resize_pauses`."""

    shrink_floor_s: float
    shrink_factor: float
    grow_factor: float
    grow_max_s: float
    crossfade_s: float


def is_pause_label(label: str) -> bool:
    """True for alignment labels that carry no phoneme: spaces, punctuation, sentence edges ``^``/``$``.

    Stress and length marks (``ˈ``, ``ː``: modifier letters) belong to the
    phoneme they mark and are not pauses.
    """
    return all(unicodedata.category(ch)[0] in "PSZ" for ch in label)


def find_pauses(
    audio: FloatArray,
    sample_rate: int,
    segments: Sequence[Segment],
    *,
    segment_rate: int,
    min_pause_s: float = 0.04,
    threshold_db: float = -40.0,
    window_s: float = 0.005,
) -> list[Pause]:
    """Internal pauses of ``audio`` as (start, end) samples at ``sample_rate``, in time order.

    ``segments`` index ``audio`` from its first sample, in samples at
    ``segment_rate`` (shift them if ``audio`` was trimmed). Runs of
    non-phoneme segments (:func:`is_pause_label`) not touching the first
    or last segment are candidates; inside each, only quiet samples count:
    those whose centred ``window_s`` window is more than ``-threshold_db``
    dB below the loudest window of the clip (the window's full width counts
    as quiet, clipped to the candidate). Quiet runs of at least
    ``min_pause_s`` seconds are pauses, so no pause reaches into voiced
    sound. Without segments, :func:`revoice.engine.dsp.stretch.pause_spans` finds
    pauses from the waveform alone.
    """
    sr = check_rate(sample_rate)
    seg_rate = check_rate(segment_rate, "segment_rate")
    x = mono_f64(audio)
    if x.size == 0:
        return []
    if not segments:
        return pause_spans(x, sr, min_pause_s=min_pause_s, threshold_db=threshold_db)
    quiet, width = _quiet_mask(x, sr, threshold_db, window_s)
    if quiet is None:
        return []
    min_len = max(1, int(round(min_pause_s * sr)))
    pauses: list[Pause] = []
    for first, last in _label_runs(segments):
        if first == 0 or last == len(segments) - 1:
            continue  # leading / trailing silence, not a pause
        start = min(x.size, max(0, int(round(segments[first].start * sr / seg_rate))))
        end = min(x.size, max(0, int(round(segments[last].end * sr / seg_rate))))
        for run_start, run_end in _true_runs(quiet[start:end]):
            a = max(start, start + run_start - width // 2)
            b = min(end, start + run_end + width // 2)
            if b - a >= min_len:
                pauses.append((a, b))
    return pauses


def pause_changes(
    lengths: Sequence[int],
    change: int,
    sample_rate: int,
    *,
    shrink_floor_s: float = 0.10,
    shrink_factor: float = 0.4,
    grow_factor: float = 2.0,
    grow_max_s: float = 0.30,
    crossfade_s: float = CROSSFADE_S,
) -> list[int]:
    """Signed change (samples) per pause for a total ``change``; the sum is what can be achieved.

    Shrinking: a pause longer than ``shrink_floor_s`` may lose samples down
    to ``max(shrink_floor_s, shrink_factor * length)``; shorter pauses keep
    their length. Growing: a pause may grow to
    ``min(grow_factor * length, length + grow_max_s)``, and never past
    twice its length less one crossfade (:func:`resize_pauses` repeats the
    pause's own middle once at most). The change is shared in proportion to
    pause length; pauses at their limit pass the rest on to the others.
    """
    sr = check_rate(sample_rate)
    if not (0.0 <= shrink_factor <= 1.0 and grow_factor >= 1.0 and shrink_floor_s >= 0 and grow_max_s >= 0):
        raise ValueError("need 0 <= shrink_factor <= 1, grow_factor >= 1, shrink_floor_s >= 0, grow_max_s >= 0")
    if crossfade_s < 0:
        raise ValueError(f"crossfade_s must be >= 0, got {crossfade_s!r}")
    xfade = int(round(crossfade_s * sr))
    sizes = [int(n) for n in lengths]
    if change < 0:
        floor = int(round(shrink_floor_s * sr))
        caps = [
            max(0, n - max(floor, math.ceil(shrink_factor * n), min(xfade, n))) if n > floor else 0 for n in sizes
        ]
    else:
        grow_max = int(round(grow_max_s * sr))
        caps = [max(0, min(int(grow_factor * n) - n, grow_max, n - 1 - min(xfade, n // 2))) for n in sizes]
    sign = -1 if change < 0 else 1
    return [sign * share for share in _share(abs(int(change)), sizes, caps)]


def resize_pauses(
    audio: FloatArray,
    sample_rate: int,
    pauses: Sequence[Pause],
    target_samples: int,
    **limits: Unpack[PauseLimits],
) -> tuple[AudioArray, int]:
    """``audio`` with its pauses resized toward ``target_samples`` in total, and the change achieved.

    Per-pause changes and limits are those of :func:`pause_changes`. Each
    resized pause keeps its first and last samples; its middle is dropped
    (shrinking) or repeated (growing) and the two sides joined by an
    equal-power crossfade of ``crossfade_s`` seconds (default :data:`CROSSFADE_S`, shortened to fit)
    inside the pause. Audio outside the pauses is copied unchanged.

    Returns ``(out, achieved)`` with ``len(out) == len(audio) + achieved``;
    ``achieved`` has the sign of ``target_samples - len(audio)`` and falls
    short when the pauses cannot absorb it all (stretch the rest).
    """
    sr = check_rate(sample_rate)
    x = mono_f64(audio)
    target = int(target_samples)
    if target != target_samples or target <= 0:
        raise ValueError(f"target_samples must be a positive whole number, got {target_samples!r}")
    spans = _check_pauses(pauses, x.size)
    changes = pause_changes([end - start for start, end in spans], target - x.size, sr, **limits)
    xfade = int(round(limits.get("crossfade_s", CROSSFADE_S) * sr))
    pieces: list[npt.NDArray[np.float64]] = []
    position = 0
    for (start, end), change in zip(spans, changes, strict=True):
        if change == 0:
            continue
        pieces.append(x[position:start])
        pieces.append(_splice(x[start:end], end - start + change, xfade))
        position = end
    pieces.append(x[position:])
    achieved = sum(changes)
    out = np.concatenate(pieces).astype(np.float32)
    if out.size != x.size + achieved:
        raise AssertionError(f"pause resize produced {out.size} samples, expected {x.size + achieved}")
    return out, achieved


# --------------------------------------------------------------------------
# Internals
# --------------------------------------------------------------------------


def _label_runs(segments: Sequence[Segment]) -> list[tuple[int, int]]:
    """(first, last) segment indices of each run of consecutive pause labels."""
    runs: list[tuple[int, int]] = []
    first: int | None = None
    for index, segment in enumerate(segments):
        if is_pause_label(segment.label):
            if first is None:
                first = index
        elif first is not None:
            runs.append((first, index - 1))
            first = None
    if first is not None:
        runs.append((first, len(segments) - 1))
    return runs


def _quiet_mask(
    x: npt.NDArray[np.float64], sample_rate: int, threshold_db: float, window_s: float
) -> tuple[npt.NDArray[np.bool_] | None, int]:
    """Per-sample "centred window is quiet" mask and the window width; None for a silent clip."""
    width = max(1, int(round(window_s * sample_rate)))
    energy = np.asarray(uniform_filter1d(np.square(x), size=width, mode="constant"), dtype=np.float64)
    peak = float(np.max(energy))
    if peak <= 0.0:
        return None, width
    quiet: npt.NDArray[np.bool_] = energy < peak * 10.0 ** (threshold_db / 10.0)
    return quiet, width


def _true_runs(mask: npt.NDArray[np.bool_]) -> list[tuple[int, int]]:
    """(start, end) of each run of True in ``mask``, end exclusive."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return [(int(s), int(e)) for s, e in zip(starts, ends, strict=True)]


def _check_pauses(pauses: Sequence[Pause], size: int) -> list[Pause]:
    """Pauses as int pairs, checked to be in order, non-overlapping and inside the clip."""
    spans = [(int(start), int(end)) for start, end in pauses]
    previous_end = 0
    for start, end in spans:
        if not previous_end <= start < end <= size:
            raise ValueError(f"pauses must be sorted, non-overlapping and inside 0..{size}: got {spans}")
        previous_end = end
    return spans


def _share(total: int, weights: Sequence[int], caps: Sequence[int]) -> list[int]:
    """Split up to ``total`` in proportion to ``weights`` without exceeding ``caps`` (whole numbers).

    Water-filling: pauses that reach their cap are fixed and the rest share
    the remainder; the sum is exactly ``min(total, sum(caps))``.
    """
    goal = min(total, sum(caps))
    shares = [0.0] * len(weights)
    active = [i for i, cap in enumerate(caps) if cap > 0 and weights[i] > 0]
    remaining = float(goal)
    while active and remaining > 1e-9:
        rate = remaining / sum(weights[i] for i in active)
        full = [i for i in active if weights[i] * rate >= caps[i]]
        if not full:
            for i in active:
                shares[i] = weights[i] * rate
            break
        for i in full:
            shares[i] = float(caps[i])
            remaining -= caps[i]
        active = [i for i in active if i not in full]
    whole = [min(caps[i], int(math.floor(share))) for i, share in enumerate(shares)]
    open_ = [i for i in range(len(shares)) if whole[i] < caps[i]]
    order = sorted(open_, key=lambda i: whole[i] - shares[i])  # largest remainder first
    for i in order[: max(0, goal - sum(whole))]:
        whole[i] += 1
    return whole


def _splice(pause: npt.NDArray[np.float64], new_length: int, crossfade: int) -> npt.NDArray[np.float64]:
    """``pause`` made ``new_length`` long: its head and tail joined by an equal-power crossfade.

    The head ``pause[:h]`` and tail ``pause[n - t:]`` overlap by the
    crossfade (``h + t - c == new_length``), so shrinking drops the middle
    and growing (up to ``2 n - c - 1``) repeats it.
    """
    n = pause.size
    c = max(0, min(crossfade, new_length // 2))
    head = (new_length + c + 1) // 2
    tail = new_length + c - head
    if head > n or tail > n:
        raise ValueError(f"cannot splice a {n}-sample pause to {new_length} samples")
    ramp = (np.arange(c) + 0.5) / max(c, 1) * (np.pi / 2)
    mixed = pause[head - c : head] * np.cos(ramp) + pause[n - tail : n - tail + c] * np.sin(ramp)
    return np.concatenate([pause[: head - c], mixed, pause[n - tail + c :]])
