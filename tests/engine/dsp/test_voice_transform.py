"""Voice-matching DSP: exact length, identity, pitch moves F0 and keeps the envelope, formant warp moves it."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pytest

pytest.importorskip("pedalboard")
pytest.importorskip("librosa")

from revoice.engine.dsp.voice_transform import (  # noqa: E402
    BAND_CENTRES_HZ,
    apply_band_eq,
    band_levels_db,
    eq_gain_curve,
    median_f0,
    shift_pitch,
    shift_pitch_formants,
    spectral_centroid,
)


def vowel(sample_rate: int, seconds: float = 1.5, *, f0: float = 140.0, vibrato: float = 0.0,
          seed: int = 0) -> npt.NDArray[np.float32]:
    """A sung vowel: harmonics of ``f0`` (optional vibrato depth, semitones) under fixed formant peaks.

    Harmonics start in phase (a pulse per period, as glottal excitation is): PSOLA, like a voice, relies on it.
    ``seed`` jitters the phases by up to 0.1 rad.
    """
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    inst = f0 * 2.0 ** (vibrato * np.sin(2 * np.pi * 3.0 * t) / 12.0)
    phase = 2 * np.pi * np.cumsum(inst) / sample_rate
    x = np.zeros_like(t)
    for k in range(1, int(7000 / f0)):
        f = k * f0
        envelope = sum(a * math.exp(-(((f - c) / w) ** 2)) for c, w, a in ((500, 300, 1.0), (1500, 400, 0.5),
                                                                            (2600, 500, 0.3)))
        x += (0.05 + envelope) * np.cos(k * phase + rng.uniform(-0.1, 0.1))
    fade = np.minimum(1.0, np.minimum(t, t[-1] - t) / 0.05)
    return np.asarray(0.5 * x * fade / np.max(np.abs(x)), dtype=np.float32)


@pytest.mark.parametrize("rate", [22050, 24000, 48000])
@pytest.mark.parametrize("semitones, pitch_range, formant", [(3.0, 1.0, 1.0), (-4.0, 1.0, 0.9), (0.0, 1.0, 1.15),
                                                              (2.0, 1.5, 1.05)])
def test_length_is_exact(rate: int, semitones: float, pitch_range: float, formant: float) -> None:
    x = vowel(rate, 1.01, vibrato=1.0)
    y = shift_pitch_formants(x, rate, semitones=semitones, pitch_range=pitch_range, formant_ratio=formant)
    assert y.dtype == np.float32 and y.shape == x.shape
    assert np.all(np.isfinite(y)) and np.max(np.abs(y)) > 0.05
    z = apply_band_eq(x, rate, tuple(np.linspace(-6, 6, len(BAND_CENTRES_HZ))))
    assert z.dtype == np.float32 and z.shape == x.shape


def test_identity_parameters_change_nothing() -> None:
    x = vowel(24000)
    assert np.array_equal(shift_pitch_formants(x, 24000), x)
    assert np.array_equal(apply_band_eq(x, 24000, ()), x)
    assert np.array_equal(apply_band_eq(x, 24000, (0.0,) * 5), x)


@pytest.mark.parametrize("semitones", [-5.0, 4.0])
def test_pitch_shift_moves_f0_and_keeps_envelope(semitones: float) -> None:
    rate = 24000
    x = vowel(rate, f0=110.0)
    y = shift_pitch_formants(x, rate, semitones=semitones)
    measured = 12.0 * math.log2(median_f0(y, rate) / median_f0(x, rate))
    assert measured == pytest.approx(semitones, abs=0.3)
    # Formants kept: the centroid moves far less than with a plain shift, which moves it with the pitch.
    def moved(z: npt.NDArray[np.float32]) -> float:
        return abs(math.log2(spectral_centroid(z, rate, max_hz=3500) / spectral_centroid(x, rate, max_hz=3500)))

    plain = shift_pitch(x, rate, semitones=semitones)
    assert moved(plain) > 0.6 * abs(semitones) / 12.0
    assert moved(y) < 0.4 * moved(plain)


@pytest.mark.parametrize("formant, direction", [(1.15, 1), (0.87, -1)])
def test_formant_warp_moves_centroid_not_pitch(formant: float, direction: int) -> None:
    rate = 22050
    x = vowel(rate, f0=110.0)
    y = shift_pitch_formants(x, rate, formant_ratio=formant)
    assert 12.0 * math.log2(median_f0(y, rate) / median_f0(x, rate)) == pytest.approx(0.0, abs=0.3)
    moved = math.log2(spectral_centroid(y, rate, max_hz=3500) / spectral_centroid(x, rate, max_hz=3500))
    assert direction * moved > 0.5 * abs(math.log2(formant))


def hiss(sample_rate: int, seconds: float = 0.6, *, seed: int = 1) -> npt.NDArray[np.float32]:
    """An /s/-like fricative: noise with a broad peak near 6 kHz, nothing voiced."""
    rng = np.random.default_rng(seed)
    spectrum = np.fft.rfft(rng.standard_normal(int(seconds * sample_rate)))
    freqs = np.fft.rfftfreq(int(seconds * sample_rate), 1.0 / sample_rate)
    spectrum *= np.exp(-(((freqs - 6000.0) / 1500.0) ** 2))
    x = np.fft.irfft(spectrum, int(seconds * sample_rate))
    return np.asarray(0.3 * x / np.max(np.abs(x)), dtype=np.float32)


@pytest.mark.parametrize("rate", [22050, 48000])
@pytest.mark.parametrize("semitones, formant", [(0.0, 0.87), (-2.0, 2.0 ** (-2.0 / 12.0)), (3.0, 1.1)])
def test_formants_move_in_vowels_and_fricatives_keep_their_spectrum(rate: int, semitones: float,
                                                                   formant: float) -> None:
    """The vocal-tract warp is for voiced frames: an /s/ warped with them turns into another consonant."""
    from revoice.engine.dsp.voice_transform import VOICING_BANDS_HZ, voicing

    fricative, vowel_part = hiss(rate), vowel(rate, 0.8, f0=110.0)
    x = np.concatenate([vowel_part, fricative])
    y = shift_pitch_formants(x, rate, semitones=semitones, formant_ratio=formant)
    cut = vowel_part.size + rate // 20  # past the joint
    def centre(a: npt.NDArray[np.float32]) -> float:
        return spectral_centroid(a, rate, max_hz=min(11000.0, rate / 2))
    assert abs(math.log2(centre(y[cut:]) / centre(x[cut:]))) < 0.03  # the hiss stays where it was
    moved = math.log2(spectral_centroid(y[: vowel_part.size - rate // 20], rate, max_hz=3500)
                      / spectral_centroid(x[: vowel_part.size - rate // 20], rate, max_hz=3500))
    assert np.sign(moved) == np.sign(math.log2(formant)) and abs(moved) > 0.3 * abs(math.log2(formant))
    spectra = np.fft.rfft(np.stack([vowel_part[:2048], fricative[:2048]], axis=1), axis=0)
    v = voicing(spectra, np.fft.rfftfreq(2048, 1.0 / rate))
    assert v[0] > 0.9 and v[1] < 0.1 and VOICING_BANDS_HZ[1] < 6000


def test_psola_refuses_what_praat_cannot_analyse_and_the_shift_falls_back() -> None:
    from revoice.engine.dsp.voice_transform import psola_shift

    rate = 22050
    blip = vowel(rate, 0.04, f0=110.0)  # shorter than Praat's analysis window at 60 Hz
    with pytest.raises(ValueError, match="PSOLA could not shift"):
        psola_shift(blip, rate, semitones=3.0, f0_hz=110.0)
    y = shift_pitch_formants(blip, rate, semitones=3.0, f0_hz=110.0)  # Rubber Band instead
    assert y.shape == blip.shape and not np.allclose(y, blip, atol=1e-3)


def test_pitch_range_scales_excursions() -> None:
    import librosa

    rate = 16000
    x = vowel(rate, 2.0, f0=150.0, vibrato=1.5)

    def spread(audio: npt.NDArray[np.float32]) -> float:
        """10th to 90th percentile of the F0 track, semitones (robust to the odd octave error)."""
        f0 = librosa.yin(audio, fmin=80, fmax=400, sr=rate, frame_length=1024, hop_length=160)[10:-10]
        p10, p90 = np.percentile(12.0 * np.log2(f0), [10, 90])
        return float(p90 - p10)

    wide = shift_pitch_formants(x, rate, pitch_range=2.0)
    flat = shift_pitch_formants(x, rate, pitch_range=0.3)
    assert spread(wide) > 1.4 * spread(x)
    assert spread(flat) < spread(x) / 1.8


def test_band_eq_gain_and_tilt() -> None:
    rate = 48000
    t = np.arange(rate) / rate
    tone = (0.1 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)
    boosted = apply_band_eq(tone, rate, (6.0,) * len(BAND_CENTRES_HZ))
    middle = slice(rate // 4, 3 * rate // 4)
    gain_db = 20 * math.log10(np.std(boosted[middle]) / np.std(tone[middle]))
    assert gain_db == pytest.approx(6.0, abs=0.3)
    x = vowel(rate)
    tilt = tuple(np.linspace(-6, 6, len(BAND_CENTRES_HZ)))
    assert spectral_centroid(apply_band_eq(x, rate, tilt), rate) > 1.2 * spectral_centroid(x, rate)
    levels = band_levels_db(apply_band_eq(x, rate, tilt), rate) - band_levels_db(x, rate)
    assert levels[-3] - levels[2] > 6.0
    # Above the top band the correction fades out to 0 dB.
    assert eq_gain_curve(np.array(tilt), np.array([BAND_CENTRES_HZ[-1] * 2.5]))[0] == 0.0


def test_band_levels_nan_above_nyquist() -> None:
    levels = band_levels_db(vowel(8000), 8000)
    assert np.isnan(levels[-1]) and np.isfinite(levels[0])


def test_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        shift_pitch_formants(np.zeros((2, 10), np.float32), 24000, semitones=1.0)
    with pytest.raises(ValueError):
        shift_pitch_formants(vowel(24000), 24000, formant_ratio=0.0)
