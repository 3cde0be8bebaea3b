"""The renderer's emotion step: one line's fitted speech given its emotion, and what the report says of it.

:func:`perform` is called by :class:`revoice.engine.render.Revoicer` between
fitting and watermarking, on the fitted speech (exact length, onset on the
original's), and returns audio of exactly that length: the fit and the
onset stay exact to the sample. Methods:

* ``original``: :func:`revoice.engine.emotion.transfer.transfer_performance`
  from the original take's speech (aligned by words when the line's text is
  the take's, by position when the editor changed it);
* ``reference``: the same from another recording (by position);
* ``label``: :func:`revoice.engine.emotion.styling.style_speech`, and the
  label's energy as a loudness offset;
* ``neutral``: unchanged.

When the voice renders the emotion itself (``applied_by="backend"``), only
the report is written here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from revoice.engine.dsp._util import AudioArray
from revoice.engine.emotion.labels import Emotion
from revoice.engine.fit import speech_with_pauses
from revoice.engine.model import DialogueLine
from revoice.engine.records import EmotionUse
from revoice.engine.sync import SpeechSpan
from revoice.engine.voices.base import Synthesis

TEXT_EDITED = "text_edited"
"""``DialogueLine.metadata`` key set when the line's text is no longer what the original take says."""


@dataclass(frozen=True)
class Performed:
    """The line's speech with its emotion, the loudness offset it asks for, and the report's record."""

    audio: AudioArray
    energy_db: float
    """Added to the line's loudness target (dB): a label's energy; 0 otherwise."""
    use: EmotionUse


def perform(speech: AudioArray, sample_rate: int, emotion: Emotion, *, original: AudioArray | None,
            same_words: bool, seed: int, applied_by_backend: bool = False) -> Performed:
    """``speech`` (mono float32, ``sample_rate`` Hz) given ``emotion``; same length.

    ``original`` is the performance to follow (:func:`performance_audio`) at
    the same rate, or None; ``same_words`` says whether the line still says
    the original take's words.
    """
    base = EmotionUse(method=emotion.method, words=emotion.words(), source=emotion.source or "default")
    if emotion.method == "neutral" or (emotion.method == "label" and emotion.label == "neutral"):
        return Performed(speech, 0.0, base)
    if applied_by_backend:
        energy = emotion.target.energy_db if emotion.method == "label" else 0.0
        return Performed(speech, energy, replace(base, applied_by="backend", energy_db=energy or None))
    if emotion.method == "label":
        from revoice.engine.emotion.styling import style_speech

        target = emotion.target
        styled = style_speech(speech, sample_rate, target, seed=seed)
        return Performed(styled.audio, target.energy_db, replace(base, applied_by="dsp", f0_shift_semitones=styled.f0_shift_semitones,
            f0_range_factor=styled.f0_range_factor, energy_db=target.energy_db))
    reference = original
    if reference is None or not np.any(reference):
        note = ("no readable original take: rendered neutral" if emotion.method == "original"
                else f"emotion reference {emotion.reference} unreadable or silent: rendered neutral")
        return Performed(speech, 0.0, replace(base, note=note))
    from revoice.engine.emotion.transfer import transfer_performance

    words = same_words and emotion.method == "original"
    moved = transfer_performance(speech, reference, sample_rate, strength=emotion.strength, same_words=words)
    if moved.aligned_by == "none":  # nothing voiced to follow: the line keeps the voice's own reading
        return Performed(speech, 0.0, replace(base, note=moved.note))
    return Performed(moved.audio, 0.0, replace(base, applied_by="dsp", contour_correlation=moved.correlation_after,
                                               note=f"aligned by {'words' if words else 'relative position'}"))


def performance_audio(emotion: Emotion, original: AudioArray | None, original_span: SpeechSpan | None,
                      sample_rate: int) -> AudioArray | None:
    """The performance a line follows: the original take's speech (method ``original``), the reference
    recording's (``reference``), else None; mono float32 at ``sample_rate``."""
    if emotion.method == "original" and original is not None and original_span is not None:
        return original[original_span.onset : original_span.offset]
    if emotion.method == "reference":
        return read_reference(Path(emotion.reference), sample_rate)[0]
    return None


def free_speech_length(line: DialogueLine, emotion: Emotion, natural: Callable[[], Synthesis],
                       sample_rate: int) -> int | None:
    """The speech length (samples) where the line's pace is its own, else None (fitted to the original take).

    ``natural()`` synthesizes the line at its natural rate; it is called only when the pace is the line's own.

    A job's ``duration: free`` asks for ``ratio`` x the natural length; a
    label's rate and pause factors apply where there is no original take to
    follow (or the duration is free): the speech is ``1 / rate`` as long, and
    its pauses ``pause_factor`` as long (the fitter resizes pauses first).
    """
    free = line.duration is not None and line.duration.mode == "free"
    target = emotion.target
    if not free and (any(source.available for source in line.sources)
                     or (target.rate_factor == 1.0 and target.pause_factor == 1.0)):
        return None
    speech = speech_with_pauses(natural(), sample_rate)
    pauses = sum(end - begin for begin, end in speech.pauses)
    ratio = line.duration.ratio if free and line.duration is not None else 1.0
    spoken = (len(speech.audio) - pauses) / target.rate_factor + pauses * target.pause_factor
    return max(1, int(round(spoken * ratio)))




def read_reference(path: Path, sample_rate: int) -> tuple[AudioArray | None, str]:
    """A reference recording as mono float32 at ``sample_rate``, trimmed to its speech; or None and why."""
    from revoice.engine.original import MediaError, read_media_audio
    from revoice.engine.dsp.resample import resample
    from revoice.engine.sync import detect_speech_span

    try:
        data, rate = read_media_audio(path, start_seconds=0.0, duration_seconds=60.0)
    except MediaError as exc:
        return None, f"emotion reference unreadable: {exc}"
    audio = resample(data, rate, sample_rate)
    span = detect_speech_span(audio, sample_rate)
    if span is None:
        return None, f"emotion reference {path.name} has no speech"
    return np.ascontiguousarray(audio[span.onset : span.offset], dtype=np.float32), ""
