"""Build and tune voice profiles from reference audio (see engine.characters.profile and .references)."""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Callable, MutableMapping, Sequence
from typing import Any

from revoice.engine.characters.profile import Consent, VoiceProfile
from revoice.engine.characters.references import ReferenceSet, profile_stats
from revoice.engine.characters.tuning import tune_match
from revoice.engine.speaker import SpeakerEmbedder
from revoice.engine.voices.base import AudioArray, VoiceBackend


def build_profile(name: str, reference: ReferenceSet, *, embedder: SpeakerEmbedder, kind: str = "tint",
                  consent: Consent | None = None, strength: float = 1.0, created: str | None = None) -> VoiceProfile:
    """A profile (no matches yet) from ``reference``: provenance, d-vector and F0 statistics.

    Raises ValueError when the reference holds no audio.
    """
    if reference.audio.size == 0 or not reference.clips:
        raise ValueError(f"{name}: no reference speech to build a voice profile from")
    vector = embedder.embed(reference.audio, reference.sample_rate)
    return VoiceProfile(
        name=name, kind=kind, references=reference.clips, consent=consent or Consent(),
        embedding=tuple(round(float(v), 7) for v in vector), stats=profile_stats(reference),
        strength=strength, created=created or now_iso())


def tune_profile(profile: VoiceProfile, reference: AudioArray, sample_rate: int, *, languages: Sequence[str],
                 backends: Sequence[VoiceBackend], embedder: SpeakerEmbedder, seed: int = 0,
                 sentences: Sequence[str] = (), should_cancel: Callable[[], bool] | None = None,
                 synthesis_cache: MutableMapping[Any, Any] | None = None,
                 naturalness: Callable[[AudioArray, int], float] | None = None,
                 cohort: Sequence[tuple[AudioArray, int]] = (),
                 transcribe: Callable[[AudioArray, int, str], str] | None = None) -> VoiceProfile:
    """``profile`` with a VoiceMatch (:func:`revoice.engine.characters.tuning.tune_match`) for each of ``languages`` it lacks.

    ``naturalness`` (audio, rate -> MOS, e.g. DistillMOS) vetoes tints that sound
    clearly worse than their own base voice (the base voice itself is chosen by likeness:
    a female character keeps a female voice even when it scores a little below the stock one). ``cohort`` (the other characters' reference
    speech, (audio, rate)) makes the tuning favour likeness to *this* character.
    ``transcribe`` (audio, rate, language -> text, e.g. Whisper) puts intelligibility first: no base voice or
    tint that makes words harder to recognise than the language's stock voice (or a tint than its base voice)
    is chosen, the stock voice being the fallback; each match reports the similarity that cost
    (``VoiceMatch.similarity_given_up``).

    The tint is tuned at full strength; the profile's ``strength`` scales it
    when lines are rendered, so changing the strength needs no re-tuning.
    """
    for language in dict.fromkeys(languages):
        if profile.match_for(language) is not None:
            continue
        match = tune_match(reference, sample_rate, language=language, backends=backends, embedder=embedder,
                           sentences=sentences or None, seed=seed, should_cancel=should_cancel,
                           synthesis_cache=synthesis_cache, naturalness=naturalness, naturalness_reference="base",
                           cohort=cohort, transcribe=transcribe)
        profile = profile.with_match(match)
    return profile


def with_settings(profile: VoiceProfile, *, consent: Consent | None = None,
                  strength: float | None = None) -> VoiceProfile:
    """``profile`` with the editor's consent and/or strength (None keeps the current value)."""
    return dataclasses.replace(profile, consent=consent if consent is not None else profile.consent,
                               strength=profile.strength if strength is None else strength)


def now_iso() -> str:
    """The current UTC time, ISO 8601 to the second."""
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()
