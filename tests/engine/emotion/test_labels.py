"""The Emotion record: parsing every front end's forms, checking, JSON, which emotion a line gets, and the
documented label targets (ARCHITECTURE.md's table is the code's)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from revoice.engine.emotion.labels import LABELS, PROSODY_TARGETS, Emotion, line_emotion, parse_emotion


@pytest.mark.parametrize(("text", "method", "label", "amount"), [
    ("neutral", "neutral", "neutral", 1.0), ("off", "neutral", "neutral", 1.0),
    ("original", "original", "neutral", 1.0), ("original:0.6", "original", "neutral", 0.6),
    ("angry", "label", "angry", 1.0), ("Angry:0.25", "label", "angry", 0.25), ("whisper", "label", "whisper", 1.0),
    ("furious:0.3", "label", "angry", 0.3),
])
def test_parse_forms(text: str, method: str, label: str, amount: float) -> None:
    emotion = parse_emotion(text, source="CLI")
    assert (emotion.method, emotion.label, emotion.source) == (method, label, "CLI")
    assert (emotion.strength if method == "original" else emotion.intensity) == amount


@pytest.mark.parametrize("text", ["", "angry:1.5", "angry:x", "original:-1", "zzzz qqq", "reference:", "furious:7"])
def test_bad_forms_say_what_is_accepted_in_one_line(text: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_emotion(text, source="CLI")
    assert "\n" not in str(caught.value)


def test_json_round_trip_and_bad_fields() -> None:
    emotion = Emotion(method="label", label="sad", intensity=0.4, description="sadly", source="job file")
    assert Emotion.from_json(emotion.to_json()) == emotion
    for bad, word in [({"method": "shout"}, "method"), ({"label": "sad", "method": "label", "intensity": 2}, "intensity"),
                      ({"colour": "red"}, "colour"), ([], "object"), ({"intensity": True}, "intensity")]:
        with pytest.raises(ValueError, match=word):
            Emotion.from_json(bad)


def test_which_emotion_a_line_gets() -> None:
    tag = Emotion(method="label", label="angry", source="subtitle tag")
    run = Emotion(method="label", label="calm", source="CLI")
    assert line_emotion(tag, run=run, has_original=True) is tag
    assert line_emotion(None, run=run, has_original=True) is run
    assert line_emotion(None, run=None, has_original=True).method == "original"
    assert line_emotion(None, run=None, has_original=False).method == "neutral"
    fallback = line_emotion(Emotion(method="original", source="CLI"), run=None, has_original=False)
    assert fallback.method == "neutral" and "no original audio" in fallback.source


def test_sound_key_ignores_where_the_request_came_from() -> None:
    a = Emotion(method="label", label="angry", intensity=0.8, source="CLI", description="angrily")
    b = Emotion(method="label", label="angry", intensity=0.8, source="panel")
    assert a.sound_key() == b.sound_key() != Emotion(method="label", label="angry", intensity=0.7).sound_key()
    assert Emotion(method="label", label="sad", intensity=0.0).sound_key() == {"method": "neutral"}


def test_targets_scale_with_intensity() -> None:
    angry = PROSODY_TARGETS["angry"]
    half = angry.scaled(0.5)
    assert half.f0_shift_semitones == pytest.approx(angry.f0_shift_semitones / 2)
    assert half.f0_range_factor == pytest.approx(angry.f0_range_factor ** 0.5)
    assert angry.scaled(0.0) == PROSODY_TARGETS["neutral"]


def test_architecture_table_is_the_code() -> None:
    doc = (Path(__file__).parents[3] / "ARCHITECTURE.md").read_text(encoding="utf-8")
    rows = {m.group(1): m.group(2) for m in re.finditer(r"^\| (\w+) \|(.*)\|$", doc, re.MULTILINE)}
    for label in LABELS[1:]:
        cells = [float(c.strip().replace("−", "-").replace("+", "")) for c in rows[label].split("|")]
        t = PROSODY_TARGETS[label]
        assert cells == pytest.approx([t.f0_shift_semitones, t.f0_range_factor, t.rate_factor, t.energy_db,
                                       t.tilt_db, t.pause_factor, t.breathiness]), label
