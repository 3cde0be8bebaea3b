"""How a line should feel: the :class:`Emotion` record, the labels and their prosody targets.

A line's emotion comes from one of four methods:

* ``original``: the actor's performance in the original take under the clip
  (its pitch contour, energy shape and voice quality) carried into the new
  line, with a ``strength`` 0-1 (:mod:`revoice.engine.emotion.transfer`);
* ``label``: one of :data:`LABELS` with an ``intensity`` 0-1, rendered by
  moving the voice's own reading toward the label's :class:`ProsodyTarget`
  (:mod:`revoice.engine.emotion.styling`); a description ("angrily, voice
  shaking", "悲伤地低语") is mapped to a label and an intensity by
  :mod:`revoice.engine.emotion.lexicon` and keeps its words for the report;
* ``reference``: another recording's performance, as ``original`` (a file);
* ``neutral``: the voice's own reading, untouched.

:func:`parse_emotion` reads the one-word forms every front end accepts
(``original``, ``original:0.7``, ``angry``, ``angry:0.6``, ``neutral``,
``reference:take3.wav``, or a description). :func:`line_emotion` decides a
line's emotion from the line's own request, the run's request and whether
original audio exists (``original`` is the default when it does).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from types import MappingProxyType
from typing import Any, Literal

EmotionMethod = Literal["neutral", "original", "label", "reference"]
METHODS: tuple[EmotionMethod, ...] = ("neutral", "original", "label", "reference")

LABELS: tuple[str, ...] = ("neutral", "happy", "sad", "angry", "afraid", "surprised", "disgusted", "calm",
                           "whisper")
"""Every emotion label, in the order menus show them."""


@dataclass(frozen=True)
class ProsodyTarget:
    """How a label moves a neutral reading, at intensity 1 (intensity scales it; 0 is no change).

    Values follow the acoustic profiles of vocal emotion in the literature
    (Murray & Arnott 1993; Scherer 2003; Banse & Scherer 1996): angry and happy
    raise pitch range and energy and brighten the voice, sad and calm lower
    and narrow them, whisper removes the voicing.
    """

    f0_shift_semitones: float = 0.0
    """Change of the median pitch (semitones; 12 = one octave)."""
    f0_range_factor: float = 1.0
    """Factor on the pitch contour's spread around its median (1 keeps it; 1.5 is 50% wider)."""
    rate_factor: float = 1.0
    """Speaking rate factor where the line's length is free (1.1 is 10% faster)."""
    energy_db: float = 0.0
    """Change of the line's loudness (dB), applied to its loudness target."""
    tilt_db: float = 0.0
    """Change of the level above 1 kHz relative to below (dB; + pressed/bright, - soft/dark)."""
    pause_factor: float = 1.0
    """Factor on pauses inside the line, where its length is free."""
    breathiness: float = 0.0
    """Share of the voicing replaced by breath noise (0-1; 1 is a full whisper)."""

    def scaled(self, intensity: float) -> ProsodyTarget:
        """This target at ``intensity`` (0-1): offsets scale linearly, factors geometrically."""
        k = min(max(float(intensity), 0.0), 1.0)
        return ProsodyTarget(
            f0_shift_semitones=self.f0_shift_semitones * k,
            f0_range_factor=self.f0_range_factor ** k,
            rate_factor=self.rate_factor ** k,
            energy_db=self.energy_db * k,
            tilt_db=self.tilt_db * k,
            pause_factor=self.pause_factor ** k,
            breathiness=self.breathiness * k,
        )


