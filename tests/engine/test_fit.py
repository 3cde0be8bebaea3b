"""Fitting speech to a length: planning rules (fast) and the rate search on the real voice (slow)."""

from __future__ import annotations

import numpy as np
import pytest
from revoice.engine.fit import FitError, FitPolicy, fit_to_length, plan_length, trimmed_speech
from revoice.engine.voices.base import Synthesis, SynthesisRequest
from revoice.engine.voices.piper_voice import PiperBackend

POLICY = FitPolicy()


def test_natural_speech_that_fits_is_left_alone() -> None:
    assert plan_length(48000, 96000, None, POLICY, sample_rate=48000) == (48000, ())


def test_short_slot_shortens_within_bounds_without_flag() -> None:
    length, flags = plan_length(48000, 40000, None, POLICY, sample_rate=48000)
    assert length == 40000 and flags == ()


def test_needing_more_than_the_bound_is_flagged_with_a_suggestion() -> None:
    length, flags = plan_length(48000 * 3, 48000 * 2, None, POLICY, sample_rate=48000)
    assert length == 96000
    assert len(flags) == 1 and flags[0].startswith("fast:") and "shorten the text by about" in flags[0]


def test_impossible_ratio_fails_instead_of_truncating() -> None:
    with pytest.raises(FitError, match="needs ratio 0.20"):
        plan_length(48000 * 5, 48000, None, POLICY, sample_rate=48000)


def test_quick_original_take_keeps_its_onset_and_runs_late_when_the_slot_allows() -> None:
    # the actor said it in 0.5x the voice's natural time; the slot has room
    length, flags = plan_length(48000, 96000, 24000, POLICY, sample_rate=48000)
    assert length == int(48000 * POLICY.min_ratio)
    assert len(flags) == 1 and flags[0].startswith("late: ends 300 ms after the original take")
    # no room in the slot: squeezed to fit and flagged as fast
    length, flags = plan_length(48000, 30000, 24000, POLICY, sample_rate=48000)
    assert length == 30000 and any(f.startswith("fast:") for f in flags)


def test_long_target_is_not_filled_by_slowing_down_past_the_bound() -> None:
    length, flags = plan_length(48000, 96000, 96000, POLICY, sample_rate=48000)
    assert length == int(48000 * POLICY.max_ratio)
    assert flags and flags[0].startswith("slow:")


@pytest.mark.slow
@pytest.mark.parametrize("sample_rate", [44100, 48000])
@pytest.mark.parametrize("ratio", [0.7, 0.85, 1.0])
def test_rate_search_hits_the_exact_length(piper_backend: PiperBackend, sample_rate: int, ratio: float) -> None:
    text = "The tide took the road, not the house."

    def synthesize(scale: float):  # type: ignore[no-untyped-def]
        return piper_backend.synthesize(SynthesisRequest(text=text, voice_id="joe", duration_scale=scale, seed=3))

    natural = len(trimmed_speech(synthesize(1.0), sample_rate))
    target = int(natural * ratio)
    result = fit_to_length(synthesize, sample_rate=sample_rate, available_samples=target,
                           desired_samples=target)
    assert len(result.audio) == target
    assert result.syntheses <= POLICY.max_syntheses
    assert result.natural_samples == natural
    # the voice's own rate does most of the work: the stretch that is left is small
    assert 0.9 <= result.stretch_ratio <= 1.1
    if ratio < 1.0:
        assert result.duration_scale < 1.0


class _RateVoice:
    """A voice whose speech is ``scale * natural`` samples long (a steady tone), with a count of renders."""

    def __init__(self, natural: int, sample_rate: int) -> None:
        self.natural, self.sample_rate, self.scales = natural, sample_rate, []  # type: list[float]

    def __call__(self, scale: float) -> Synthesis:
        self.scales.append(scale)
        count = int(round(self.natural * scale))
        tone = 0.3 * np.sin(2 * np.pi * 180.0 * np.arange(count) / self.sample_rate)
        return Synthesis(audio=tone.astype(np.float32), sample_rate=self.sample_rate)


@pytest.mark.parametrize("sample_rate", [24000, 48000])
@pytest.mark.parametrize("bias", [0.97, 1.0, 1.03])
def test_a_forecast_puts_the_first_synthesis_at_the_fitting_rate(sample_rate: int, bias: float) -> None:
    voice = _RateVoice(2 * sample_rate, sample_rate)
    asked: list[int] = []

    def forecast():  # type: ignore[no-untyped-def]
        asked.append(1)
        return lambda scale: bias * scale * voice.natural  # off by up to 3 %

    target = int(voice.natural * 0.85)
    result = fit_to_length(voice, sample_rate=sample_rate, available_samples=target, desired_samples=target,
                           forecast=forecast)
    assert len(result.audio) == target
    assert 1.0 not in voice.scales  # the natural rate is never rendered
    assert result.syntheses == len(voice.scales) <= 2 and asked == [1]
    assert result.natural_samples == pytest.approx(voice.natural, rel=0.002)  # calibrated on the first render
    assert 0.995 <= result.stretch_ratio <= 1.005


def test_a_line_that_fits_never_asks_for_the_forecast_when_it_starts_at_the_natural_rate() -> None:
    voice = _RateVoice(48000, 48000)

    def forecast():  # type: ignore[no-untyped-def]
        raise AssertionError("not needed")

    result = fit_to_length(voice, sample_rate=48000, available_samples=96000, forecast=forecast, first_scale=1.0)
    assert voice.scales == [1.0] and result.natural_samples == 48000 and len(result.audio) == 48000


def test_a_forecast_that_keeps_the_natural_length_renders_once_at_scale_one() -> None:
    voice = _RateVoice(48000, 48000)
    result = fit_to_length(voice, sample_rate=48000, available_samples=96000,
                           forecast=lambda: (lambda scale: 1.004 * scale * 48000))
    assert voice.scales == [1.0] and len(result.audio) == 48000 and result.syntheses == 1


def test_without_a_forecast_the_search_starts_at_the_natural_rate() -> None:
    voice = _RateVoice(48000, 48000)
    result = fit_to_length(voice, sample_rate=48000, available_samples=40000, desired_samples=40000,
                           forecast=lambda: None)
    assert voice.scales[0] == 1.0 and len(result.audio) == 40000
