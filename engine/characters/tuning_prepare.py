"""Fill the voice bank before the first character: every base voice and blend spoken and judged untinted.

:func:`~revoice.engine.characters.tuning.tune_match` keeps what is not
character-specific in its synthesis cache (a
:class:`~revoice.engine.characters.voice_bank.VoiceBank` between runs): each
base voice's renders of the tuning and check sentences, their F0s and
embeddings, and the voice's untinted naturalness and ASR error counts. The
first character of a language in an empty bank makes them all (minutes on 2
cores); every later one reuses them and spends its time on its own tints.

:func:`prepare_language` makes them ahead, for every voice the matching could
screen: the backends' voices and, for a backend that blends (Kokoro), every 1:1
mix of its voices and every 7:3 mix both ways (what
:func:`~revoice.engine.characters.tuning._blend_candidates` can try). ``revoice
voice prepare`` runs it at install or overnight, so the first character of a
production costs what the tenth does.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from revoice.engine.characters.tint import VoiceTint, speaks
from revoice.engine.characters.tuning import (
    BLEND_VOICES,
    CHECK_SENTENCES,
    PAIR_MIXES,
    TUNING_SENTENCES,
    TuningCancelled,
)
from revoice.engine.characters.tuning_judge import Judge
from revoice.engine.characters.tuning_score import Candidate, SynthesisCache, speak_line, synthesize_lines
from revoice.engine.language import base_language
from revoice.engine.speaker import SpeakerEmbedder
from revoice.engine.voices.base import AudioArray, VoiceBackend


@dataclass(frozen=True)
class PreparedLanguage:
    """What :func:`prepare_language` made ready for one language."""

    language: str
    voices: tuple[str, ...]
    """``backend:voice`` of every base voice and blend prepared."""
    seconds: float
    """Wall time, s (small when the bank already held it all)."""


def blend_ids(backend: VoiceBackend) -> list[str]:
    """Every blend id the matching may screen for a blending backend (none for others), in a fixed order.

    Every pair of its voices at each of :data:`~revoice.engine.characters.tuning.PAIR_MIXES` (the matching
    tries the uneven ones on its best pair only, which depends on the character). Pushed blends and splits
    (``PUSH_BLENDS``, ``SPLIT_BLENDS``) are off in the matching and not prepared.
    """
    blend = getattr(backend, "blend_voice_id", None)
    if not callable(blend):
        return []
    names = sorted(info.voice_id for info in backend.voices())[:BLEND_VOICES]
    ids: list[str] = []
    for one, two in itertools.combinations(names, 2):
        for weight_one, weight_two in PAIR_MIXES:
            voice_id = str(blend({one: weight_one, two: weight_two}))
            if voice_id not in ids:
                ids.append(voice_id)
    return ids


def prepare_language(language: str, *, backends: Sequence[VoiceBackend], embedder: SpeakerEmbedder,
                     synthesis_cache: SynthesisCache, seed: int = 0,
                     naturalness: Callable[[AudioArray, int], float] | None = None,
                     transcribe: Callable[[AudioArray, int, str], str] | None = None,
                     should_cancel: Callable[[], bool] | None = None,
                     progress: Callable[[str], None] | None = None,
                     shard: tuple[int, int] = (1, 1)) -> PreparedLanguage:
    """Speak and judge, untinted, every voice :func:`tune_match` could screen for ``language``, into ``synthesis_cache``.

    The same keys as :func:`~revoice.engine.characters.tuning.tune_match` with
    its default sentences and this ``seed``, so a later match finds them.
    ``naturalness`` and ``transcribe``: the vetoes' meters, as the match will get
    them (their untinted scores are kept). ``progress`` gets ``backend:voice``
    before each voice; ``should_cancel`` is polled between voices
    (:class:`~revoice.engine.characters.tuning.TuningCancelled`). ``shard`` (index from 1, count):
    only every count-th voice of the fixed order, from the index-th, so that processes or machines
    sharing the bank's folder (its writes are atomic) each prepare their part.
    """
    index, count = shard
    if not 1 <= index <= count:
        raise ValueError(f"shard {index}/{count}: the index must be between 1 and the count")
    started = time.perf_counter()
    base = base_language(language)
    texts = TUNING_SENTENCES.get(base, ())
    if not texts:
        raise ValueError(f"no tuning sentences for language {language!r}")
    usable = [b for b in backends if speaks(b, language) and not b.spec.clones_from_reference]
    if not usable:
        raise ValueError(f"none of the backends speaks {language!r} with stock voices")

    def check() -> None:
        if should_cancel is not None and should_cancel():
            raise TuningCancelled("voice preparation cancelled")

    def speak_extra(candidate: Candidate, extra: Sequence[str]) -> list[AudioArray]:
        return synthesize_lines(candidate.backend, candidate.voice_id, language, extra, seed=seed,
                                cache=synthesis_cache)[0]

    judged = naturalness is not None or transcribe is not None
    judge = Judge(texts, language, 1.0, check, naturalness=naturalness, transcribe=transcribe,
                  extra=CHECK_SENTENCES.get(base, ()), speak_extra=speak_extra if judged else None,
                  cache=synthesis_cache, seed=seed)
    every = [(backend, voice_id) for backend in usable
             for voice_id in [info.voice_id for info in backend.voices()] + blend_ids(backend)]
    prepared: list[str] = []
    for backend, voice_id in every[index - 1::count]:
        check()
        if progress is not None:
            progress(f"{backend.spec.name}:{voice_id}")
        spoken = [speak_line(backend, voice_id, language, text, seed=seed, cache=synthesis_cache,
                             embedder=embedder) for text in texts]
        candidate = Candidate(backend, voice_id, backend.spec.sample_rate, [])
        candidate.use(spoken, spoken[0].embedding, ())
        judge.mos(candidate, VoiceTint())
        judge.errors(candidate, VoiceTint())
        prepared.append(f"{backend.spec.name}:{voice_id}")
    return PreparedLanguage(language=language, voices=tuple(prepared),
                            seconds=round(time.perf_counter() - started, 2))


__all__ = ["PreparedLanguage", "blend_ids", "prepare_language"]
