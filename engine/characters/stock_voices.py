"""Distinct stock voices for the characters no voice profile speaks: a palette per language, and the cast.

With no original dialogue under a reel there is nothing to build a voice
profile from, and every character used to speak the backend's first voice.
Here each such character gets a different voice of a fixed, ordered palette,
chosen deterministically from the character's name and the reel's lines.

**The palette** (:func:`stock_palette`) of a backend for one language, by tier:

0. the backend's default voice (its first);
1. its other voices for the language (Kokoro's five Mandarin voices);
2. two *variants* of each voice: ``joe~light`` and ``joe~deep`` (:data:`LOW_VOICE_VARIANTS`,
   :data:`HIGH_VOICE_VARIANTS` for female voices, mirrored);
3. a third, stronger variant;
4. two variants with a pitch shift on top (PSOLA: the tint DSP, slower to render).

A variant (:class:`VoiceVariant`) is the base voice spoken ``speed`` times
slower and played ``speed`` times faster (the samples relabelled with a higher
rate, as a tape runs faster): same length and speaking rate, pitch and
formants both moved by ``speed``, as with a smaller or larger speaker. It
costs nothing at render time. On piper 'joe' the d-vector similarity
(:mod:`revoice.engine.speaker`) of ``joe`` to ``joe~light`` (x1.16) is 0.39-0.44,
to ``joe~deep`` (x0.80) 0.31-0.49, and of light to deep 0.26-0.36: the range of
different people (0.03-0.62), where joe's own lines measure 0.86-0.91
(two sentences, each variant against each). Whisper base still reads
every variant word for word; DistillMOS on four sentences: joe 4.24, light
4.03, deep 3.99, bright (x1.36) 4.21. On Kokoro's jf_alpha, ``~low`` and
``~light`` measure 0.45-0.62 against it, as far as its own voices are from
each other (jf_alpha vs jf_nezumi 0.57-0.68).

**The cast** (:func:`cast_stock_voices`, :func:`default_cast`): the reel's
characters take voices in order of their first line (earliest first, then by
name); each takes the first voice not yet taken in *its own* preference order:
lower tiers first, and within a tier by a hash of (name, voice) (rendezvous
hashing). A character the editor gave a voice (``--speaker-voice``, the panel)
takes no place, and its voice is given to nobody else. A character a voice
profile speaks does take one (unused while the profile speaks), so a profile
built, refused or removed later moves nobody. So:

* the first character to speak has the backend's default voice (a reel with
  one character sounds as before);
* a character whose first line comes after the others' first lines never
  changes their voices (it takes what is left); one added before them takes
  its preferred voice first and may move those after it, and one removed or
  renamed frees its voice for the next who prefers it;
* it is a pure function of the reel's lines, so every shard and worker agrees;
* with more characters than voices, voices are shared (``CastVoice.shared``),
  the least used first, and the summary says so.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from revoice.engine.formats import TINT_VERSION
from revoice.engine.language import base_language
from revoice.engine.model import DialogueLine
from revoice.engine.voices.base import BackendSpec, Synthesis, SynthesisRequest, VoiceBackend, VoiceInfo

VARIANT_MARK = "~"
"""Separates a base voice from its variant in a voice id: ``joe~light``."""
VARIANT_FORMAT = 1
"""Joins a variant's render key; bump it when a variant's sound changes for the same parameters."""
RATE_STEP_HZ = 100
"""A variant's relabelled sample rate is rounded to this step (Hz)."""


@dataclass(frozen=True)
class VoiceVariant:
    """A deterministic variant of a stock voice: pitch and formants moved together, optionally pitch alone."""

    name: str
    """The voice id's suffix after :data:`VARIANT_MARK`."""
    speed: float
    """Playback speed factor: > 1 raises pitch and formants (a smaller speaker), < 1 lowers them.
    The base voice speaks ``speed`` times slower first, so the length and speaking rate stay."""
    semitones: float = 0.0
    """A further pitch shift (PSOLA, formants kept), semitones; 0 costs no DSP."""
    tier: int = 2
    """Palette tier (see the module's doc): 2 first, then 3, then 4."""
    words: str = ""
    """How it sounds, for the voice list."""

    def played_rate(self, sample_rate: int) -> int:
        """The sample rate (Hz) the base voice's samples are relabelled with: ``sample_rate * speed``, rounded."""
        return max(RATE_STEP_HZ, round(sample_rate * self.speed / RATE_STEP_HZ) * RATE_STEP_HZ)


