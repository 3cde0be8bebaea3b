"""CMX 3600 EDL structure, checked line by line before the OTIO adapter reads the file.

The ``cmx_3600`` adapter names no line in its errors ("incorrect number of
fields", "Unknown event type") and keeps any line after an event that is not
an event as a comment of it, so a stray line is dropped without a word.
:func:`check_edl` walks the lines the way the adapter does and raises
:class:`InputError` naming the line for what the adapter would refuse;
:func:`stray_lines` lists the lines it would swallow, for a warning.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from revoice.otio_bridge.errors import InputError

_TIMECODE = re.compile(r"\d\d[:;.]\d\d[:;.]\d\d[:;.]\d\d|\d+")
"""An event's source/record time: ``HH:MM:SS:FF`` (``;`` for drop frame) or a frame count."""
_EVENT_NUMBER = re.compile(r"[0-9]+")
_NOTES = ("*", "M2", "AUD", ">>>", "EFFECTS NAME IS", "FROM CLIP", "FROM FILE", "TO CLIP", "LOC",
          "ASC_SOP", "ASC_SAT", "FCM", "TITLE", "SPLIT", "REM")
"""How the notes after an event start: comments (``*``), motion (``M2``), Avid's audio channels (``AUD``)
and source tables (``>>>``), effect names, and the adapter's own comment keys written without ``*``."""
_EXAMPLE = "'001  REEL  A  C  01:00:00:00 01:00:02:00 01:00:10:00 01:00:12:00'"


@dataclass(frozen=True)
class StrayLine:
    """A line the adapter would keep as a comment of ``event`` although it is no EDL note."""

    line: int
    """1-based line number in the file."""
    text: str
    event: str
    """The event number it follows, as written (``"003"``)."""


def check_edl(path: Path, text: str) -> list[StrayLine]:
    """Raise :class:`InputError` (with the line) for lines the adapter refuses; return the stray lines.

    Before the first event only ``TITLE:``, ``FCM`` and ``SPLIT`` lines may
    appear; each event line has 8 fields (a cut, edit type ``C``) or 9 (a
    transition) ending in four timecodes; ``SPLIT`` is followed by two events;
    an event has at most one transition line (its number repeated).
    """
    lines = [(number, line.strip()) for number, line in enumerate(text.splitlines(), start=1) if line.strip()]
    stray: list[StrayLine] = []
    index = 0
    while index < len(lines):
        number, line = lines[index]
        index += 1
        if line.startswith(("TITLE:", "FCM")):
            continue
        if line.startswith("SPLIT"):
            followers = lines[index : index + 2]
            _check_split(path, number, line, followers)
            for follower in followers:
                _check_event(path, *follower)
            index = _notes(lines, index + 2, followers[-1][1].split()[0], stray)
            continue
        if line[0].isdigit():
            _check_event(path, number, line)
            event = _EVENT_NUMBER.match(line)
            assert event is not None  # _check_event checked it
            index = _event_rest(path, lines, index, event.group(0), stray)
            continue
        raise InputError(path, number, f"'{_short(line)}' is not an EDL event, TITLE or FCM line",
                         "Events start with their number; delete the line, or make it a comment "
                         "(starting with *) after an event")
    return stray


def stray_lines(path: Path) -> list[StrayLine]:
    """:func:`check_edl` of the file at ``path``; [] when it cannot be read or does not check out."""
    try:
        text = path.read_text(encoding="utf-8-sig")
        return check_edl(path, text)
    except (OSError, UnicodeDecodeError, InputError):
        return []


def stray_line_warnings(path: Path, *, shown: int = 5) -> list[str]:
    """One warning listing the EDL's stray lines (:func:`stray_lines`), or none."""
    stray = stray_lines(path)
    if not stray:
        return []
    listed = ", ".join(f"line {s.line} '{_short(s.text)}'" for s in stray[:shown])
    more = f" and {len(stray) - shown} more" if len(stray) > shown else ""
    return [f"{path.name}: {len(stray)} line(s) are neither EDL events nor notes and were read as comments "
            f"of the event before them: {listed}{more}; check that no event was broken across lines"]


def _event_rest(path: Path, lines: list[tuple[int, str]], index: int, event: str,
                stray: list[StrayLine]) -> int:
    """Past the notes and the one transition line (same event number) after event ``event``."""
    transition = False
    while index < len(lines):
        number, line = lines[index]
        if not line[0].isdigit():
            if not line.startswith(_NOTES):
                stray.append(StrayLine(number, line, event))
            index += 1
            continue
        _check_event(path, number, line)
        lead = _EVENT_NUMBER.match(line)
        assert lead is not None  # _check_event checked it
        if int(lead.group(0)) != int(event):
            break
        if transition:
            raise InputError(path, number, f"a second transition line for event {event}",
                             "An event has at most one transition; delete one of them")
        transition = True
        index += 1
    return index


def _notes(lines: list[tuple[int, str]], index: int, event: str, stray: list[StrayLine]) -> int:
    """Past the notes (lines not starting with a digit) at ``index``, after event ``event``."""
    while index < len(lines) and not lines[index][1][0].isdigit():
        number, line = lines[index]
        if not line.startswith(_NOTES):
            stray.append(StrayLine(number, line, event))
        index += 1
    return index


def _check_split(path: Path, number: int, line: str, followers: list[tuple[int, str]]) -> None:
    audio, video = "AUDIO DELAY" in line, "VIDEO DELAY" in line
    if audio == video:
        raise InputError(path, number, "a SPLIT line must name either an AUDIO DELAY or a VIDEO DELAY",
                         "Fix the SPLIT line or delete it")
    if len(followers) < 2 or not all(text[0].isdigit() for _, text in followers):
        raise InputError(path, number, "a SPLIT line must be followed by two event lines",
                         "Add the split's two events or delete the SPLIT line")


def _check_event(path: Path, number: int, line: str) -> None:
    """One event (or transition) line: its number, 8 or 9 fields, edit type, four timecodes."""
    fields = line.split()
    if _EVENT_NUMBER.match(fields[0]) is None:
        raise InputError(path, number, f"event number '{_short(fields[0])}' does not start with digits 0-9",
                         f"Write events like {_EXAMPLE}")
    if len(fields) not in (8, 9):
        raise InputError(path, number, f"the event has {len(fields)} fields, not 8 (a cut) or 9 (a transition)",
                         f"Write events like {_EXAMPLE}")
    if len(fields) == 8 and fields[3] != "C":
        raise InputError(path, number, f"edit type '{_short(fields[3])}' in an 8-field event; a cut is 'C'",
                         "Write transitions with their duration (9 fields), cuts with C")
    for stamp in fields[-4:]:
        if _TIMECODE.fullmatch(stamp) is None:
            raise InputError(path, number, f"'{_short(stamp)}' is not a timecode",
                             "Write source and record times as HH:MM:SS:FF")


def _short(text: str, limit: int = 40) -> str:
    """``text`` on one printable line, cut to ``limit`` characters."""
    text = "".join(c if c.isprintable() else "?" for c in text.strip())
    return text if len(text) <= limit else text[: limit - 1] + "…"
