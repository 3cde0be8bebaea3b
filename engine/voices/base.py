"""The voice-backend interface.

A backend is published as a :class:`BackendSpec` through the entry-point
group ``revoice.voice_backends``. The spec carries the metadata (languages,
sample rate, duration control, GPU need, licence, whether its weights allow
commercial use) and is cheap to import; the heavy model code is imported only
by :meth:`BackendSpec.load`.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
from revoice.engine.language import base_language
from revoice.engine.model import AudioArray as AudioArray  # defined with the model; re-exported for backends
from revoice.engine.model import Segment as Segment


@dataclass(frozen=True)
class VoiceInfo:
    """One voice a backend can speak with."""

    voice_id: str
    languages: tuple[str, ...]
    description: str = ""
    gender: str = ""
    licence: str = ""


@dataclass(frozen=True)
class SynthesisRequest:
    """What to say and how.

    ``duration_scale`` is the backend's own rate control: 1.0 is natural
    speed, 0.8 asks for speech about 20% shorter, 1.25 about 25% longer.
    ``target_seconds`` is honoured only by backends with native duration
    control (``BackendInfo.native_duration_control``).
    """

    text: str
    voice_id: str
    language: str = "en"
    duration_scale: float = 1.0
    target_seconds: float | None = None
    seed: int = 0
    reference_audio: AudioArray | None = None
    reference_sample_rate: int | None = None
    reference_text: str | None = None
    """Transcript of ``reference_audio``, for zero-shot backends that need it (F5-TTS)."""
    emotion: str | None = None
    """For backends with emotion control (``BackendSpec.emotion_control``): a label, ``label:weight`` list or
    description; None keeps the reference's (or the voice's) own reading."""
    emotion_audio: AudioArray | None = None
    """A recording whose performance the line should carry (the original take), mono at ``emotion_sample_rate``."""
    emotion_sample_rate: int | None = None
    emotion_strength: float = 1.0
    """How much of ``emotion`` / ``emotion_audio`` to apply (0-1)."""


@dataclass(frozen=True)
class Synthesis:
    """Synthesized speech at the backend's native sample rate."""

    audio: AudioArray
    sample_rate: int
    segments: tuple[Segment, ...] = ()

    @property
    def seconds(self) -> float:
        return len(self.audio) / self.sample_rate


def assemble_synthesis(pieces: Sequence[AudioArray], labels: Sequence[tuple[str, int]],
                       sample_rate: int) -> Synthesis:
    """Join audio pieces into one Synthesis whose segments tile it (label, length in samples).

    Peaks above full scale are scaled down to 0.99 (no clipping); levels are
    otherwise kept for the engine's loudness stage.
    """
    audio = np.concatenate(pieces).astype(np.float32, copy=False) if pieces else np.zeros(0, np.float32)
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    if peak > 1.0:
        audio = (audio * np.float32(0.99 / peak)).astype(np.float32)
    segments: list[Segment] = []
    position = 0
    for label, count in labels:
        segments.append(Segment(label, position, position + count))
        position += count
    return Synthesis(audio=audio, sample_rate=sample_rate, segments=tuple(segments))


@runtime_checkable
class VoiceBackend(Protocol):
    """A loaded, ready-to-speak backend. Implementations hold their model."""

    @property
    def spec(self) -> BackendSpec: ...

    def voices(self) -> Sequence[VoiceInfo]: ...

    def synthesize(self, request: SynthesisRequest) -> Synthesis: ...


@runtime_checkable
class VoiceHooks(Protocol):
    """Optional extras a :class:`VoiceBackend` may offer the renderer (characters' voice profiles do).

    The renderer asks ``isinstance(backend, VoiceHooks)``; a backend without
    them renders exactly as before. Both return None for a plain voice.
    """

    def voice_key(self, voice_id: str) -> str | None:
        """What decides ``voice_id``'s sound beyond its id (e.g. a profile's content key); joins the render key."""

    def voice_report(self, voice_id: str, language: str) -> dict[str, Any] | None:
        """JSON-ready facts about how ``voice_id`` speaks ``language``; stored in the line's report."""