LOW_VOICE_VARIANTS: tuple[VoiceVariant, ...] = (
    VoiceVariant("light", 1.16, tier=2, words="lighter: pitch and formants +16%"),
    VoiceVariant("deep", 0.80, tier=2, words="deeper: pitch and formants -20%"),
    VoiceVariant("bright", 1.36, tier=3, words="much lighter: pitch and formants +36%"),
    VoiceVariant("high", 1.16, 5.0, tier=4, words="high: formants +16%, pitch +7.6 semitones"),
    VoiceVariant("broad", 0.80, 4.0, tier=4, words="broad: formants -20%, pitch about the same"),
)
"""Variants of a male voice or one of unknown gender. Read-only."""

HIGH_VOICE_VARIANTS: tuple[VoiceVariant, ...] = (
    VoiceVariant("low", 0.86, tier=2, words="lower: pitch and formants -14%"),
    VoiceVariant("light", 1.20, tier=2, words="lighter: pitch and formants +20%"),
    VoiceVariant("dark", 0.74, tier=3, words="much lower: pitch and formants -26%"),
    VoiceVariant("husky", 0.86, -5.0, tier=4, words="husky: formants -14%, pitch -7.6 semitones"),
    VoiceVariant("small", 1.20, -4.0, tier=4, words="small: formants +20%, pitch about the same"),
)
"""Variants of a female voice (the low voices' table mirrored). Read-only."""


def variants_for(voice: VoiceInfo) -> tuple[VoiceVariant, ...]:
    """The variants a voice offers: the female table for a female voice, else the male one."""
    return HIGH_VOICE_VARIANTS if voice.gender.lower() == "female" else LOW_VOICE_VARIANTS


@dataclass(frozen=True)
class StockVoice:
    """One voice of a palette: a backend's own voice (``variant`` None) or a variant of one."""

    voice_id: str
    base_voice: str
    tier: int
    variant: VoiceVariant | None = None
    description: str = ""


def variant_id(base_voice: str, variant: VoiceVariant) -> str:
    """``joe`` + light -> ``joe~light``."""
    return f"{base_voice}{VARIANT_MARK}{variant.name}"


def speaks_language(voice: VoiceInfo, language: str) -> bool:
    """Whether ``voice`` lists ``language``'s base language (a voice listing none speaks every language)."""
    base = base_language(language)
    return not voice.languages or any(base_language(lang) == base for lang in voice.languages)


def stock_palette(voices: Sequence[VoiceInfo], language: str) -> tuple[StockVoice, ...]:
    """The ordered palette of ``voices`` (a backend's own, default first) for ``language``; see the module doc.

    Voice ids that already name a variant are left out. When no voice lists
    ``language`` the backend's default voice stands for it (the renderer speaks
    it anyway). Empty only when ``voices`` is.
    """
    own = [v for v in voices if VARIANT_MARK not in v.voice_id]
    if not own:
        return ()
    speaking = [v for v in own if speaks_language(v, language)] or own[:1]
    palette = [StockVoice(v.voice_id, v.voice_id, 0 if i == 0 else 1, None, v.description)
               for i, v in enumerate(speaking)]
    for voice in speaking:
        palette += [StockVoice(variant_id(voice.voice_id, variant), voice.voice_id, variant.tier, variant,
                               f"{voice.voice_id}, {variant.words}") for variant in variants_for(voice)]
    return tuple(sorted(palette, key=lambda v: v.tier))  # stable: backend order within a tier


def variant_infos(voices: Sequence[VoiceInfo]) -> tuple[VoiceInfo, ...]:
    """A :class:`VoiceInfo` per variant of ``voices`` (what :class:`VoiceVariants` adds to a backend's list)."""
    return tuple(
        VoiceInfo(variant_id(v.voice_id, variant), v.languages, f"{v.voice_id}, {variant.words}", "", v.licence)
        for v in voices if VARIANT_MARK not in v.voice_id for variant in variants_for(v))


