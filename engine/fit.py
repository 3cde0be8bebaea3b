"""Fit synthesized speech to a target length, to the sample.

Order of tools, cheapest in quality first (measured best on piper, see
bench/sync.py):

1. pauses: word gaps and sentence joins from the voice's alignment shrink
   (to max(100 ms, 0.4x)) or grow (to min(2x, +300 ms)) first;
2. the voice's own rate control (``duration_scale``) covers what the pauses
   cannot, searched with the secant method over at most
   ``FitPolicy.max_syntheses`` syntheses (pauses resized at each step);
3. a small exact time-stretch for whatever is left (WSOLA by default,
   Rubber Band R3 on request).

The fitter never truncates speech: when the needed ratio is outside the
policy's bounds it still fits (down to ``hard_min_ratio``), and flags it
with a suggestion. Everything here is a pure function of its inputs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from revoice.engine.voices.base import AudioArray, Synthesis

if TYPE_CHECKING:
    from revoice.engine.dsp.pauses import Pause

LengthForecast = Callable[[float], float]
"""A voice's forecast of its trimmed speech length (samples at the fit's rate) at a duration scale."""

WORDS_PER_SECOND = 2.7
"""Typical conversational English rate, used only to phrase suggestions."""
CHARACTERS_PER_SECOND = 4.0
"""Typical Mandarin rate (Han characters per second), used only to phrase suggestions."""

FASTEST_WORDS_PER_SECOND = 13.0
"""No voice says more words per second than this at its natural rate (``duration_scale`` 1.0).

With it :func:`check_text_can_fit` refuses impossible lines before any
synthesis. Measured with ``python -m bench speech_rate`` (trimmed speech, kept in
bench/data/speech_rate.json): piper joe speaks prose at 3.9 words/s and its fastest
real text, short function words ("I am so up to it ..."), at 6.3 words/s; at
its fastest ``duration_scale`` (0.45) that text reaches 9.7 words/s, and the
residual stretch takes it down to ``hard_min_ratio`` of its natural length, so
the fastest placeable rate is natural / ``hard_min_ratio`` (6.3 / 0.35 = 18).
Twice the fastest measured rate, so no line a voice could fit is refused.
Outside the bound: one short word repeated ("to to to ...", "o o o ..."),
which piper's model slurs into 16-43 words/s."""
FASTEST_CHARACTERS_PER_SECOND = 16.0
"""The same bound for Han and kana characters (Mandarin, Japanese: no spaces between words).

Measured on kokoro's five voices: prose 3.4-3.9 characters/s, one character
repeated ("的的的...") up to 7.7; 8.0 and 17 at ``duration_scale`` 0.45. Twice 7.7,
rounded up. Kana count as characters too (no Japanese voice ships to measure; fast
Japanese speech is about 8 morae per second)."""


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
    stretch_method: str = "wsola"
    """Residual stretcher: "wsola" scored higher DistillMOS than Rubber Band at every ratio
    (8 lines: 0.6 3.45 vs 3.23, 0.8 3.92 vs 3.82, 1.25 3.92 vs 3.80; natural 4.04)."""
    resize_pauses: bool = True
    """Resize pauses before changing the voice's rate (off: rate and stretch only)."""

    def check(self) -> None:
        """Raise ValueError naming the bad setting; every number must be finite (NaN and inf are refused
        here, before any line is rendered, rather than failing each line or overflowing mid-batch)."""
        numbers = {"min ratio": self.min_ratio, "max ratio": self.max_ratio, "hard min ratio": self.hard_min_ratio,
                   "tolerance": self.tolerance, "min duration scale": self.min_duration_scale,
                   "max duration scale": self.max_duration_scale, "lead-in": self.lead_in_seconds}
        for name, value in numbers.items():
            if not math.isfinite(value):
                raise ValueError(f"{name} {value} is not a finite number")
        if not 0 < self.min_ratio <= 1.0 <= self.max_ratio:
            raise ValueError("ratio bounds must satisfy 0 < min <= 1 <= max")
        if self.lead_in_seconds < 0:
            raise ValueError(f"lead-in {self.lead_in_seconds} s is negative; use 0 or more seconds")
        if not (0 < self.hard_min_ratio and 0 < self.min_duration_scale <= self.max_duration_scale
                and self.tolerance >= 0 and self.max_syntheses >= 1):
            raise ValueError("fit search settings must satisfy 0 < hard min ratio, 0 < min <= max duration scale, "
                             "tolerance >= 0 and at least 1 synthesis")


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
    pause_change_samples: int
    """Length change (samples) absorbed by resizing pauses (negative: shortened)."""
    syntheses: int
    flags: tuple[str, ...] = field(default=())

    @property
    def ratio(self) -> float:
        """Total ratio: fitted length / natural length."""
        return len(self.audio) / self.natural_samples if self.natural_samples else 1.0