PROSODY_TARGETS: MappingProxyType[str, ProsodyTarget] = MappingProxyType({
    "neutral": ProsodyTarget(),
    "happy": ProsodyTarget(f0_shift_semitones=2.0, f0_range_factor=1.45, rate_factor=1.08, energy_db=2.0,
                           tilt_db=2.0, pause_factor=0.85),
    "sad": ProsodyTarget(f0_shift_semitones=-1.5, f0_range_factor=0.6, rate_factor=0.85, energy_db=-3.0,
                         tilt_db=-3.0, pause_factor=1.3),
    "angry": ProsodyTarget(f0_shift_semitones=1.5, f0_range_factor=1.55, rate_factor=1.1, energy_db=4.0,
                           tilt_db=4.0, pause_factor=0.8),
    "afraid": ProsodyTarget(f0_shift_semitones=3.0, f0_range_factor=1.2, rate_factor=1.12, energy_db=0.0,
                            tilt_db=1.0, pause_factor=0.9),
    "surprised": ProsodyTarget(f0_shift_semitones=3.0, f0_range_factor=1.6, rate_factor=1.0, energy_db=2.0,
                               tilt_db=1.5),
    "disgusted": ProsodyTarget(f0_shift_semitones=-1.0, f0_range_factor=0.85, rate_factor=0.88, energy_db=-1.0,
                               tilt_db=1.0, pause_factor=1.15),
    "calm": ProsodyTarget(f0_shift_semitones=-0.5, f0_range_factor=0.8, rate_factor=0.92, energy_db=-1.5,
                          tilt_db=-1.5, pause_factor=1.15),
    "whisper": ProsodyTarget(f0_range_factor=0.5, rate_factor=0.95, energy_db=-8.0, tilt_db=-2.0,
                             breathiness=0.85),
})
"""Each label's documented prosody target at intensity 1 (ARCHITECTURE.md lists them as a table)."""


@dataclass(frozen=True)
class Emotion:
    """How one line (or a whole run) should feel, and where that came from."""

    method: EmotionMethod = "neutral"
    label: str = "neutral"
    """One of :data:`LABELS` (method ``label``); ``neutral`` otherwise."""
    intensity: float = 1.0
    """How strongly the label's target applies (0-1)."""
    strength: float = 1.0
    """How much of the reference performance is carried over (0-1; methods ``original``/``reference``)."""
    description: str = ""
    """The words a label was read from ("angrily, voice shaking"), kept for the report."""
    reference: str = ""
    """The reference recording's path (method ``reference``)."""
    source: str = ""
    """Where the request came from, for people: ``CLI``, ``subtitle tag``, ``ASS style``, ``marker``,
    ``job file``, ``panel``, ``default``."""

    def check(self) -> None:
        """Raise ValueError naming the bad field."""
        if self.method not in METHODS:
            raise ValueError(f"unknown emotion method {self.method!r}; use one of {', '.join(METHODS)}")
        if self.label not in LABELS:
            raise ValueError(f"unknown emotion {self.label!r}; use one of {', '.join(LABELS)}")
        for name, value in (("intensity", self.intensity), ("strength", self.strength)):
            if not (isinstance(value, (int, float)) and math.isfinite(value) and 0.0 <= value <= 1.0):
                raise ValueError(f"emotion {name} {value!r} must be a number from 0 to 1")
        if self.method == "reference" and not self.reference:
            raise ValueError("emotion method 'reference' needs a reference recording")

    @property
    def target(self) -> ProsodyTarget:
        """The label's prosody target at this intensity (no change for other methods)."""
        if self.method != "label":
            return ProsodyTarget()
        return PROSODY_TARGETS[self.label].scaled(self.intensity)

    def sound_key(self) -> dict[str, Any]:
        """What decides the sound (part of the render key): not where the request came from."""
        if self.method == "neutral" or (self.method == "label" and (self.label == "neutral" or not self.intensity)):
            return {"method": "neutral"}
        if self.method == "label":
            return {"method": "label", "label": self.label, "intensity": round(float(self.intensity), 3)}
        key: dict[str, Any] = {"method": self.method, "strength": round(float(self.strength), 3)}
        if self.method == "reference":
            key["reference"] = self.reference
        return key

    def words(self) -> str:
        """For people: ``angry 0.8 ("angrily, voice shaking")``, ``original take 100%``, ``neutral``."""
        if self.method == "label" and self.label != "neutral":
            said = f"{self.label} {self.intensity:.2g}"
            return f'{said} ("{self.description}")' if self.description else said
        if self.method == "original":
            return f"original take {self.strength:.0%}"
        if self.method == "reference":
            return f"reference {self.reference} {self.strength:.0%}"
        return "neutral"

    def to_json(self) -> dict[str, Any]:
        """The fields as a JSON object (empty strings left out)."""
        return {name: value for name, value in asdict(self).items() if value != ""}

    @classmethod
    def from_json(cls, data: Any) -> Emotion:
        """Read :meth:`to_json`'s object; raise ValueError naming a bad or unknown field."""
        if not isinstance(data, dict):
            raise ValueError(f"an emotion must be an object, got {type(data).__name__}")
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown emotion field(s) {', '.join(unknown)}; use {', '.join(sorted(known))}")
        for name in ("intensity", "strength"):
            if name in data and (isinstance(data[name], bool) or not isinstance(data[name], (int, float))):
                raise ValueError(f"emotion {name} {data[name]!r} must be a number from 0 to 1")
        for name in ("method", "label", "description", "reference", "source"):
            if name in data and not isinstance(data[name], str):
                raise ValueError(f"emotion {name} {data[name]!r} must be text")
        emotion = cls(**{name: data[name] for name in data})
        emotion.check()
        return emotion


