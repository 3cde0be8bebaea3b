"""Which voices a :class:`revoice.engine.render.Revoicer` converts, to whose timbre, with which converter.

A :class:`ConversionPlan` maps a voice id (a character's profile voice, a stock voice) to a
:class:`ConversionTarget`: a converter (usually a :class:`~revoice.engine.conversion.registry.LazyConverter`,
so a rerun of finished lines loads no model) and the reference recording. The renderer asks
:meth:`ConversionPlan.key_for` for the render key and :meth:`ConversionPlan.apply` after the performance
stage, before the watermark and loudness.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from revoice.engine.conversion.base import VoiceConverter
from revoice.engine.conversion.stage import convert_speech
from revoice.engine.model import AudioArray


@dataclass(frozen=True)
class ConversionTarget:
    """Convert a voice to ``reference_audio``'s timbre (float32 mono at ``reference_sample_rate`` Hz)."""

    converter: VoiceConverter
    reference_audio: AudioArray = field(repr=False, compare=False)
    reference_sample_rate: int
    reference_digest: str = field(init=False, default="")
    """SHA-256 of the reference samples and rate: a new reference gives new render keys."""

    def __post_init__(self) -> None:
        audio = np.ascontiguousarray(np.asarray(self.reference_audio, dtype=np.float32))
        if audio.ndim != 1 or audio.size == 0:
            raise ValueError(f"reference audio must be non-empty mono, got shape {audio.shape}")
        if self.reference_sample_rate <= 0:
            raise ValueError(f"reference sample rate must be positive, got {self.reference_sample_rate}")
        object.__setattr__(self, "reference_audio", audio)
        digest = hashlib.sha256(audio.tobytes() + str(self.reference_sample_rate).encode()).hexdigest()
        object.__setattr__(self, "reference_digest", digest)

    def key(self) -> dict[str, Any]:
        """What decides the converted sound (JSON-ready; joins the render key). Loads no model."""
        spec = self.converter.spec
        return {"converter": spec.name, "version": spec.version, "reference": self.reference_digest}

    def convert(self, audio: AudioArray, sample_rate: int) -> AudioArray:
        """``audio`` converted by :func:`~revoice.engine.conversion.stage.convert_speech` (same length, onset)."""
        return convert_speech(audio, sample_rate, converter=self.converter, reference_audio=self.reference_audio,
                              reference_sample_rate=self.reference_sample_rate)


@dataclass(frozen=True)
class ConversionPlan:
    """Conversion targets by voice id; voices not listed are left as they are."""

    targets: Mapping[str, ConversionTarget] = field(default_factory=dict)

    def target_for(self, voice_id: str) -> ConversionTarget | None:
        return self.targets.get(voice_id)

    def key_for(self, voice_id: str) -> dict[str, Any] | None:
        """The render-key part for ``voice_id`` (None: not converted, the key stays as it was)."""
        target = self.target_for(voice_id)
        return None if target is None else target.key()

    def portable(self) -> dict[str, tuple[str, AudioArray, int]]:
        """The plan as plain data for another process: voice id -> (converter name, reference audio, rate).

        No converter object travels (a loaded model, a lock): the receiver loads its own by name
        (:func:`revoice.conversion_plan.plan_from_portable`); the render keys come out the same.
        """
        return {voice: (target.converter.spec.name, target.reference_audio, target.reference_sample_rate)
                for voice, target in self.targets.items()}

    def apply(self, voice_id: str, audio: AudioArray, sample_rate: int) -> AudioArray:
        """``audio`` converted when ``voice_id`` has a target, else ``audio`` itself."""
        target = self.target_for(voice_id)
        return audio if target is None else target.convert(audio, sample_rate)
