"""The voice-converter interface.

A converter is published as a :class:`ConverterSpec` through the entry-point group
``revoice.voice_converters``. The spec carries the metadata (sample rate, GPU need, licence, whether the
weights allow commercial use) and is cheap to import; the model loads only in ``factory``. Options are
the voice backends' :class:`~revoice.engine.voices.base.BackendOptions` (device, weights folder, threads).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from revoice.engine.model import AudioArray
from revoice.engine.voices.base import BackendOptions, BackendUnavailable

ConverterOptions = BackendOptions
"""How to load a converter: ``device``, ``weights_dir`` (else the converter's environment variable), ``threads``."""


@runtime_checkable
class VoiceConverter(Protocol):
    """A loaded converter. It holds its model; :meth:`convert` keeps the sample rate (same rate in and out)."""

    @property
    def spec(self) -> ConverterSpec: ...

    def convert(self, *, audio: AudioArray, sample_rate: int, reference_audio: AudioArray,
                reference_sample_rate: int) -> AudioArray:
        """``audio`` (float32 mono at ``sample_rate`` Hz) spoken in ``reference_audio``'s timbre.

        The result is float32 mono at ``sample_rate``, about as long as ``audio`` with the words where they
        were (:func:`revoice.engine.conversion.stage.convert_speech` makes that exact).
        """
        ...


@dataclass(frozen=True)
class ConverterSpec:
    """Metadata for one converter plus lazy hooks to check and load it.

    ``availability`` returns None when the converter can load here, else one sentence saying why not and
    what to do (missing package, missing weights file). ``factory`` is called only after it passed.
    """

    name: str
    display_name: str
    sample_rate: int
    """The model's own rate in Hz; the stage resamples to it and back."""
    needs_gpu: bool
    licence: str
    """Licence of the code and of the weights, in words."""
    commercial_use: bool
    """Whether the converter's WEIGHTS allow commercial use."""
    description: str
    availability: Callable[[ConverterOptions], str | None]
    factory: Callable[[ConverterOptions], VoiceConverter]
    version: str = "1"
    """Changes whenever the same weights would convert differently (part of a render's key)."""
    settings_version: Callable[[ConverterOptions], str] | None = None
    """What the load options or the environment change in the sound (e.g. diffusion steps), appended to
    ``version`` by :meth:`version_for`; None when nothing does."""

    def version_for(self, options: ConverterOptions) -> str:
        """``version`` with the settings ``options`` (and the environment) give; loads nothing."""
        if self.settings_version is None:
            return self.version
        try:
            return f"{self.version}/{self.settings_version(options)}"
        except Exception as exc:  # a bad setting: the load refuses it with the reason; the key just differs
            return f"{self.version}/unusable-settings:{type(exc).__name__}"


class ConverterUnavailable(BackendUnavailable):
    """No converter fits, or one cannot load; the message says why (for every converter, when choosing).

    A kind of :class:`~revoice.engine.voices.base.BackendUnavailable`: a run whose converter cannot load stops
    as one whose voice cannot (one line, exit 3), not line by line."""


class ConversionError(ValueError):
    """A converter gave unusable audio (empty, silent, not finite): that line fails, the batch goes on."""


def missing_modules(modules: Sequence[str], *, install: str) -> str | None:
    """A sentence naming the first of ``modules`` that is not importable and how to install it, else None."""
    for module in modules:
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            return f"Python module {module!r} is not installed; install it with: {install}"
    return None


def weights_folder_problem(folder: Path | None, files: Sequence[str], *, env_var: str, what: str) -> str | None:
    """One sentence on what is missing from a local weights ``folder`` (None when every file is there).

    ``files`` are paths relative to the folder; ``what`` names the weights in the message
    ("OpenVoice V2 converter weights"). Nothing is ever downloaded.
    """
    if folder is None:
        return (f"no {what} folder: set {env_var} or --weights NAME=DIR to a local folder holding "
                f"{', '.join(files)} (nothing is downloaded)")
    if not folder.is_dir():
        return f"{what} folder {folder} does not exist (set {env_var} or --weights NAME=DIR)"
    for name in files:
        if not (folder / name).is_file():
            return f"{what} file {folder / name} is missing (nothing is downloaded; put it there)"
    return None
