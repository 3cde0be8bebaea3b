"""Offline voice matching: move a stock voice toward a character (a tint, not a clone).

Two parts, both owned by this module:

* :class:`VoiceTint` + :func:`apply_tint`: pure, length-preserving DSP on one
  synthesized line (pitch level and range, formant / vocal-tract warp, spectral
  envelope), scaled by a strength in [0, 1].
* :func:`tune_match`: picks the base voice (every shipped voice that speaks the
  language, scored by speaker similarity to the character's reference) and
  tunes the tint to maximise measured similarity while keeping naturalness.

INTERFACE CONTRACT (other modules build on these names; keep them):
``VoiceTint``, ``VoiceMatch``, ``apply_tint(audio, sample_rate, tint) -> audio``
(same length, float32 mono) and::

    tune_match(reference: AudioArray, sample_rate: int, *, language: str,
               backends: Sequence[VoiceBackend], embedder: SpeakerEmbedder,
               sentences: Sequence[str] | None = None, strength: float = 1.0,
               seed: int = 0, should_cancel: Callable[[], bool] | None = None) -> VoiceMatch

(``SpeakerEmbedder`` is engine.qc.similarity's protocol; ``reference`` is the
character's clean speech, mono float32.)
"""

from __future__ import annotations

from dataclasses import dataclass


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
    """Per-band spectral-envelope correction in dB (bands defined in this module); () = none."""
    strength: float = 1.0


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