class FitError(ValueError):
    """The speech cannot be fitted into the slot without truncating it."""


@dataclass(frozen=True)
class Speech:
    """Trimmed speech at the output rate with its internal pauses (samples)."""

    audio: AudioArray
    pauses: tuple[Pause, ...]


def trimmed_speech(synthesis: Synthesis, sample_rate: int) -> AudioArray:
    """Speech without leading/trailing silence, resampled to ``sample_rate``."""
    return speech_with_pauses(synthesis, sample_rate, with_pauses=False).audio


def speech_with_pauses(synthesis: Synthesis, sample_rate: int, *, with_pauses: bool = True) -> Speech:
    """Trimmed speech at ``sample_rate`` plus its pauses from the voice's alignment."""
    # imported here, not at the top: they pull in scipy, which a run with every line cached never needs
    from revoice.engine.dsp.pauses import find_pauses
    from revoice.engine.dsp.resample import resample
    from revoice.engine.dsp.stretch import trim_silence

    audio = resample(synthesis.audio, synthesis.sample_rate, sample_rate)
    start, end = trim_silence(audio, sample_rate)
    if end <= start:
        raise FitError("the voice produced silence for this text")
    pauses: tuple[Pause, ...] = ()
    if with_pauses:
        found = find_pauses(audio, sample_rate, synthesis.segments, segment_rate=synthesis.sample_rate)
        pauses = tuple((a - start, b - start) for a, b in found if a >= start and b <= end)
    return Speech(np.ascontiguousarray(audio[start:end], dtype=np.float32), pauses)


def plan_length(natural_samples: int, available_samples: int, desired_samples: int | None,
                policy: FitPolicy, *, sample_rate: int) -> tuple[int, tuple[str, ...]]:
    """Choose the speech length (samples) for a line, with flags.

    ``desired_samples`` is the original take's speech span when known; without
    it speech runs at natural rate, shortened only if the slot is too short.
    A take quicker than the voice can speak well keeps its onset and runs
    past its end (inside the slot) rather than being squeezed past
    ``min_ratio``; a slower take is not filled past ``max_ratio``.
    """
    flags: list[str] = []
    want = natural_samples if desired_samples is None else desired_samples
    longest = int(natural_samples * policy.max_ratio)
    shortest = int(math.ceil(natural_samples * policy.min_ratio))
    if want > longest * (1 + policy.tolerance):
        flags.append(
            f"slow: the target span needs ratio {want / natural_samples:.2f} > "
            f"{policy.max_ratio:.2f}; speech kept at {policy.max_ratio:.2f} and the rest left silent"
        )
    want = min(want, longest)
    if desired_samples is not None and want < shortest * (1 - policy.tolerance) and want < available_samples:
        longer = min(shortest, available_samples)
        flags.append(
            f"late: ends {(longer - want) * 1000 / sample_rate:.0f} ms after the original take "
            f"(matching it needs ratio {want / natural_samples:.2f} < {policy.min_ratio:.2f}); "
            "shorten the text or allow a faster ratio"
        )
        want = longer
    want = min(want, available_samples)
    ratio = want / natural_samples
    if ratio < policy.hard_min_ratio:
        raise FitError(_too_long_message(natural_samples, want, policy.hard_min_ratio, sample_rate))
    if ratio < policy.min_ratio * (1 - policy.tolerance):
        flags.append("fast: " + _too_long_message(natural_samples, want, policy.min_ratio, sample_rate))
    return max(1, want), tuple(flags)


def spoken_units(text: str) -> tuple[int, int]:
    """(words, characters) a voice speaks in ``text``, stage directions left out.

    Characters are those of scripts written without spaces between words (Han,
    kana); words are the space-separated tokens of the rest that hold a letter
    or a digit. Counting low is safe (a number is one word, however it is read):
    the counts only ever refuse a line that no voice could say in its slot.
    """
    from revoice.engine.text.directions import speakable_text  # lazy: the text package, only when a line renders

    spoken = speakable_text(text)
    characters = sum(1 for char in spoken if _written_without_spaces(char))
    rest = "".join(" " if _written_without_spaces(char) else char for char in spoken)
    words = sum(1 for token in rest.split() if any(char.isalnum() for char in token))
    return words, characters