NEUTRAL = Emotion()
"""The voice's own reading."""


def parse_emotion(text: str, *, source: str) -> Emotion:
    """Read ``text`` as an emotion request from ``source``; raise ValueError saying what is accepted.

    Accepted: ``neutral`` (or ``off``/``none``); ``original`` or ``original:STRENGTH``;
    ``LABEL`` or ``LABEL:INTENSITY``; ``reference:PATH``; otherwise a description
    in English or Chinese, mapped through the lexicon.
    """
    raw = " ".join(str(text).split())
    if not raw:
        raise ValueError("empty emotion; use original, neutral, a label such as angry:0.7, or a description")
    lowered = raw.lower()
    if lowered in ("neutral", "off", "none", "flat"):
        return Emotion(source=source)
    if lowered.startswith("reference:"):
        path = raw.split(":", 1)[1].strip()
        return _checked(Emotion(method="reference", reference=path, source=source))
    name, _, amount = lowered.partition(":")
    name = name.strip()
    if name in ("original", "performance"):
        return _checked(Emotion(method="original", strength=_fraction(amount, raw, "strength"), source=source))
    if name in LABELS:
        if name == "neutral":
            return Emotion(source=source)
        return _checked(Emotion(method="label", label=name, intensity=_fraction(amount, raw, "intensity"),
                                source=source))
    from revoice.engine.emotion.lexicon import match_description

    described, colon, strength = raw.rpartition(":")
    amount_given = bool(colon) and _is_number(strength)
    match = match_description(described if amount_given else raw)
    if match is None:
        raise ValueError(f"cannot read the emotion {raw!r}: use original, neutral, one of "
                         f"{', '.join(LABELS[1:])} (with :INTENSITY 0-1), or a description such as "
                         f"'angrily, voice shaking'")
    intensity = _fraction(strength, raw, "intensity") if amount_given else match.intensity
    return _checked(Emotion(method="label", label=match.label, intensity=intensity,
                            description=described.strip() if amount_given else raw, source=source))


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def line_emotion(requested: Emotion | None, *, run: Emotion | None, has_original: bool) -> Emotion:
    """The emotion a line renders with: its own request, else the run's, else the default.

    The default is the original take's performance when the line has readable
    original audio, else neutral. ``original`` without original audio falls
    back to neutral (the report says so through :meth:`Emotion.words`).
    """
    chosen = requested or run or Emotion(method="original" if has_original else "neutral", source="default")
    if chosen.method == "original" and not has_original:
        return replace(NEUTRAL, source=f"{chosen.source or 'default'}: no original audio")
    return chosen


def _fraction(amount: str, raw: str, what: str) -> float:
    if not amount.strip():
        return 1.0
    try:
        value = float(amount)
    except ValueError:
        raise ValueError(f"emotion {raw!r}: {what} {amount.strip()!r} is not a number from 0 to 1") from None
    if not (math.isfinite(value) and 0.0 <= value <= 1.0):
        raise ValueError(f"emotion {raw!r}: {what} {amount.strip()} must be from 0 to 1")
    return value


def _checked(emotion: Emotion) -> Emotion:
    emotion.check()
    return emotion