@dataclass(frozen=True)
class CastVoice:
    """The stock voice one character speaks by default, and whether another character shares it."""

    name: str
    voice_id: str
    tier: int
    shared: bool = False


def _rank(name: str, voice_id: str) -> int:
    """The character's preference for a voice within a tier (rendezvous hashing; lower is preferred)."""
    return int.from_bytes(hashlib.sha256(f"{name}\x00{voice_id}".encode()).digest()[:8], "big")


def preference(name: str, palette: Sequence[StockVoice]) -> list[StockVoice]:
    """``palette`` in ``name``'s order of preference: by tier, then by the hash of (name, voice)."""
    return sorted(palette, key=lambda v: (v.tier, _rank(name, v.voice_id)))


def cast_stock_voices(characters: Sequence[str], palette: Sequence[StockVoice], *,
                      taken: Collection[str] = ()) -> dict[str, CastVoice]:
    """A voice of ``palette`` for each of ``characters`` (given in order of first appearance), all different.

    Each character in turn takes the first voice in its :func:`preference`
    that neither an earlier character nor ``taken`` (voices the editor chose
    for other characters) holds. When none is left, it shares the least used
    voice (then its most preferred): ``shared`` is True. Empty palette: {}.
    """
    cast: dict[str, CastVoice] = {}
    if not palette:
        return cast
    reserved = set(taken)
    uses: Counter[str] = Counter()
    for name in dict.fromkeys(characters):
        ranked = preference(name, palette)
        free = next((v for v in ranked if v.voice_id not in reserved and uses[v.voice_id] == 0), None)
        if free is None:
            order = {v.voice_id: i for i, v in enumerate(ranked)}
            free = min(ranked, key=lambda v: (uses[v.voice_id] + (v.voice_id in reserved), order[v.voice_id]))
        uses[free.voice_id] += 1
        cast[name] = CastVoice(name, free.voice_id, free.tier)
    shared = {voice for voice, count in uses.items() if count > 1 or voice in reserved}
    return {name: dataclasses.replace(v, shared=v.voice_id in shared) for name, v in cast.items()}


def characters_in_order(lines: Iterable[DialogueLine], language: str | None = None) -> list[str]:
    """The speakers of ``lines`` (of ``language``'s base language when given), earliest first line first.

    Ordered by the record frame of each speaker's first line, then by name, so
    the order does not depend on how the lines were listed.
    """
    first: dict[str, int] = {}
    wanted = base_language(language) if language is not None else None
    for line in lines:
        if wanted is not None and base_language(line.language) != wanted:
            continue
        start = line.record.start
        if line.speaker not in first or start < first[line.speaker]:
            first[line.speaker] = start
    return sorted(first, key=lambda name: (first[name], name))


def default_cast(lines: Iterable[DialogueLine], voices: Sequence[VoiceInfo], *, language: str,
                 chosen: Mapping[str, str] | None = None) -> dict[str, CastVoice]:
    """The distinct default voice of each speaker of ``lines`` in ``language`` whose voice was not ``chosen``.

    ``voices`` are the backend's own (default first); ``chosen`` maps speakers to the voices the editor
    gave them (``--speaker-voice``, the panel): those speakers are left out and their voices kept free.
    """
    chosen = chosen or {}
    characters = [name for name in characters_in_order(lines, language) if name not in chosen]
    return cast_stock_voices(characters, stock_palette(voices, language), taken=set(chosen.values()))


def default_voice_ids(lines: Iterable[DialogueLine], backend: VoiceBackend, *, language: str,
                      chosen: Mapping[str, str] | None = None, run_voice: str | None = None) -> dict[str, str]:
    """Speaker -> voice id of :func:`default_cast` over ``backend``'s voices; {} when ``run_voice`` names one
    voice for everyone (``--voice``). Loads no model (a lazy backend's list comes from its spec)."""
    if run_voice is not None:
        return {}
    cast = default_cast(lines, backend.voices(), language=language, chosen=chosen)
    return {name: voice.voice_id for name, voice in cast.items()}


