"""Pauses from punctuation, and stage directions that must not be spoken.

Subtitles carry directions in brackets: ``（沉默片刻）``, ``[pause]``,
``(laughs)``, ``【笑】``. :func:`split_directions` takes them out of the
line: pause-like ones (``[pause]``, ``[beat]``, ``（停顿2秒）``) become
:class:`Silence` pieces, the others (``(laughs)``) are only reported as
:class:`Direction` s. :func:`punctuation_pauses` lists the pause each
punctuation mark asks for (，0.25 s, 。0.5 s, ……0.6 s ...), and
:func:`sentences` cuts spoken text where a voice should stop and breathe.
:func:`speakable_text` is the line for voices that cannot be given silences.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

PAUSE_SECONDS: MappingProxyType[str, float] = MappingProxyType({
    "……": 0.6, "...": 0.6, "…": 0.6, "——": 0.4, "--": 0.3, "—": 0.3,
    "。": 0.5, ".": 0.5, "？": 0.5, "?": 0.5, "！": 0.5, "!": 0.5,
    "；": 0.35, ";": 0.35, "：": 0.3, ":": 0.3, "，": 0.25, ",": 0.25, "、": 0.15,
})
"""Pause after each punctuation mark, seconds at natural speed."""

SENTENCE_PAUSE = 0.5
"""Marks whose pause is at least this long end a sentence (a voice is run per sentence)."""

_PAUSE_WORDS: tuple[tuple[str, float], ...] = (
    ("长时间沉默", 2.0), ("沉默良久", 2.0), ("良久", 2.0), ("沉默片刻", 1.5), ("停顿片刻", 1.0), ("短暂停顿", 0.4),
    ("沉默", 1.0), ("静默", 1.0), ("停顿", 0.7), ("片刻", 1.0), ("稍停", 0.5), ("停", 0.5), ("顿", 0.5),
    ("long pause", 1.5), ("short pause", 0.3), ("long silence", 2.0), ("silence", 1.0), ("pause", 0.7),
    ("beat", 0.5), ("a moment", 1.0), ("beat.", 0.5),
)
_SECONDS_RE = re.compile(r"(\d+(?:\.\d+)?)\s*(?:s|sec|secs|second|seconds|秒|秒钟)\b|(\d+(?:\.\d+)?)\s*秒")
_DIRECTION_RE = re.compile(r"[（(\[【［]([^（）()\[\]【】［］\n]{1,60})[）)\]】］]")
_MARK_RE = re.compile("|".join(re.escape(m) for m in sorted(PAUSE_SECONDS, key=len, reverse=True)))


@dataclass(frozen=True)
class Direction:
    """A stage direction found in a line: ``text[start:end]`` as written, and what was done with it."""

    text: str
    start: int
    end: int
    kind: Literal["pause", "action"]
    """``pause``: became a silence of ``seconds``; ``action``: not spoken, reported only."""
    seconds: float = 0.0


@dataclass(frozen=True)
class Speech:
    """Text to speak."""

    text: str


@dataclass(frozen=True)
class Silence:
    """A silence the line asks for (from a pause direction), seconds at natural speed."""

    seconds: float
    reason: str


@dataclass(frozen=True)
class Pause:
    """The pause a punctuation ``mark`` ending at ``index`` (exclusive) in a text asks for."""

    index: int
    mark: str
    seconds: float


def pause_seconds(mark: str) -> float:
    """Pause for a punctuation mark or run of marks (the longest of them); 0.0 for anything else."""
    return max((PAUSE_SECONDS[m.group(0)] for m in _MARK_RE.finditer(mark)), default=0.0)


def classify_direction(inner: str) -> tuple[Literal["pause", "action"], float]:
    """(kind, seconds) for the text inside a pair of brackets."""
    lowered = inner.strip().lower()
    found = _SECONDS_RE.search(lowered)
    words = ("pause", "beat", "silence", "wait", "停", "顿", "沉默", "静默", "片刻", "良久")
    if found and any(w in lowered for w in words):
        return "pause", float(found.group(1) or found.group(2))
    if found and re.fullmatch(r"[\d.\s]*(s|sec|secs|seconds?|秒|秒钟)?", lowered):
        return "pause", float(found.group(1) or found.group(2))
    for word, seconds in _PAUSE_WORDS:
        if re.search(r"[a-z]", word):
            if re.search(rf"\b{re.escape(word)}\b", lowered):
                return "pause", seconds
        elif word in lowered and len(lowered) <= len(word) + 4:
            return "pause", seconds
    return "action", 0.0


def split_directions(text: str) -> tuple[list[Speech | Silence], list[Direction]]:
    """``text`` as speech and silences in order, and every direction found (never spoken)."""
    pieces: list[Speech | Silence] = []
    directions: list[Direction] = []
    position = 0
    for match in _DIRECTION_RE.finditer(text):
        kind, seconds = classify_direction(match.group(1))
        directions.append(Direction(match.group(0), match.start(), match.end(), kind, seconds))
        before = text[position:match.start()]
        if before.strip():
            pieces.append(Speech(before.strip()))
        if kind == "pause" and seconds > 0:
            pieces.append(Silence(seconds, match.group(0)))
        position = match.end()
    rest = text[position:]
    if rest.strip():
        pieces.append(Speech(rest.strip()))
    merged: list[Speech | Silence] = []
    for piece in pieces:
        if merged and isinstance(piece, Speech) and isinstance(merged[-1], Speech):
            merged[-1] = Speech(_join(merged[-1].text, piece.text))
        else:
            merged.append(piece)
    return merged, directions


def speakable_text(text: str) -> str:
    """``text`` as a voice without silences reads it: directions dropped, pause directions become commas.

    ``"Wait (laughs) no"`` -> ``"Wait no"``; ``"Wait [pause] no"`` -> ``"Wait, no"``.
    """
    pieces, _ = split_directions(text)
    spoken = ""
    for piece in pieces:
        if isinstance(piece, Speech):
            joint = "" if not spoken else (" " if spoken[-1] in ".!?,;:" else ", ")
            spoken += joint + piece.text
    return spoken


def _join(left: str, right: str) -> str:
    if re.search(r"[\u3000-\u9fff\uff00-\uffef]$", left) or re.match(r"[\u3000-\u9fff\uff00-\uffef]", right):
        return left + right
    return f"{left} {right}"


def punctuation_pauses(text: str) -> list[Pause]:
    """Every run of punctuation in ``text`` with the pause it asks for (decimal points are not pauses)."""
    pauses: list[Pause] = []
    for run in re.finditer(rf"(?:{_MARK_RE.pattern})+", text):
        mark = run.group(0)
        if mark == "." and run.end() < len(text) and text[run.end()].isdigit():
            continue
        if mark in (":", ".") and run.start() > 0 and text[run.start() - 1].isdigit() and run.end() < len(text) \
                and text[run.end()].isdigit():
            continue
        pauses.append(Pause(run.end(), mark, pause_seconds(mark)))
    return pauses


def sentences(text: str) -> list[tuple[str, float]]:
    """``text`` cut after each pause of at least :data:`SENTENCE_PAUSE`: (sentence, pause after it in seconds).

    Shorter pauses (commas) stay inside a sentence for the voice to phrase.
    The last sentence keeps its own pause (0.0 when it ends without punctuation).
    """
    out: list[tuple[str, float]] = []
    start = 0
    for pause in punctuation_pauses(text):
        if pause.seconds >= SENTENCE_PAUSE:
            piece = text[start:pause.index].strip()
            if piece:
                out.append((piece, pause.seconds))
            start = pause.index
    rest = text[start:].strip()
    if rest:
        out.append((rest, 0.0))
    return out
