"""The render-time tint: apply_tint (length, identity, strength) and which backends speak a language."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

pytest.importorskip("pedalboard")
pytest.importorskip("librosa")

from revoice.engine.characters.tint import VoiceTint, apply_tint, speaks  # noqa: E402
from revoice.engine.dsp.voice_transform import BAND_CENTRES_HZ, median_f0  # noqa: E402
from voiced_tone import voiced  # noqa: E402

FULL_TINT = VoiceTint(pitch_semitones=3.0, pitch_range=1.3, formant_ratio=1.1,
                      envelope_db=tuple(np.linspace(-4.0, 4.0, len(BAND_CENTRES_HZ))))


@pytest.mark.parametrize("rate", [22050, 24000, 48000])
def test_length_and_dtype_kept_exactly(rate: int) -> None:
    for seconds in (0.5, 1.2345):
        x = voiced(rate, seconds)
        y = apply_tint(x, rate, FULL_TINT)
        assert y.dtype == np.float32 and y.shape == x.shape
        assert np.all(np.isfinite(y)) and np.max(np.abs(y)) <= 0.99 + 1e-6
        assert not np.allclose(y, x, atol=1e-3)


def test_strength_zero_and_identity_tint_change_nothing() -> None:
    x = voiced(24000)
    assert np.array_equal(apply_tint(x, 24000, VoiceTint(**{**FULL_TINT.__dict__, "strength": 0.0})), x)
    assert np.array_equal(apply_tint(x, 24000, VoiceTint()), x)
    assert VoiceTint(pitch_semitones=2.0, strength=0.0).is_identity and not FULL_TINT.is_identity


def test_strength_scales_parameters() -> None:
    half = VoiceTint(pitch_semitones=4.0, pitch_range=1.44, formant_ratio=1.21, envelope_db=(2.0, -4.0),
                     strength=0.5).scaled()
    assert half.pitch_semitones == pytest.approx(2.0)
    assert half.pitch_range == pytest.approx(1.2)
    assert half.formant_ratio == pytest.approx(1.1)
    assert half.envelope_db == pytest.approx((1.0, -2.0))


@pytest.mark.parametrize("strength", [1.0, 0.5])
def test_strength_sets_measured_pitch_shift(strength: float) -> None:
    rate = 24000
    x = voiced(rate, 1.5)
    y = apply_tint(x, rate, VoiceTint(pitch_semitones=4.0, strength=strength))
    assert 12 * math.log2(median_f0(y, rate) / median_f0(x, rate)) == pytest.approx(4.0 * strength, abs=0.3)


def test_which_backends_speak(piper_backend: Any, kokoro: Any) -> None:
    assert speaks(piper_backend, "en-US") and not speaks(piper_backend, "zh")
    assert speaks(kokoro, "zh") and speaks(kokoro, "en")


def test_a_prepared_line_tints_like_apply_tint_for_every_setting() -> None:
    from revoice.engine.characters.tint import tint_line
    from revoice.engine.dsp.voice_transform import PreparedLine, shift_pitch_formants

    rate = 24000
    x = voiced(rate, 1.3)
    line = PreparedLine(x, rate)
    tints = [FULL_TINT, VoiceTint(pitch_semitones=-2.5, formant_ratio=0.9), VoiceTint(formant_ratio=1.08),
             VoiceTint(pitch_semitones=3.0, strength=0.5), FULL_TINT, VoiceTint()]
    for tint in tints:  # analyses made once, reused: the samples are those of a fresh apply_tint
        assert np.array_equal(tint_line(line, tint), apply_tint(x, rate, tint))
    assert np.array_equal(line.shift(semitones=2.0, formant_ratio=1.1),
                          shift_pitch_formants(x, rate, semitones=2.0, formant_ratio=1.1))
    with pytest.raises(ValueError, match="formant_ratio"):
        line.shift(formant_ratio=0.0)