class VoiceVariants:
    """A backend that also speaks its voices' variants (``joe~light``); same spec, so stock keys do not change.

    Its voice list is the backend's, then one :class:`VoiceInfo` per variant.
    A variant's request goes to the base voice with ``duration_scale`` (and
    ``target_seconds``) times the realised speed; its samples come back
    relabelled at :meth:`VoiceVariant.played_rate` (segments, in samples,
    still hold), after a PSOLA pitch shift when the variant has one. Asking
    for the list or a key loads no model (:class:`revoice.engine.voices.registry.LazyBackend`).
    """

    def __init__(self, backend: VoiceBackend) -> None:
        self.backend = backend
        self._infos: tuple[VoiceInfo, ...] | None = None
        self._variants: dict[str, tuple[str, VoiceVariant]] = {}

    @property
    def spec(self) -> BackendSpec:
        return self.backend.spec

    def voices(self) -> Sequence[VoiceInfo]:
        if self._infos is None:
            own = tuple(self.backend.voices())
            for voice in own:
                if VARIANT_MARK not in voice.voice_id:
                    for variant in variants_for(voice):
                        self._variants[variant_id(voice.voice_id, variant)] = (voice.voice_id, variant)
            self._infos = own + variant_infos(own)
        return self._infos

    def variant(self, voice_id: str) -> tuple[str, VoiceVariant] | None:
        """(base voice, variant) of a variant id; None for the backend's own voices."""
        self.voices()
        return self._variants.get(voice_id)

    def voice_key(self, voice_id: str) -> str | None:
        """What decides a variant's sound beyond its id (joins the render key); None for the backend's own voices."""
        found = self.variant(voice_id)
        if found is None:
            return None
        variant = found[1]
        key = f"variant{VARIANT_FORMAT}:{variant.speed:.4f}:{variant.semitones:+.3f}"
        return key + (f":tint{TINT_VERSION}" if variant.semitones else "")

    def voice_report(self, voice_id: str, language: str) -> dict[str, Any] | None:
        """Nothing beyond the voice id (a variant is not a voice profile)."""
        return None

    def length_curve(self, request: SynthesisRequest) -> Callable[[float], float] | None:
        """The backend's forecast of trimmed speech seconds per duration scale (its ``length_curve``), a
        variant's rate and speed applied; None when the backend forecasts nothing."""
        curve_of = getattr(self.backend, "length_curve", None)
        if curve_of is None:
            return None
        found = self.variant(request.voice_id)
        if found is None:
            own: Callable[[float], float] | None = curve_of(request)
            return own
        base_voice, variant = found
        nominal = self.spec.sample_rate or 1
        speed = variant.played_rate(nominal) / nominal
        base: Callable[[float], float] | None = curve_of(dataclasses.replace(request, voice_id=base_voice))
        if base is None:
            return None
        return lambda scale: base(scale * speed) / speed

    def synthesize(self, request: SynthesisRequest) -> Synthesis:
        found = self.variant(request.voice_id)
        if found is None:
            return self.backend.synthesize(request)
        base_voice, variant = found
        nominal = self.spec.sample_rate or 1
        speed = variant.played_rate(nominal) / nominal  # the speed the rounded rate really gives
        slower = dataclasses.replace(
            request, voice_id=base_voice, duration_scale=request.duration_scale * speed,
            target_seconds=request.target_seconds * speed if request.target_seconds is not None else None)
        spoken = self.backend.synthesize(slower)
        audio = spoken.audio
        if variant.semitones:
            from revoice.engine.characters.tint import VoiceTint, apply_tint

            audio = apply_tint(audio, spoken.sample_rate, VoiceTint(pitch_semitones=variant.semitones))
        played = max(RATE_STEP_HZ, round(spoken.sample_rate * speed))
        return Synthesis(audio=audio, sample_rate=played, segments=spoken.segments)


__all__ = [
    "HIGH_VOICE_VARIANTS", "LOW_VOICE_VARIANTS", "VARIANT_MARK", "CastVoice", "StockVoice", "VoiceVariant",
    "VoiceVariants", "cast_stock_voices", "characters_in_order", "default_cast", "default_voice_ids", "preference",
    "stock_palette", "variant_id", "variant_infos", "variants_for",
]
