"""Fit synthesized speech to a target length, to the sample.

Order of tools, cheapest in quality first:

1. the voice's own rate control (``duration_scale``), searched with the
   secant method over at most ``FitPolicy.max_syntheses`` syntheses;
2. a small exact time-stretch for whatever is left (Rubber Band).

The fitter never truncates speech: when the needed ratio is outside the
policy's bounds it still fits (down to ``hard_min_ratio``), and flags it
with a suggestion. Everything here is a pure function of its inputs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from engine.dsp.resample import resample
from engine.dsp.stretch import stretch_to_length, trim_silence
from engine.voices.base import AudioArray, Synthesis

WORDS_PER_SECOND = 2.7
"""Typical conversational English rate, used only to phrase suggestions."""


@dataclass(frozen=True)
class FitPolicy:
    """Bounds and search settings for fitting one line (ratios are target / natural length)."""

    min_ratio: float = 0.8
    """Shortest allowed without a flag (0.8 = speech 20% faster than natural)."""
    max_ratio: float = 1.25
    """Longest allowed without a flag; longer targets are not filled by slowing down past this."""
    hard_min_ratio: float = 0.35
    """Below this the line cannot be fitted: it fails with a suggestion instead."""
    max_syntheses: int = 3
    """Syntheses spent searching the voice's rate control (the natural one included)."""
    tolerance: float = 0.01
    """Stop the rate search once within this fraction of the target length."""
    min_duration_scale: float = 0.45
    max_duration_scale: float = 2.2
    lead_in_seconds: float = 0.0
    """Where speech starts inside the slot when there is no original take to follow."""
    stretch_method: str = "rubberband"


@dataclass(frozen=True)
class FitResult:
    """Speech fitted to ``target_samples`` at ``sample_rate`` plus how it got there."""

    audio: AudioArray
    sample_rate: int
    natural_samples: int
    """Trimmed speech length at natural rate (duration_scale 1.0), at ``sample_rate``."""
    duration_scale: float
    stretch_ratio: float
    """Residual time-stretch applied after the rate search (output / input length)."""
    syntheses: int
    flags: tuple[str, ...] = field(default=())

    @property
    def ratio(self) -> float:
        """Total ratio: fitted length / natural length."""
        return len(self.audio) / self.natural_samples if self.natural_samples else 1.0


class FitError(ValueError):
    """The speech cannot be fitted into the slot without truncating it."""


def trimmed_speech(synthesis: Synthesis, sample_rate: int) -> AudioArray:
    """Speech without leading/trailing silence, resampled to ``sample_rate``."""
    audio = resample(synthesis.audio, synthesis.sample_rate, sample_rate)
    start, end = trim_silence(audio, sample_rate)
    if end <= start:
        raise FitError("the voice produced silence for this text")
    return np.ascontiguousarray(audio[start:end], dtype=np.float32)


def plan_length(natural_samples: int, available_samples: int, desired_samples: int | None,
                policy: FitPolicy) -> tuple[int, tuple[str, ...]]:
    """Choose the speech length (samples) for a line, with flags.

    ``desired_samples`` is the original take's speech span when known; without
    it speech runs at natural rate, shortened only if the slot is too short.
    """
    flags: list[str] = []
    want = natural_samples if desired_samples is None else desired_samples
    want = min(want, available_samples)
    longest = int(natural_samples * policy.max_ratio)
    if want > longest:
        flags.append(
            f"slow: the target span needs ratio {want / natural_samples:.2f} > "
            f"{policy.max_ratio:.2f}; speech kept at {policy.max_ratio:.2f} and the rest left silent"
        )
        want = longest
    ratio = want / natural_samples
    if ratio < policy.hard_min_ratio:
        raise FitError(_too_long_message(natural_samples, want, policy.hard_min_ratio))
    if ratio < policy.min_ratio:
        flags.append("fast: " + _too_long_message(natural_samples, want, policy.min_ratio))
    return max(1, want), tuple(flags)


def _too_long_message(natural: int, target: int, bound: float) -> str:
    ratio = target / natural
    excess_fraction = 1.0 - target / (natural * bound)
    words = max(1, round(excess_fraction * natural / 48000 * WORDS_PER_SECOND)) if natural else 1
    return (
        f"needs ratio {ratio:.2f} (bound {bound:.2f}); shorten the text by about {words} "
        "word(s), allow overflow into the gap after the slot, or lower the ratio bound"
    )


def fit_to_length(synthesize: Callable[[float], Synthesis], *, sample_rate: int,
                  available_samples: int, desired_samples: int | None = None,
                  policy: FitPolicy = FitPolicy()) -> FitResult:
    """Synthesize and fit speech to a planned length of at most ``available_samples``.

    ``synthesize(duration_scale)`` must be deterministic (same scale, same audio).
    """
    natural = trimmed_speech(synthesize(1.0), sample_rate)
    target, flags = plan_length(len(natural), available_samples, desired_samples, policy)
    tried: list[tuple[float, AudioArray]] = [(1.0, natural)]

    def error(audio: AudioArray) -> float:
        return len(audio) / target - 1.0

    if abs(error(natural)) > policy.tolerance:
        scale = _first_guess(target / len(natural), policy)
        while len(tried) < policy.max_syntheses:
            speech = trimmed_speech(synthesize(scale), sample_rate)
            tried.append((scale, speech))
            if abs(error(speech)) <= policy.tolerance:
                break
            scale = _secant_step(tried, target, policy)
    best_scale, best = min(tried, key=lambda item: abs(error(item[1])))
    if len(best) != target:
        stretched = stretch_to_length(best, sample_rate, target, method=policy.stretch_method)
    else:
        stretched = best
    return FitResult(
        audio=stretched,
        sample_rate=sample_rate,
        natural_samples=len(natural),
        duration_scale=best_scale,
        stretch_ratio=target / len(best),
        syntheses=len(tried),
        flags=flags,
    )


def _first_guess(ratio: float, policy: FitPolicy) -> float:
    """Duration scale expected to give ``ratio`` (measured on piper: ls ~ 1.375 r - 0.375)."""
    return float(np.clip(1.375 * ratio - 0.375, policy.min_duration_scale, policy.max_duration_scale))


def _secant_step(tried: list[tuple[float, AudioArray]], target: int, policy: FitPolicy) -> float:
    (s0, a0), (s1, a1) = tried[-2], tried[-1]
    l0, l1 = len(a0), len(a1)
    if l1 == l0 or s1 == s0:
        guess = s1 * target / l1
    else:
        guess = s1 + (target - l1) * (s1 - s0) / (l1 - l0)
    return float(np.clip(guess, policy.min_duration_scale, policy.max_duration_scale))