def _written_without_spaces(char: str) -> bool:
    """Han (CJK unified ideographs, extension A, compatibility), hiragana, katakana, half-width katakana."""
    code = ord(char)
    return (0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or 0xF900 <= code <= 0xFAFF
            or 0x3040 <= code <= 0x30FF or 0xFF66 <= code <= 0xFF9F or 0x20000 <= code <= 0x2A6DF)


def check_text_can_fit(text: str, *, available_samples: int, sample_rate: int, policy: FitPolicy) -> None:
    """Raise :class:`FitError` when no voice could say ``text`` in ``available_samples``; never synthesizes.

    The fitter refuses speech squeezed below ``policy.hard_min_ratio`` of its
    natural length, and no voice is faster than :data:`FASTEST_WORDS_PER_SECOND`
    (:data:`FASTEST_CHARACTERS_PER_SECOND`) at its natural rate, so such a line
    would fail anyway, only after synthesizing all of it (a 1500-word cue in a
    2 s slot took 21.8 GB). The message says how much to cut at a typical rate.
    """
    words, characters = spoken_units(text)
    # the shortest the fitter may make it (s): the fastest natural rate, squeezed to hard_min_ratio
    shortest = (words / FASTEST_WORDS_PER_SECOND + characters / FASTEST_CHARACTERS_PER_SECOND) * policy.hard_min_ratio
    available = available_samples / sample_rate
    if shortest <= available:
        return
    typical = (words / WORDS_PER_SECOND + characters / CHARACTERS_PER_SECOND) * policy.hard_min_ratio
    cut = max(1, math.ceil((1.0 - available / typical) * (words + characters)))
    said = " and ".join(f"{count} {name}{'s' if count != 1 else ''}"
                        for count, name in ((words, "word"), (characters, "character")) if count)
    unit = "word(s)" if words >= characters else "character(s)"
    raise FitError(
        f"{said} cannot fit a {available:.2f} s slot: the fastest voice squeezed to ratio "
        f"{policy.hard_min_ratio:.2f} still needs {shortest:.2f} s; shorten the text by about {cut} {unit}, "
        "or allow overflow into the gap after the slot (--allow-overflow SECONDS)"
    )


def _too_long_message(natural: int, target: int, bound: float, sample_rate: int) -> str:
    ratio = target / natural
    excess_fraction = 1.0 - target / (natural * bound)
    words = max(1, round(excess_fraction * natural / sample_rate * WORDS_PER_SECOND)) if natural else 1
    return (
        f"needs ratio {ratio:.2f} (bound {bound:.2f}); shorten the text by about {words} "
        "word(s), allow overflow into the gap after the slot (--allow-overflow SECONDS), or lower the ratio bound (--min-ratio)"
    )


