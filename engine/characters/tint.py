"""The render-time tint: length-preserving DSP that moves a stock voice toward a character (not a clone).

:class:`VoiceTint` + :func:`apply_tint`: pure, length-preserving DSP on one
synthesized line (pitch level and range, formant / vocal-tract warp, spectral
envelope), scaled by a strength in [0, 1]. :class:`VoiceMatch` is what
:func:`revoice.engine.characters.tuning.tune_match` chose for one character in
one language (base voice + tint + how it measured); profiles store it and
:class:`revoice.engine.characters.character_backend.ProfiledBackend` applies it
when lines are rendered.

INTERFACE CONTRACT (other modules build on these names; keep them):
``VoiceTint``, ``VoiceMatch``, ``apply_tint(audio, sample_rate, tint) -> audio``
(same length, float32 mono), ``speaks(backend, language)``, ``TINT_VERSION``.

How the tint is applied (:mod:`revoice.engine.dsp.voice_transform`): TD-PSOLA (Praat)
shifts the pitch with the formants kept (``pitch_semitones``, excursions scaled by
``pitch_range``), then an STFT-domain filter gives every voiced frame the original
line's true spectral envelope read at f / ``formant_ratio`` (the formant warp;
fricatives keep theirs), then a static linear-phase EQ applies ``envelope_db`` on
:data:`revoice.engine.dsp.voice_transform.BAND_CENTRES_HZ`. No vocoder
resynthesis, so strength 0 is the untouched voice, bit for bit. Nothing here
can turn a voice into another person: the tint moves pitch, vocal-tract length
and spectral tilt/colour, which a speaker encoder weighs, but not
articulation, rhythm or accent.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from revoice.engine.dsp.voice_transform import PreparedLine, apply_band_eq
from revoice.engine.formats import TINT_VERSION
from revoice.engine.language import base_language
from revoice.engine.voices.base import AudioArray, VoiceBackend

LANGUAGE_EXTRAS: dict[str, tuple[str, ...]] = {"kokoro": ("en",)}
"""Languages a backend speaks beyond its spec (Kokoro reads English through misaki's US lexicon). Read-only."""


@dataclass(frozen=True)
class VoiceTint:
    """Length-preserving DSP that moves a base voice toward a character.

    ``strength`` 0 leaves the base voice untouched, 1 applies the full tint.
    """

    pitch_semitones: float = 0.0
    """Shift of the median F0, in semitones."""
    pitch_range: float = 1.0
    """Scale of F0 excursions around the median (log-F0 domain)."""
    formant_ratio: float = 1.0
    """Vocal-tract warp: > 1 moves formants up (shorter tract), < 1 down."""
    envelope_db: tuple[float, ...] = ()
    """Per-band spectral-envelope correction in dB on the bands of
    :data:`~revoice.engine.dsp.voice_transform.BAND_CENTRES_HZ` (first bands if shorter); () = none."""
    strength: float = 1.0
    """How much of the tint is applied: 0 none, 1 all (:meth:`scaled`)."""

    def scaled(self) -> VoiceTint:
        """The tint with ``strength`` folded into its parameters (strength 1); log domain for ratios."""
        s = min(max(float(self.strength), 0.0), 1.0)
        return VoiceTint(
            pitch_semitones=self.pitch_semitones * s,
            pitch_range=float(self.pitch_range ** s) if self.pitch_range > 0 else 1.0 - s,
            formant_ratio=float(self.formant_ratio ** s),
            envelope_db=tuple(float(g) * s for g in self.envelope_db),
            strength=1.0,
        )

    @property
    def is_identity(self) -> bool:
        """True when applying the tint changes nothing."""
        t = self.scaled()
        return (abs(t.pitch_semitones) < 1e-4 and abs(t.pitch_range - 1.0) < 1e-4
                and abs(t.formant_ratio - 1.0) < 1e-4 and not any(abs(g) > 1e-6 for g in t.envelope_db))


@dataclass(frozen=True)
class VoiceMatch:
    """The base voice and tint chosen for one character in one language."""

    language: str
    backend: str
    voice_id: str
    tint: VoiceTint
    similarity_base: float
    """Speaker similarity (cosine) of the untinted base voice to the held-out reference."""
    similarity_matched: float
    """The same with the tint applied."""
    heldout: bool = False
    """True when the similarities were measured on a held-out half of the reference (else on all of it)."""
    candidates: tuple[tuple[str, str, float, float], ...] = ()
    """Every base voice tried: (backend, voice_id, untinted score, best tinted score) on the tuning material
    (the objective: cosine minus the cohort's mean cosine when a cohort was given; penalties included)."""
    seconds: float = 0.0
    """Wall time tune_match took, seconds."""
    naturalness: float | None = None
    """Naturalness (e.g. DistillMOS) of the chosen voice + tint on the tuning sentences, when a meter was given."""
    naturalness_stock: float | None = None
    """The same for the stock voice (first backend's first voice), untinted."""
    error_rate: float | None = None
    """ASR word (Mandarin: character) error rate of the chosen voice + tint on the tuning sentences, when a
    ``transcribe`` function was given."""
    error_rate_reference: float | None = None
    """The same for its base voice untinted (a blend's strongest voice), which it was judged against."""
    error_rate_stock: float | None = None
    """The same for the language's stock voice untinted (intelligibility first: nothing that mishears more is
    chosen); None in profiles made before it was measured."""
    similarity_given_up: float = 0.0
    """Intelligibility's cost: the best ``similarity_matched``-style similarity among the settings refused for
    mishearing more than the stock voice or their base voice, minus the chosen one's (0: none refused, or none
    more similar). 0 in profiles made before it was measured."""


def apply_tint(audio: AudioArray, sample_rate: int, tint: VoiceTint) -> AudioArray:
    """``audio`` (mono, ``sample_rate`` Hz) with ``tint`` applied at its strength; float32, same length.

    Peaks that the EQ pushes over 0.99 full scale are scaled down (no clipping);
    levels are otherwise kept for the engine's loudness stage.
    """
    x = np.asarray(audio, dtype=np.float32)
    if x.ndim != 1:
        raise ValueError(f"audio must be mono with shape (samples,), got {x.shape}")
    if tint.is_identity or x.size == 0:
        return x.copy()
    return tint_line(PreparedLine(x, sample_rate), tint)


def tint_line(line: PreparedLine, tint: VoiceTint) -> AudioArray:
    """:func:`apply_tint` of a line prepared for many tints (the tuning tries dozens on each line): the same
    samples, with the line's analyses made once."""
    if tint.is_identity or line.audio.size == 0:
        return line.audio.astype(np.float32)
    t = tint.scaled()
    y = line.shift(semitones=t.pitch_semitones, pitch_range=t.pitch_range, formant_ratio=t.formant_ratio)
    y = apply_band_eq(y, line.sample_rate, t.envelope_db)
    peak = float(np.max(np.abs(y))) if y.size else 0.0
    if peak > 0.99:
        y = y * np.float32(0.99 / peak)
    return np.ascontiguousarray(y, dtype=np.float32)


def speaks(backend: VoiceBackend, language: str) -> bool:
    """True when ``backend`` can speak ``language`` (spec, voice list or :data:`LANGUAGE_EXTRAS`)."""
    base = base_language(language)
    if backend.spec.supports_language(language) or base in LANGUAGE_EXTRAS.get(backend.spec.name, ()):
        return True
    return any(base_language(lang) == base for v in backend.voices() for lang in v.languages)


__all__ = ["LANGUAGE_EXTRAS", "TINT_VERSION", "VoiceMatch", "VoiceTint", "apply_tint", "speaks", "tint_line"]
