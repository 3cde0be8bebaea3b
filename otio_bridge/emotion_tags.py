"""Where a line's own emotion comes from in subtitles and timelines, and which source wins.

Each source gives an :class:`~revoice.engine.emotion.labels.Emotion` whose
``source`` names it (the report and the panel show it):

* ``"subtitle tag"``: a bracketed tag at the very start of a cue's text, after
  an optional speaker prefix: ``[angry] Give me the keys.``,
  ``MARA: (angrily) Give me the keys.``, ``【愤怒】把钥匙给我``,
  ``[angry:0.6] ...``, ``[whispering] ...``. The words inside read as
  :func:`~revoice.engine.emotion.labels.parse_emotion` reads them (a label,
  ``LABEL:INTENSITY``, ``original[:STRENGTH]``, ``neutral``, or a
  description the lexicon maps); the tag is then the emotion of the whole line
  and is taken out of the spoken text. A bracket anywhere else in the line,
  and a leading bracket whose words are not an emotion (``[pause]``,
  ``(O.S.)``), stays in the text as a stage direction
  (revoice.engine.text.directions: not spoken; pauses become silences).
  A tag that only names a sound the actor makes (``(laughs)``, ``(sighs)``,
  ``【笑】``: :data:`SOUND_DIRECTIONS`) stays a direction too: it happens in
  the line, it is not how the line is said; ``(laughing)``, ``(sobbing)``,
  ``[whispering]`` say how, and are emotions.
  ASS override blocks (``{\\i1}``) are removed before the tag is looked for.
  ``off``/``none``/``flat`` and ``reference:PATH`` are not read from tags
  (``(off)`` is a script's off-screen mark, not a request).
* ``"marker"``: ``metadata["revoice"]["emotion"]`` on a timeline marker or a
  subtitle clip, a string as above (``"angry:0.7"``, ``"original:0.5"``, a
  description) or an ``Emotion.to_json()`` object. A bad value gives one
  warning naming the marker and what was wrong, and no emotion from it. A tag
  at the start of a marker's text is read too (source ``"marker"``).
* ``"ASS actor"``: the actor (Name) field of an .ass/.ssa event written
  ``MARA (angry)`` or ``MARA [angry]``: the speaker is MARA, the emotion angry.
  A bracket that is not an emotion (``MARA (V.O.)``) leaves the field as the
  speaker's name, as before.
* ``"ASS style"``: an event's style whose name is an emotion (``Angry``,
  ``Whisper``) or ends in one (``MARA - angry``, ``Mara_sad``, ``Mara (calm)``).

Precedence, when one line has several: the line's own words first (marker
metadata, then the tag in its text), then the ASS actor field, then the ASS
style; None when there are none (the run's emotion or the default applies,
see :func:`~revoice.engine.emotion.labels.line_emotion`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from revoice.engine.emotion.labels import LABELS, Emotion, parse_emotion

SUBTITLE_TAG = "subtitle tag"
MARKER = "marker"
ASS_ACTOR = "ASS actor"
ASS_STYLE = "ASS style"

_LEADING_TAG = re.compile(r"^\s*(?:\[([^\[\]]{1,60})\]|\(([^()]{1,60})\)|【([^【】]{1,60})】|（([^（）]{1,60})）"
                          r"|［([^［］]{1,60})］)\s*")
"""A bracketed tag at the start of a text: [..], (..), 【..】, full-width （..） and ［..］."""
_TRAILING_TAG = re.compile(r"^(.*?)\s*(?:\[([^\[\]]{1,60})\]|\(([^()]{1,60})\)|【([^【】]{1,60})】"
                           r"|（([^（）]{1,60})）)\s*$")
"""A name followed by a bracketed tag (an ASS actor field such as ``MARA (angry)``)."""
_STYLE_SEPARATOR = re.compile(r"\s+[-–—:|/]\s+|\s*[_|/]\s*|(?<=\S)-(?=\S)")
"""Where a style name's emotion part starts: ``MARA - angry``, ``Mara_sad``, ``Mara-calm``."""
_NOT_REQUESTS = frozenset({"off", "none", "flat"})
"""Words parse_emotion reads as neutral that a script uses otherwise (``(off)``: off screen)."""
SOUND_DIRECTIONS = frozenset("""laughs laugh laughter chuckles chuckle giggles giggle sighs sigh sobs sob gasps gasp
    screams scream groans groan 笑 大笑 哈哈大笑 哭 叹气 叹息 尖叫""".split())
"""Whole tags that name a sound the actor makes: stage directions, never the line's emotion (the lexicon
maps the words, so a longer description such as ``(laughs bitterly)`` is one)."""