def fit_to_length(synthesize: Callable[[float], Synthesis], *, sample_rate: int,
                  available_samples: int, desired_samples: int | None = None,
                  policy: FitPolicy = FitPolicy(), forecast: Callable[[], LengthForecast | None] | None = None,
                  first_scale: float | None = None) -> FitResult:
    """Synthesize and fit speech to a planned length of at most ``available_samples``.

    ``synthesize(duration_scale)`` must be deterministic (same scale, same audio).

    ``forecast()`` gives the voice's own forecast of its trimmed speech length
    (samples at ``sample_rate``) per duration scale, or None; it is called only
    when needed (Kokoro's ``length_curve``, a small model run). The first synthesis
    is at ``first_scale`` when given, else at the scale forecast to reach the planned
    length (:func:`forecast_first_scale`), else at the natural rate. The forecast is
    calibrated on the first synthesis, and the next try is where the calibrated
    forecast meets the target. The natural length is measured when the first
    synthesis is at scale 1, else it is the calibrated forecast at scale 1.
    """
    from revoice.engine.dsp.pauses import resize_pauses  # lazy: scipy (see speech_with_pauses)
    from revoice.engine.dsp.stretch import stretch_to_length

    def speech_at(scale: float) -> Speech:
        return speech_with_pauses(synthesize(scale), sample_rate, with_pauses=policy.resize_pauses)

    asked: list[LengthForecast | None] = []

    def predictor() -> LengthForecast | None:
        """The forecast, asked for once (only when needed)."""
        if not asked:
            asked.append(forecast() if forecast is not None else None)
        return asked[0]

    predict = predictor() if first_scale is None else None
    if first_scale is not None:
        start_scale = first_scale
    elif predict is not None:
        start_scale = forecast_first_scale(predict, available_samples=available_samples,
                                           desired_samples=desired_samples, policy=policy, sample_rate=sample_rate)
    else:
        start_scale = 1.0
    first = speech_at(start_scale)

    def calibrated() -> LengthForecast | None:
        """The forecast scaled to meet the first synthesis's measured length; None without one."""
        predict = predictor()
        expected = predict(start_scale) if predict is not None else 0.0
        if predict is None or expected <= 0:
            return None
        factor = len(first.audio) / expected
        return lambda scale: predict(scale) * factor

    natural_samples = len(first.audio)
    if start_scale != 1.0:
        known = calibrated()
        natural_samples = max(1, round(known(1.0))) if known is not None else len(speech_at(1.0).audio)
    target, flags = plan_length(natural_samples, available_samples, desired_samples, policy,
                                sample_rate=sample_rate)

    def reach(speech: Speech) -> int:
        """Length the speech reaches once its pauses have absorbed what they can."""
        return len(speech.audio) + _pause_room(speech, target - len(speech.audio), sample_rate)

    tried = [(start_scale, first, reach(first))]

    def error(reach: int) -> float:
        return reach / target - 1.0

    if abs(error(tried[0][2])) > policy.tolerance:
        known = calibrated()
        if known is not None:
            scale = _forecast_scale(known, target, policy)
        else:  # the pauses already took their share: the rate covers only the rest
            scale = _first_guess(target / tried[0][2] if tried[0][2] else 1.0, policy)
        while len(tried) < policy.max_syntheses and all(scale != sc for sc, _, _ in tried):
            speech = speech_at(scale)
            tried.append((scale, speech, reach(speech)))
            if abs(error(tried[-1][2])) <= policy.tolerance:
                break
            scale = _secant_step([(sc, reach) for sc, _, reach in tried], target, policy)
    best_scale, best, _ = min(tried, key=lambda item: abs(error(item[2])))
    audio, moved = best.audio, 0
    if best.pauses and len(audio) != target:
        audio, moved = resize_pauses(audio, sample_rate, best.pauses, target)
    fitted = stretch_to_length(audio, sample_rate, target, method=policy.stretch_method) if len(audio) != target else audio
    return FitResult(
        audio=fitted,
        sample_rate=sample_rate,
        natural_samples=natural_samples,
        duration_scale=best_scale,
        stretch_ratio=target / len(audio),
        pause_change_samples=moved,
        syntheses=len(tried),
        flags=flags,
    )


def forecast_first_scale(predict: LengthForecast, *, available_samples: int, desired_samples: int | None,
                         policy: FitPolicy, sample_rate: int) -> float:
    """The duration scale whose forecast length (``predict``, samples) meets the planned length.

    1.0 when the plan keeps the natural length (a line with no take to follow
    that fits its slot); the fastest scale when even the forecast cannot fit.
    """
    natural = max(1, round(predict(1.0)))
    try:
        target, _ = plan_length(natural, available_samples, desired_samples, policy, sample_rate=sample_rate)
    except FitError:  # decided on the measured length, not on a forecast
        return policy.min_duration_scale
    if abs(target / natural - 1.0) <= policy.tolerance:
        return 1.0
    return _forecast_scale(predict, target, policy)


def _forecast_scale(predict: LengthForecast, target: int, policy: FitPolicy) -> float:
    """Duration scale at which the (non-decreasing) forecast reaches ``target`` samples, by bisection."""
    low, high = policy.min_duration_scale, policy.max_duration_scale
    if predict(low) >= target:
        return low
    if predict(high) <= target:
        return high
    for _ in range(24):
        middle = (low + high) / 2
        if predict(middle) < target:
            low = middle
        else:
            high = middle
    return round((low + high) / 2, 4)


def _pause_room(speech: Speech, change: int, sample_rate: int) -> int:
    """How much of ``change`` (samples) the speech's pauses can absorb."""
    from revoice.engine.dsp.pauses import pause_changes  # lazy: scipy (see speech_with_pauses)

    if not speech.pauses or change == 0:
        return 0
    return sum(pause_changes([b - a for a, b in speech.pauses], change, sample_rate))


def _first_guess(ratio: float, policy: FitPolicy) -> float:
    """Duration scale expected to give ``ratio`` (measured on piper: ls ~ 1.375 r - 0.375)."""
    return float(np.clip(1.375 * ratio - 0.375, policy.min_duration_scale, policy.max_duration_scale))


def _secant_step(tried: list[tuple[float, int]], target: int, policy: FitPolicy) -> float:
    """Next duration scale from the last two (scale, reached length) points."""
    (s0, l0), (s1, l1) = tried[-2], tried[-1]
    if l1 == l0 or s1 == s0:
        guess = s1 * target / l1
    else:
        guess = s1 + (target - l1) * (s1 - s0) / (l1 - l0)
    return float(np.clip(guess, policy.min_duration_scale, policy.max_duration_scale))
