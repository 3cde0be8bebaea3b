"""Which lines a backend performs itself, and what its request then carries.

A backend declares the emotion inputs it honours in ``BackendSpec.emotion_control``
(:data:`~revoice.engine.voices.base.EMOTION_CONTROLS`). For each line the renderer asks
:func:`native_emotion`; when it answers True the renderer fills the request with
:func:`with_emotion` and skips Revoice's prosody DSP, otherwise it renders the line
neutrally and applies the DSP (performance transfer or label styling).

The rules (:func:`native_emotion`):

============================  =============================================================
the line's emotion            the backend renders it itself when it declares
============================  =============================================================
neutral (or intensity 0)      never: there is nothing to render, the voice's own reading
original / reference take     ``reference``, and the take's audio is there (strength > 0)
label (not whisper)           ``vector``, ``text`` or ``label``
description ("angrily, ...")  as its label: the words go to ``text`` backends, the label
                              it maps to to the others
whisper                       ``label`` only: whisper is voice quality (breath instead of
                              voicing), which no emotion vector, emotion-text classifier or
                              instruction of the current models produces reliably
============================  =============================================================
"""

from __future__ import annotations

from dataclasses import replace

from revoice.engine.emotion.labels import Emotion
from revoice.engine.voices.base import AudioArray, BackendSpec, SynthesisRequest

LABEL_CONTROLS = ("vector", "text", "label")
"""Any of these renders a label (whisper aside)."""


def _is_neutral(emotion: Emotion) -> bool:
    if emotion.method == "neutral":
        return True
    if emotion.method == "label":
        return emotion.label == "neutral" or emotion.intensity <= 0.0
    return emotion.strength <= 0.0


def native_emotion(spec: BackendSpec, emotion: Emotion, *, has_reference_audio: bool) -> bool:
    """Whether ``spec``'s backend renders ``emotion`` itself (see the table above).

    ``has_reference_audio``: the line's emotion recording (the original take, or the
    ``reference`` file) was read. False means Revoice's DSP does the work.
    """
    controls = set(spec.emotion_control)
    if _is_neutral(emotion):
        return False
    if emotion.method in ("original", "reference"):
        return has_reference_audio and "reference" in controls
    if emotion.label == "whisper":
        return "label" in controls
    return bool(controls.intersection(LABEL_CONTROLS))


def with_emotion(request: SynthesisRequest, emotion: Emotion, *, spec: BackendSpec,
                 audio: AudioArray | None = None, sample_rate: int | None = None) -> SynthesisRequest:
    """``request`` carrying ``emotion`` for ``spec``'s backend, when it renders it natively.

    * original / reference: ``emotion_audio = audio`` (mono at ``sample_rate`` Hz),
      ``emotion_strength = emotion.strength``, no ``emotion`` text;
    * a label: ``emotion = label`` (one of Revoice's labels),
      ``emotion_strength = emotion.intensity``;
    * a description, for a backend with ``text``: ``emotion = the description``
      (its words), ``emotion_strength = emotion.intensity``; other backends get the label.

    When :func:`native_emotion` says False the emotion fields are cleared (the backend
    speaks neutrally and the DSP does the work). ValueError when ``audio`` comes without
    ``sample_rate``.
    """
    if audio is not None and not sample_rate:
        raise ValueError("emotion audio needs its sample rate")
    cleared = replace(request, emotion=None, emotion_audio=None, emotion_sample_rate=None, emotion_strength=1.0)
    if not native_emotion(spec, emotion, has_reference_audio=audio is not None):
        return cleared
    if emotion.method in ("original", "reference"):
        return replace(cleared, emotion_audio=audio, emotion_sample_rate=int(sample_rate or 0),
                       emotion_strength=float(emotion.strength))
    words = emotion.description.strip() if "text" in spec.emotion_control else ""
    return replace(cleared, emotion=words or emotion.label, emotion_strength=float(emotion.intensity))
