"""Which emotions a backend renders itself (``native_emotion``) and what its request then carries (``with_emotion``)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from revoice.engine.emotion.labels import Emotion
from revoice.engine.voices.base import BackendOptions, BackendSpec, SynthesisRequest, VoiceBackend
from revoice.engine.voices.emotion_args import native_emotion, with_emotion
from revoice.engine.voices.registry import describe_backends


def _never_loads(_options: BackendOptions) -> VoiceBackend:
    raise AssertionError("no model is loaded here")


def _spec(*controls: str) -> BackendSpec:
    return BackendSpec(name="stand-in", display_name="stand-in", languages=("en",), sample_rate=16000,
                       native_duration_control=False, needs_gpu=False, licence="MIT", description="",
                       availability=lambda _options: None, factory=_never_loads, emotion_control=controls,
                       commercial_use=True, commercial_note="test spec, no model weights")


CONTROLS = {"none": (), "reference": ("reference",), "vector": ("vector",), "text": ("text",),
            "label": ("label",), "indextts2": ("reference", "vector", "text"), "cosyvoice": ("text",)}

EMOTIONS = {
    "neutral": Emotion(),
    "label neutral": Emotion(method="label", label="neutral"),
    "angry at 0": Emotion(method="label", label="angry", intensity=0.0),
    "angry": Emotion(method="label", label="angry", intensity=0.7),
    "description": Emotion(method="label", label="sad", intensity=0.6, description="悲伤地低语"),
    "whisper": Emotion(method="label", label="whisper", intensity=0.8),
    "original": Emotion(method="original", strength=0.8),
    "original at 0": Emotion(method="original", strength=0.0),
    "reference": Emotion(method="reference", reference="take3.wav", strength=0.5),
}

NATIVE_WITH = {
    "neutral": set(), "label neutral": set(), "angry at 0": set(), "original at 0": set(),
    "angry": {"vector", "text", "label", "indextts2", "cosyvoice"},
    "description": {"vector", "text", "label", "indextts2", "cosyvoice"},
    "whisper": {"label"},
    "original": {"reference", "indextts2"},
    "reference": {"reference", "indextts2"},
}
"""For each emotion, the control sets that render it natively (the take's audio being there)."""
NEEDS_AUDIO = {"original", "reference"}


@pytest.mark.parametrize("has_audio", [True, False])
@pytest.mark.parametrize("controls", sorted(CONTROLS))
@pytest.mark.parametrize("emotion", sorted(EMOTIONS))
def test_native_emotion_truth_table(emotion: str, controls: str, has_audio: bool) -> None:
    expected = controls in NATIVE_WITH[emotion] and (has_audio or emotion not in NEEDS_AUDIO)
    assert native_emotion(_spec(*CONTROLS[controls]), EMOTIONS[emotion], has_reference_audio=has_audio) is expected


def test_spec_refuses_an_unknown_control() -> None:
    with pytest.raises(ValueError, match="unknown emotion_control 'prosody'; use reference, vector, text, label"):
        _spec("vector", "prosody")


def test_described_backends_list_their_emotion_control() -> None:
    rows = describe_backends([_spec("reference", "text"), _spec()], BackendOptions())
    assert [row["emotion_control"] for row in rows] == [["reference", "text"], []]


REQUEST = SynthesisRequest(text="Get out.", voice_id="reference", emotion="stale", emotion_strength=0.1)
TAKE = np.linspace(-0.5, 0.5, 800, dtype=np.float32)


def test_original_take_goes_as_emotion_audio() -> None:
    out = with_emotion(REQUEST, EMOTIONS["original"], spec=_spec("reference"), audio=TAKE, sample_rate=16000)
    assert out.emotion is None and out.emotion_audio is TAKE and out.emotion_sample_rate == 16000
    assert out.emotion_strength == 0.8 and replace(out, emotion_audio=None, emotion_sample_rate=None,
                                                   emotion_strength=1.0) == replace(REQUEST, emotion=None,
                                                                                    emotion_strength=1.0)


@pytest.mark.parametrize(("emotion", "controls", "words", "strength"), [
    ("angry", ("vector",), "angry", 0.7),
    ("angry", ("text",), "angry", 0.7),
    ("description", ("text",), "悲伤地低语", 0.6),
    ("description", ("vector",), "sad", 0.6),
    ("description", ("label",), "sad", 0.6),
])
def test_label_or_description_goes_as_emotion_text(emotion: str, controls: tuple[str, ...], words: str,
                                                   strength: float) -> None:
    out = with_emotion(REQUEST, EMOTIONS[emotion], spec=_spec(*controls), audio=TAKE, sample_rate=16000)
    assert (out.emotion, out.emotion_strength, out.emotion_audio, out.emotion_sample_rate) == (words, strength,
                                                                                               None, None)


@pytest.mark.parametrize(("emotion", "controls", "audio"), [
    ("neutral", ("reference", "vector", "text", "label"), TAKE),
    ("whisper", ("vector", "text"), None),
    ("original", ("vector", "text"), TAKE),
    ("original", ("reference",), None),
])
def test_not_native_clears_the_emotion_fields(emotion: str, controls: tuple[str, ...],
                                              audio: np.ndarray | None) -> None:
    out = with_emotion(REQUEST, EMOTIONS[emotion], spec=_spec(*controls), audio=audio, sample_rate=16000)
    assert out == replace(REQUEST, emotion=None, emotion_strength=1.0)


def test_audio_without_its_rate_is_refused() -> None:
    with pytest.raises(ValueError, match="emotion audio needs its sample rate"):
        with_emotion(REQUEST, EMOTIONS["original"], spec=_spec("reference"), audio=TAKE)
