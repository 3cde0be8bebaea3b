"""Kaldi-compatible log mel filter-bank features, for Seed-VC's CAM++ speaker encoder (numpy only).

Seed-VC feeds its CAM++ encoder ``torchaudio.compliance.kaldi.fbank(wave_16k, num_mel_bins=80, dither=0,
sample_frequency=16000)``; torchaudio does not import beside CPU torch 2.13, so :func:`kaldi_fbank`
computes the same features from the same definition (Kaldi's ``compute-fbank-feats`` defaults):

* frames of 25 ms every 10 ms, only whole frames (``snip_edges``): ``1 + (n - 400) // 160`` at 16 kHz;
* per frame: DC offset removed, pre-emphasis 0.97 (the first sample against itself), Povey window
  (a symmetric Hann window to the power 0.85), zero-padded to the next power of two (512);
* power spectrum through triangular filters equally spaced on Kaldi's mel scale
  ``1127 ln(1 + f / 700)`` from 20 Hz to Nyquist; natural log, floored at float32's epsilon.

Input is float audio in [-1, 1] as Seed-VC passes it (not scaled to 16-bit). Importing this module
imports only numpy.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

PREEMPHASIS = 0.97
LOW_FREQUENCY_HZ = 20.0
POVEY_POWER = 0.85
LOG_FLOOR = float(np.finfo(np.float32).eps)


def kaldi_mel(frequency_hz: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Kaldi's mel scale: ``1127 ln(1 + f / 700)`` (f in Hz)."""
    return 1127.0 * np.log1p(np.asarray(frequency_hz, dtype=np.float64) / 700.0)


def povey_window(length: int) -> npt.NDArray[np.float64]:
    """Kaldi's Povey window of ``length`` samples: a symmetric Hann window raised to 0.85."""
    if length == 1:
        return np.ones(1)
    hann = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(length) / (length - 1))
    return np.power(hann, POVEY_POWER)


def mel_banks(num_bins: int, fft_size: int, sample_rate: int, *,
              low_hz: float = LOW_FREQUENCY_HZ, high_hz: float = 0.0) -> npt.NDArray[np.float64]:
    """Triangular filters, shape ``(num_bins, fft_size // 2 + 1)``, as Kaldi builds them.

    ``high_hz`` <= 0 counts down from Nyquist (0 = Nyquist). The last FFT bin (Nyquist) gets no weight.
    """
    nyquist = sample_rate / 2.0
    high = nyquist + high_hz if high_hz <= 0 else high_hz
    if not 0.0 <= low_hz < high <= nyquist:
        raise ValueError(f"mel filter range {low_hz}-{high} Hz does not fit 0-{nyquist} Hz")
    mel_low, mel_high = kaldi_mel(low_hz), kaldi_mel(high)
    delta = (mel_high - mel_low) / (num_bins + 1)
    edges = mel_low + delta * np.arange(num_bins + 2)
    left, centre, right = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    bin_mel = kaldi_mel(np.arange(fft_size // 2) * sample_rate / fft_size)[None, :]
    up = (bin_mel - left) / (centre - left)
    down = (right - bin_mel) / (right - centre)
    weights = np.maximum(0.0, np.minimum(up, down))
    return np.pad(weights, ((0, 0), (0, 1)))


def kaldi_fbank(audio: npt.ArrayLike, *, sample_rate: int = 16000, num_mel_bins: int = 80,
                frame_length_ms: float = 25.0, frame_shift_ms: float = 10.0) -> npt.NDArray[np.float32]:
    """Log mel filter-bank energies, shape ``(frames, num_mel_bins)``, float32 (see the module docstring).

    ``audio`` is mono float at ``sample_rate`` Hz; shorter than one frame gives ``(0, num_mel_bins)``.
    """
    wave = np.asarray(audio, dtype=np.float64).reshape(-1)
    window_size = int(sample_rate * frame_length_ms / 1000)
    shift = int(sample_rate * frame_shift_ms / 1000)
    fft_size = 1 << (window_size - 1).bit_length()
    if len(wave) < window_size:
        return np.zeros((0, num_mel_bins), np.float32)
    count = 1 + (len(wave) - window_size) // shift
    starts = np.arange(count)[:, None] * shift
    frames = wave[starts + np.arange(window_size)[None, :]]
    frames = frames - frames.mean(axis=1, keepdims=True)
    previous = np.concatenate([frames[:, :1], frames[:, :-1]], axis=1)
    frames = (frames - PREEMPHASIS * previous) * povey_window(window_size)[None, :]
    power = np.abs(np.fft.rfft(frames, n=fft_size, axis=1)) ** 2
    energies = power @ mel_banks(num_mel_bins, fft_size, sample_rate).T
    return np.log(np.maximum(energies, LOG_FLOOR)).astype(np.float32)
