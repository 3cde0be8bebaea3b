"""Clone prompts: what a zero-shot backend (F5-TTS, IndexTTS2, CosyVoice) is given to speak as a character.

A prompt is a few seconds of the character's clean original speech plus its
transcript. In ADR the subtitle holds the *new* line, not what the actor
said, so the transcript comes from speech recognition of the prompt audio
itself (``transcribe``, e.g. :meth:`revoice.engine.qc.asr.AsrMeter.transcribe`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from revoice.engine.voices.base import AudioArray

MAX_PROMPT_SECONDS = 12.0
"""F5-TTS and IndexTTS2 work best with 3-12 s of reference; longer prompts are cut."""
MIN_PROMPT_SECONDS = 1.0

Transcriber = Callable[[AudioArray, int, str], str]
"""(mono float32 audio, sample rate in Hz, language) -> the words spoken."""


@dataclass(frozen=True)
class ClonePrompt:
    """Reference speech for a cloning backend: mono float32 at ``sample_rate`` and what it says."""

    audio: AudioArray
    sample_rate: int
    text: str

    @property
    def seconds(self) -> float:
        return len(self.audio) / self.sample_rate


def clone_prompt(reference: AudioArray, sample_rate: int, *, language: str, transcribe: Transcriber,
                 max_seconds: float = MAX_PROMPT_SECONDS) -> ClonePrompt:
    """The first ``max_seconds`` of a character's reference speech with its recognised transcript.

    Raises ValueError when the reference is shorter than 1 s or nothing is recognised in it.
    """
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be positive, got {sample_rate}")
    if not MIN_PROMPT_SECONDS <= max_seconds:
        raise ValueError(f"max_seconds must be at least {MIN_PROMPT_SECONDS} s, got {max_seconds}")
    audio = np.asarray(reference, dtype=np.float32)[: int(round(max_seconds * sample_rate))]
    if len(audio) < MIN_PROMPT_SECONDS * sample_rate:
        raise ValueError(f"the reference has {len(audio) / sample_rate:.2f} s of speech; a cloning voice needs at "
                         f"least {MIN_PROMPT_SECONDS:g} s (give a longer one with 'revoice voice build --ref')")
    text = " ".join(transcribe(audio, sample_rate, language).split())
    if not text:
        raise ValueError("no words were recognised in the reference speech; give a cleaner one with "
                         "'revoice voice build --ref'")
    return ClonePrompt(audio=audio, sample_rate=sample_rate, text=text)
