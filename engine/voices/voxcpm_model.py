"""VoxCPM2 model code for :mod:`revoice.engine.voices.voxcpm_voice`: imports, config, tokenizer, checkpoints.

Only ``voxcpm.model.voxcpm2`` (and the modules it imports) is loaded, never the
package's ``__init__``: that one imports ``voxcpm.core`` (hub downloads through
``huggingface_hub.snapshot_download``, the ModelScope denoiser) and the VoxCPM 1.x
model, which imports torchaudio, and the torchaudio on PyPI does not import with
CPU torch. The VoxCPM2 path itself reads audio with librosa, so no placeholder is
needed. The model is built from the package's own classes (``VoxCPM2Model``,
``AudioVAE`` V2) the way ``VoxCPM2Model.from_local`` does, but offline, with
``weights_only`` checkpoints and a check that no model tensor is left unloaded.

Importing this module imports neither torch nor voxcpm.
"""

from __future__ import annotations

import contextlib
import importlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from revoice.engine.voices._shared import bare_packages, offline_hub
from revoice.engine.voices.f5_model import load_tensors

if TYPE_CHECKING:
    import torch

T = TypeVar("T")

VOXCPM_VERSION = "2.0.3"
INSTALL_HINT = f"pip install 'revoice[neural]' && pip install --no-deps voxcpm=={VOXCPM_VERSION}"
"""How to install what VoxCPM2 needs (voxcpm without its declared dependencies: torchaudio, gradio, funasr...)."""

ARCHITECTURE = "voxcpm2"
"""The ``architecture`` field of a VoxCPM2 config.json (VoxCPM 1.x says ``voxcpm``)."""

_BARE_PACKAGES = ("voxcpm", "voxcpm.model")
"""Packages entered without running their ``__init__`` (hub downloads, the torchaudio-bound VoxCPM 1.x model)."""


@dataclass(frozen=True)
class ModelFiles:
    """The files of a VoxCPM2 weights folder (as ``openbmb/VoxCPM2`` ships them)."""

    folder: Path
    config: Path
    """config.json: the model config, ``architecture`` ``voxcpm2``."""
    model: Path
    """model.safetensors (or pytorch_model.bin, read with weights_only)."""
    audio_vae: Path
    """audiovae.safetensors (or audiovae.pth, read with weights_only)."""


# ---------------------------------------------------------------------------- imports


@contextlib.contextmanager
def model_imports() -> Iterator[None]:
    """Import VoxCPM2's model modules without the ``voxcpm`` / ``voxcpm.model`` package ``__init__``.

    The two packages are entered as bare modules (:func:`~revoice.engine.voices._shared.bare_packages`)
    and HF_HUB_OFFLINE is set.
    """
    with offline_hub(), bare_packages(_BARE_PACKAGES, install_hint=INSTALL_HINT):
        yield


def _no_progress(iterable: Iterable[T], *_args: object, **_kwargs: object) -> Iterable[T]:
    """Stands in for tqdm in voxcpm2's generation loop: the iterable itself, no progress bar per line on stderr."""
    return iterable


def voxcpm2_module() -> Any:
    """``voxcpm.model.voxcpm2`` (VoxCPM2Model, VoxCPMConfig, AudioVAEV2), imported through :func:`model_imports`.

    The module's ``tqdm`` (a bar per generated line, which ``TQDM_DISABLE`` cannot turn off once tqdm
    is imported) is replaced by :func:`_no_progress`.
    """
    with model_imports():
        module = importlib.import_module("voxcpm.model.voxcpm2")
    if getattr(module, "tqdm", None) is not _no_progress:
        setattr(module, "tqdm", _no_progress)
    return module


# ---------------------------------------------------------------------------- config and tokenizer