def read_tag(words: str, *, source: str) -> Emotion | None:
    """The emotion the words inside a tag (or a style name) ask for; None when they are not one."""
    text = " ".join(words.split())
    lowered = text.lower()
    if not text or lowered in _NOT_REQUESTS or lowered in SOUND_DIRECTIONS or lowered.startswith("reference:"):
        return None
    try:
        return parse_emotion(text, source=source)
    except ValueError:
        return None


def split_emotion_tag(text: str, *, source: str = SUBTITLE_TAG) -> tuple[Emotion | None, str]:
    """``(emotion, the rest)`` when ``text`` starts with an emotion tag; else ``(None, text)`` unchanged.

    ``text`` is plain text with any speaker prefix already removed
    (``"[angry] Give me the keys."`` -> angry and ``"Give me the keys."``).
    Only the first bracket is looked at: ``"[pause] [angry] Go"`` has no tag.
    """
    match = _LEADING_TAG.match(text)
    if match is None:
        return None, text
    inner = next(group for group in match.groups() if group is not None)
    emotion = read_tag(inner, source=source)
    if emotion is None:
        return None, text
    return emotion, text[match.end():].strip()


def tag_problem(text: str) -> str | None:
    """Why a leading tag that asks for a label or the original with an amount is not read (``[angry:7]``).

    None when ``text`` has no such tag or it reads well. Such a tag stays in
    the text as a stage direction; the caller warns with this message.
    """
    match = _LEADING_TAG.match(text)
    if match is None:
        return None
    inner = next(group for group in match.groups() if group is not None)
    name, colon, _ = inner.lower().partition(":")
    if not colon or name.strip() not in (*LABELS, "original", "performance"):
        return None
    try:
        parse_emotion(inner, source=SUBTITLE_TAG)
    except ValueError as exc:
        return f"the tag {match.group(0).strip()} is not read as an emotion ({exc}); it stays a stage direction"
    return None


def actor_emotion(actor: str) -> tuple[str | None, Emotion | None]:
    """An ASS actor (Name) field as ``(speaker, emotion)``: ``"MARA (angry)"`` -> ``("MARA", angry)``.

    A field without an emotion bracket is the speaker as written (None when
    blank); ``"(angry)"`` alone gives no speaker and the emotion.
    """
    match = _TRAILING_TAG.match(actor.strip())
    if match is not None:
        inner = next(group for group in match.groups()[1:] if group is not None)
        emotion = read_tag(inner, source=ASS_ACTOR)
        if emotion is not None:
            return match.group(1).strip() or None, emotion
    return actor.strip() or None, None


def style_emotion(style: str) -> Emotion | None:
    """The emotion an ASS style's name carries (``Angry``, ``Whisper``, ``MARA - angry``); None for others."""
    name = " ".join(style.split())
    if not name or name.lower() == "default":
        return None
    _, bracketed = actor_emotion(name)
    if bracketed is not None:
        return replace(bracketed, source=ASS_STYLE)
    parts = _STYLE_SEPARATOR.split(name)
    tail = read_tag(parts[-1], source=ASS_STYLE) if len(parts) > 1 else None
    return tail if tail is not None else read_tag(name, source=ASS_STYLE)


def marker_emotion(metadata: Any, *, origin: str, warnings: list[str]) -> Emotion | None:
    """The emotion in an OTIO item's ``metadata["revoice"]["emotion"]``; None when it has none (null, blank).

    A value that is not an emotion gives None and one warning in ``warnings``
    naming the item (``origin``, e.g. ``marker 'Line 3'``) and what is wrong.
    """
    try:
        value = metadata["revoice"]["emotion"]
    except (KeyError, TypeError, IndexError):
        return None
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        if isinstance(value, str):
            return parse_emotion(value, source=MARKER)
        if isinstance(value, Mapping):
            return replace(Emotion.from_json({str(key): item for key, item in value.items()}), source=MARKER)
        problem = f"must be text such as 'angry:0.7' or an emotion object, not {type(value).__name__}"
    except (ValueError, TypeError) as exc:
        problem = " ".join(str(exc).split())[:160]
    shown = repr(value)[:60] if isinstance(value, str) else "value"
    warnings.append(f"{origin}: metadata revoice.emotion {shown} is not an emotion ({problem}); "
                    "the line is read without its own emotion")
    return None


def first_emotion(*candidates: Emotion | None) -> Emotion | None:
    """The first emotion given, in precedence order (see the module docstring)."""
    return next((emotion for emotion in candidates if emotion is not None), None)