@dataclass(frozen=True)
class BackendOptions:
    """How to load a backend: the device and, for user-supplied models, the weights folder."""

    device: str = "cpu"
    weights_dir: str | None = None
    threads: int | None = None
    dictionary: str | None = None
    """The project's pronunciation dictionary (.json/.toml), for backends that read one."""
    commercial: bool = False
    """Commercial use only (``revoice run --commercial``): a backend whose weights' licence does not allow
    commercial use (``BackendSpec.commercial_use`` False) is neither chosen nor loaded."""

    def weights_folder(self, env_var: str) -> Path | None:
        """``weights_dir``, else the folder named by the environment variable ``env_var``, else None."""
        chosen = self.weights_dir or os.environ.get(env_var) or None
        return Path(chosen).expanduser() if chosen else None


@contextlib.contextmanager
def temporary_environment(values: Mapping[str, str]) -> Iterator[None]:
    """Environment variables set to ``values`` for the duration; the old values (or their absence) come back.

    Plugins load third-party models inside it with the hub offline (``HF_HUB_OFFLINE=1``).
    """
    old = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


EMOTION_CONTROLS: tuple[str, ...] = ("reference", "vector", "text", "label")
"""What ``BackendSpec.emotion_control`` may name:

* ``reference``: an emotion reference recording (``SynthesisRequest.emotion_audio`` with ``emotion_strength``);
* ``vector``: a weighted mix of the model's own emotions (Revoice's labels are mapped onto it);
* ``text``: emotion words (a description is passed as written; a label as words or an instruction);
* ``label``: Revoice's labels by name, every one rendered natively, whisper included.
"""


@dataclass(frozen=True)
class BackendSpec:
    """Metadata for one backend plus lazy hooks to check and load it.

    ``availability`` returns None when the backend can load here, else a
    sentence saying why not and what to do (missing package, missing weights).
    ``factory`` builds the backend; it is only called after availability passed.
    """

    name: str
    display_name: str
    languages: tuple[str, ...]
    sample_rate: int
    native_duration_control: bool
    needs_gpu: bool
    licence: str
    description: str
    availability: Callable[[BackendOptions], str | None]
    factory: Callable[[BackendOptions], VoiceBackend]
    voice_list: Callable[[], Sequence[VoiceInfo]] = field(default=lambda: ())
    clones_from_reference: bool = False
    """Zero-shot cloning: every request needs ``reference_audio`` (and, for some, ``reference_text``).
    Such backends are chosen by name or by a character's voice profile, never as a default voice."""
    emotion_control: tuple[str, ...] = ()
    """The emotion inputs the backend renders itself, from :data:`EMOTION_CONTROLS`; () leaves emotion to
    Revoice's own prosody DSP (:func:`revoice.engine.voices.emotion_args.native_emotion` decides per line)."""
    commercial_use: bool = False
    """Whether the licence of the model WEIGHTS (not only the code) allows commercial use. Every plugin should
    say so; one that does not is treated as not cleared, and ``revoice run --commercial`` refuses it."""
    commercial_note: str = ""
    """The reason in a few words, shown beside the flag: "weights Apache-2.0", "weights CC-BY-NC-4.0:
    non-commercial use only", "commercial use needs a licence from bilibili"."""

    def __post_init__(self) -> None:
        unknown = [name for name in self.emotion_control if name not in EMOTION_CONTROLS]
        if unknown:
            raise ValueError(f"backend {self.name!r}: unknown emotion_control {', '.join(map(repr, unknown))}; "
                             f"use {', '.join(EMOTION_CONTROLS)}")

    def supports_language(self, language: str) -> bool:
        """Whether one of ``languages`` has ``language``'s base language (``"en-GB"`` ~ ``"en"``)."""
        base = base_language(language)
        return any(base_language(lang) == base for lang in self.languages)


class BackendUnavailable(RuntimeError):
    """No backend fits; the message lists every backend's reason."""