def read_config(path: Path) -> Any:
    """The ``VoxCPMConfig`` in ``path`` (config.json); ValueError in one line naming the file and field."""
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not a readable JSON config ({exc})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object (the VoxCPM2 config)")
    architecture = str(data.get("architecture", "voxcpm")).lower()
    if architecture != ARCHITECTURE:
        raise ValueError(f"{path}: architecture {architecture!r} is not supported; Revoice loads VoxCPM2 weights "
                         f"(config.json \"architecture\": \"{ARCHITECTURE}\")")
    module = voxcpm2_module()
    try:
        return module.VoxCPMConfig.model_validate(data)
    except Exception as exc:  # pydantic.ValidationError: first problem only, one line
        errors = getattr(exc, "errors", None)
        first = errors()[0] if callable(errors) and errors() else {}
        field = ".".join(str(part) for part in first.get("loc", ())) or "?"
        raise ValueError(f"{path}: field {field}: {first.get('msg', exc)}") from None


def load_tokenizer(folder: Path) -> Any:
    """The text tokenizer of a weights folder (``LlamaTokenizerFast`` from its tokenizer files, offline)."""
    with offline_hub():
        transformers = importlib.import_module("transformers")
        return transformers.LlamaTokenizerFast.from_pretrained(str(folder), local_files_only=True)


# ---------------------------------------------------------------------------- the model


def runtime_dtype(config_dtype: str, device: str) -> str:
    """The dtype the model runs in: the config's (VoxCPM2: bfloat16) on CUDA with bf16 support, else float32.

    On CPU bfloat16 matmuls are slow and float32 gives the same samples run after run.
    """
    import torch

    if device.startswith("cuda"):
        low = config_dtype.lower() in ("bfloat16", "bf16")
        return config_dtype if not low or torch.cuda.is_bf16_supported() else "float32"
    return "float32"


def build_model(config: Any, tokenizer: Any, *, device: str) -> Any:
    """An untrained ``VoxCPM2Model`` (the package's own classes) for ``config`` on ``device``.

    ``config.device`` / ``config.dtype`` are set to ``device`` / :func:`runtime_dtype`;
    the AudioVAE V2 comes from ``config.audio_vae_config`` (its defaults when absent).
    """
    module = voxcpm2_module()
    config = config.model_copy(deep=True)
    config.device = device
    config.dtype = runtime_dtype(str(config.dtype), device)
    vae_config = getattr(config, "audio_vae_config", None)
    audio_vae = module.AudioVAEV2(config=vae_config) if vae_config is not None else module.AudioVAEV2()
    return module.VoxCPM2Model(config, tokenizer, audio_vae, None, device=device)


def model_state(model_tensors: Mapping[str, torch.Tensor],
                vae_tensors: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """One state dict for ``VoxCPM2Model``: the model's tensors plus the VAE's under ``audio_vae.``."""
    state = dict(model_tensors)
    state.update({f"audio_vae.{name}": value for name, value in vae_tensors.items()})
    return state


def load_weights(model: Any, state: Mapping[str, torch.Tensor], *, source: Path) -> None:
    """Copy ``state`` into ``model``; ValueError (one line) when a model tensor is missing or a shape differs.

    LoRA adapters (``lora_`` names) may be absent, as in the released checkpoints; extra tensors
    in the checkpoint are ignored.
    """
    try:
        result = model.load_state_dict(dict(state), strict=False)
    except RuntimeError as exc:
        detail = next((line.strip() for line in str(exc).splitlines()[1:] if line.strip()), str(exc))
        raise ValueError(f"{source}: the checkpoint does not fit config.json: {detail}") from None
    missing = [name for name in result.missing_keys if "lora_" not in name]
    if missing:
        raise ValueError(f"{source}: the checkpoint lacks {len(missing)} of the model's tensors "
                         f"(first: {missing[0]}); is it the VoxCPM2 checkpoint that config.json describes?")


def load_model(files: ModelFiles, *, device: str) -> Any:
    """A ready ``VoxCPM2Model`` (eval mode, on ``device``) from a weights folder's files; nothing is downloaded."""
    import torch

    config = read_config(files.config)
    tokenizer = load_tokenizer(files.folder)
    model = build_model(config, tokenizer, device=device)
    dtype = model._dtype()
    model = model.to(dtype)
    model.audio_vae = model.audio_vae.to(torch.float32)
    load_weights(model, model_state(load_tensors(files.model), load_tensors(files.audio_vae)), source=files.model)
    return model.to(device).eval()
