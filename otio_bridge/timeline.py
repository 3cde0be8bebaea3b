"""Read NLE timelines through OpenTimelineIO adapters; rates and timecodes.

Formats (by extension): ``.otio`` (otio_json), ``.otioz``/``.otiod`` (OTIO
bundles), ``.xml`` (FCP7 XML from Premiere/Resolve via ``fcp_xml``) and
``.edl`` (CMX 3600 via ``cmx_3600``). Dialect metadata such as
``Resolve_OTIO`` or ``PremierePro_OTIO`` is left untouched.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from fractions import Fraction
from pathlib import Path
from types import MappingProxyType

import opentimelineio as otio
from revoice.otio_bridge.edl import check_edl
from revoice.otio_bridge.errors import InputError
from revoice.otio_bridge.limits import (
    BUNDLE_CONTENT,
    DEFAULT_LIMITS,
    ReadLimits,
    check_json_nesting,
    read_bounded,
    read_bundle_content,
)

ADAPTERS: Mapping[str, str] = MappingProxyType({
    ".otio": "otio_json",
    ".otioz": "otioz",
    ".otiod": "otiod",
    ".xml": "fcp_xml",
    ".edl": "cmx_3600",
})
"""Timeline file extension (lower case) -> OTIO adapter name."""

_RATE_TOLERANCE = 1e-3
"""Relative difference under which two rates count as the same (23.976 vs 24000/1001)."""

MAX_TIME_SECONDS = 1e7
"""Furthest a time in a timeline may lie from zero (115 days; timecodes wrap at 24 hours)."""

_TIMECODE_RE = re.compile(r"\d{1,2}:\d{2}:\d{2}[:;.]\d{2}")


def read_timeline(path: str | Path, *, rate: float | None = None,
                  limits: ReadLimits = DEFAULT_LIMITS) -> otio.schema.Timeline:
    """Read a timeline file with the OTIO adapter its extension names.

    ``rate`` (frames per second) is only used for ``.edl`` files, which do not
    carry their rate (the CMX adapter assumes 24). For EDLs the record start of
    the first event becomes ``global_start_time`` and tracks start at time 0.
    Before any adapter parses it, the file is held to ``limits``
    (:mod:`revoice.otio_bridge.limits`: size, JSON nesting depth, a bundle's
    unpacked size and compression ratio) and an EDL's lines are checked
    (:mod:`revoice.otio_bridge.edl`); the result is checked by
    :func:`check_timeline`. Any failure is raised as :class:`InputError`
    naming the file.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    adapter = ADAPTERS.get(suffix)
    if adapter is None:
        known = ", ".join(sorted(ADAPTERS))
        raise InputError(p, None, f"unknown timeline format '{p.suffix or p.name}'",
                         f"Export the timeline as one of: {known}")
    if suffix == ".otiod" and not _is(p, folder=True):
        raise InputError(p, None, "no such OTIO bundle folder",
                         "Check the path, or export the timeline again")
    if suffix != ".otiod" and not _is(p, folder=False):
        raise InputError(p, None, "no such file", "Check the path and the file name")
    if rate is not None and not (math.isfinite(rate) and rate > 0):
        raise InputError(p, None, f"frame rate {rate} is not a positive number",
                         "Pass the timeline's frame rate, e.g. 25 or 23.976")

    kwargs: dict[str, object] = {}
    if adapter == "cmx_3600" and rate is not None:
        kwargs["rate"] = normalize_rate(rate)
    text = _checked_text(p, adapter, limits)
    try:
        result = otio.adapters.read_from_string(text, adapter_name=_STRING_ADAPTERS.get(adapter, adapter),
                                                **kwargs)
    except RecursionError:
        raise InputError(p, None, "the timeline is nested too deeply to read",
                         "A real timeline nests a few dozen levels at most; export it again") from None
    except MemoryError:
        raise InputError(p, None, "the timeline is too big to read in memory",
                         "Check that this is the right file") from None
    except Exception as exc:  # adapters raise anything from ValueError to XML errors
        raise _adapter_error(p, adapter, exc, rate, text) from None

    timeline = _single_timeline(p, result)
    check_timeline(p, timeline)
    if adapter == "cmx_3600":
        if not list(timeline.find_clips()):
            raise InputError(p, None, "the EDL has no events",
                             "Export the EDL again with the cut's events")
        _normalize_edl_start(timeline, normalize_rate(rate) if rate is not None else 24.0)
    return timeline


def _is(path: Path, *, folder: bool) -> bool:
    """Whether ``path`` is a folder (or a file); False for names this system cannot hold (too long, NUL)."""
    try:
        return path.is_dir() if folder else path.is_file()
    except (OSError, ValueError):
        return False


_STRING_ADAPTERS: Mapping[str, str] = MappingProxyType({"otioz": "otio_json", "otiod": "otio_json"})
"""A bundle's ``content.otio`` is read by the JSON adapter (what the bundle adapters do with it)."""


def _checked_text(path: Path, adapter: str, limits: ReadLimits) -> str:
    """The text an adapter will parse, read within ``limits`` and checked first (see :func:`read_timeline`).

    Text is decoded as UTF-8 (a leading byte-order mark dropped) with
    newlines made ``\n``, as the adapters' own file readers do.
    """
    if adapter == "otioz":
        data = read_bundle_content(path, limits=limits)
        where = path
    else:
        where = path / BUNDLE_CONTENT if adapter == "otiod" else path
        data = read_bounded(where, max_bytes=limits.max_timeline_bytes, what="timeline")
    if adapter in ("otio_json", "otioz", "otiod"):
        check_json_nesting(where, data, max_nesting=limits.max_nesting)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = None if adapter == "otioz" else data.count(b"\n", 0, exc.start) + 1
        raise InputError(where, line, "the file is not UTF-8 text",
                         "Export the timeline again; OTIO, FCP7 XML and EDL files are UTF-8") from None
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if adapter == "cmx_3600":
        check_edl(path, text)
    return text


def check_timeline(path: str | Path, timeline: otio.schema.Timeline) -> None:
    """:class:`InputError` naming the item when ``timeline`` holds a time that the line reader cannot use.

    Every time (the start, each item's and marker's range, each media
    reference's available range) must have a finite value and a positive,
    finite rate, and lie within :data:`MAX_TIME_SECONDS` of zero: the
    arithmetic on them (frames, timecodes) assumes real numbers. Every clip
    and gap must have a length (its own range or its media's), and so must
    the timeline.
    """
    def check(time: otio.opentime.RationalTime | None, what: str) -> None:
        if time is None:
            return
        if not (math.isfinite(time.value) and math.isfinite(time.rate) and time.rate > 0):
            raise InputError(path, None, f"{what} has the time {time.value:g} at rate {time.rate:g}",
                             "Export the timeline again from a sequence with a real frame rate")
        if abs(time.value / time.rate) > MAX_TIME_SECONDS:
            raise InputError(path, None, f"{what} has a time {time.value / time.rate / 86400:.3g} days from zero",
                             "Export the timeline again; no timeline or media runs that long")

    def check_range(rng: otio.opentime.TimeRange | None, what: str) -> None:
        if rng is not None:
            check(rng.start_time, what)
            check(rng.duration, what)

    check(timeline.global_start_time, "the timeline's start")
    items: list[otio.core.Composable] = [timeline.tracks]
    items.extend(timeline.tracks.find_children())
    for item in items:
        label = f"{type(item).__name__.lower()} '{_printable(str(getattr(item, 'name', '')))}'"
        if isinstance(item, otio.core.Item):
            check_range(item.source_range, label)
            for marker in item.markers:
                check_range(marker.marked_range, f"marker '{_printable(marker.name)}' on {label}")
        if isinstance(item, otio.schema.Transition):
            check(item.in_offset, label)
            check(item.out_offset, label)
        if isinstance(item, otio.schema.Clip):
            for ref in item.media_references().values():
                check_range(ref.available_range, f"the media of {label}")
        if isinstance(item, (otio.schema.Clip, otio.schema.Gap)):
            _check_length(path, label, item.trimmed_range)
    _check_length(path, "the timeline", timeline.duration)


def _check_length(path: str | Path, label: str, length: Callable[[], object]) -> None:
    """:class:`InputError` when OTIO cannot compute ``label``'s length."""
    try:
        length()
    except (otio.exceptions.OTIOError, NotImplementedError, ValueError, ArithmeticError) as exc:
        detail = _printable(" ".join(str(exc).split()) or type(exc).__name__, 120)
        raise InputError(path, None, f"{label} has no length that can be computed ({detail})",
                         "Export the timeline again; every clip needs a source range or media with a length") from None


def _printable(text: str, limit: int = 60) -> str:
    """``text`` on one printable line, cut to ``limit`` characters."""
    text = "".join(c if c.isprintable() else "?" for c in text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _single_timeline(path: Path, result: object) -> otio.schema.Timeline:
    """The one Timeline in an adapter result (a Timeline or a collection of one)."""
    if isinstance(result, otio.schema.Timeline):
        return result
    if isinstance(result, otio.schema.SerializableCollection):
        timelines = [t for t in result.find_children(descended_from_type=otio.schema.Timeline)]
        if len(timelines) == 1:
            only = timelines[0]
            assert isinstance(only, otio.schema.Timeline)
            return only
        raise InputError(path, None, f"the file holds {len(timelines)} timelines, not one",
                         "Export a single timeline (sequence) and try again")
    kind = type(result).__name__
    raise InputError(path, None, f"the file holds a {kind}, not a timeline",
                     "Export a timeline (sequence) and try again")


def _adapter_error(path: Path, adapter: str, exc: Exception, rate: float | None, text: str) -> InputError:
    """Turn an adapter exception into an InputError with a line number where we can find one."""
    detail = _printable(" ".join(str(exc).split()) or type(exc).__name__, 300)
    said = re.search(r"\bline (\d+)", detail)  # XML and JSON parsers name the line
    line = int(said.group(1)) if said else _line_mentioning(text, detail)
    if adapter == "cmx_3600":
        if "rate mismatch" in detail.lower() or "frames beyond" in detail.lower():
            given = f"{rate:g} fps" if rate is not None else "the default 24 fps"
            return InputError(path, line, f"EDL timecode does not fit {given}: {detail}",
                              "Pass the EDL's frame rate (e.g. rate=25 / --rate 25)")
        return InputError(path, line, f"cannot read the EDL: {detail}",
                          "Check the event timecodes and the frame rate "
                          "(source and record durations must match)")
    if adapter == "fcp_xml":
        return InputError(path, line, f"cannot read the FCP7 XML: {detail}",
                          "Export the sequence again as Final Cut Pro 7 XML")
    return InputError(path, line, f"cannot read the timeline ({adapter}): {detail}",
                      "Check that the file is complete and was written by an OTIO-aware tool")


def _line_mentioning(text: str, detail: str) -> int | None:
    """First line of ``text`` holding an event statement, timecode or clip name quoted in ``detail``."""
    needles = [m.strip() for m in re.findall(r"(?:form statement|Invalid transition):? (.+)$", detail)]
    needles += _TIMECODE_RE.findall(detail)
    needles += re.findall(r"for clip (\S+)", detail)
    needles = [n for n in needles if n]
    if not needles:
        return None
    for number, line in enumerate(text.splitlines(), start=1):
        if any(n in line or n in " ".join(line.split()) for n in needles):
            return number
    return None


def _normalize_edl_start(timeline: otio.schema.Timeline, rate: float) -> None:
    """Move the CMX adapter's record offset (a negative track trim) to ``global_start_time``.

    The adapter stores each track's first record-in as
    ``track.source_range.start_time = -record_in``. Afterwards tracks are
    untrimmed and start at the earliest record-in (a Gap leads tracks that
    start later), and ``global_start_time`` holds that record-in at ``rate`` fps.
    """
    tracks = [t for t in timeline.tracks if isinstance(t, otio.schema.Track)]
    record_in: list[int] = []
    for track in tracks:
        sr = track.source_range
        negative = sr is not None and sr.start_time.value < 0
        record_in.append(int(round(-to_frames(sr.start_time, rate))) if sr is not None and negative else 0)
    earliest = min(record_in, default=0)
    for track, first in zip(tracks, record_in):
        sr = track.source_range
        if sr is not None and sr.start_time.value < 0:
            track.source_range = None
        if first > earliest:
            track.insert(0, otio.schema.Gap(source_range=otio.opentime.TimeRange(
                otio.opentime.RationalTime(0, rate), otio.opentime.RationalTime(first - earliest, rate))))
    if timeline.global_start_time is None:
        timeline.global_start_time = otio.opentime.RationalTime(earliest, rate)


def normalize_rate(rate: float) -> float:
    """``rate`` (fps) snapped to the exact SMPTE rate it abbreviates (23.976 -> 24000/1001).

    Rates that are no abbreviation of a timecode rate (e.g. 15 or 12) are
    returned unchanged. Raises ValueError for zero, negative or non-finite rates.
    """
    if not (math.isfinite(rate) and rate > 0):
        raise ValueError(f"frame rate must be a positive number, got {rate}")
    nearest = float(otio.opentime.RationalTime.nearest_valid_timecode_rate(rate))
    if abs(nearest - rate) <= _RATE_TOLERANCE * rate:
        return nearest
    return float(rate)


def _is_timecode_rate(rate: float) -> bool:
    """Whether ``rate`` (fps) is, up to abbreviation, a SMPTE timecode rate (24, 25, 29.97...)."""
    return bool(otio.opentime.RationalTime.is_valid_timecode_rate(normalize_rate(rate)))


def same_rate(a: float, b: float) -> bool:
    """Whether rates ``a`` and ``b`` (fps) are the same up to 23.976-style abbreviation."""
    return abs(a - b) <= _RATE_TOLERANCE * max(a, b)


def rate_fraction(rate: float) -> Fraction:
    """``rate`` (fps) as an exact fraction, e.g. 24000/1001 for 23.976."""
    return Fraction(normalize_rate(rate)).limit_denominator(1001 * 1000)


def to_frames(time: otio.opentime.RationalTime, rate: float) -> float:
    """``time`` in (possibly fractional) frames at ``rate`` fps.

    Times whose rate is the same as ``rate`` up to abbreviation (23.976 vs
    24000/1001) keep their frame value as is, so long timecodes do not drift.
    """
    if same_rate(time.rate, rate):
        return float(time.value)
    return float(time.value_rescaled_to(rate))


def timeline_rate(timeline: otio.schema.Timeline, *, path: str | Path | None = None) -> float:
    """The timeline's frame rate in fps, snapped to exact NTSC rates (29.97 -> 30000/1001).

    Taken from ``global_start_time``, else from the first clip, else from the
    first gap (a timeline holding only a gap still has its rate), preferring
    whichever is a timecode rate, so a start time stored in seconds is no rate.
    Raises :class:`InputError` (naming ``path`` or the timeline) when there is
    none or it is not a positive number.
    """
    candidates: list[float] = []
    if timeline.global_start_time is not None:
        candidates.append(timeline.global_start_time.rate)
    for kind in (otio.schema.Clip, otio.schema.Gap):
        first = next(iter(timeline.find_children(descended_from_type=kind)), None)
        if first is not None:
            assert isinstance(first, otio.core.Item)
            candidates.append((first.source_range or first.trimmed_range()).duration.rate)
            break
    where = path if path is not None else (timeline.name or "timeline")
    if not candidates:
        raise InputError(where, None, "the timeline has no frame rate (no start time, clips or gaps)",
                         "Export the timeline again with its clips, or give the rate explicitly")
    smpte = [r for r in candidates if math.isfinite(r) and r > 0 and _is_timecode_rate(r)]
    rate = smpte[0] if smpte else candidates[0]  # e.g. a start time kept at rate 1 (seconds)
    try:
        return normalize_rate(rate)
    except ValueError:
        raise InputError(where, None, f"the timeline's frame rate is {rate}",
                         "Export the timeline again from a sequence with a real frame rate") from None


def timeline_start_frames(timeline: otio.schema.Timeline) -> int:
    """The timeline's start timecode in frames at its rate (01:00:00:00 @ 24000/1001 = 86400).

    Drop-frame 01:00:00;00 at 30000/1001 is 107892 frames; OTIO stores the
    start as a frame count already, so no drop-frame arithmetic is needed here.
    """
    start = timeline.global_start_time
    if start is None:
        return 0
    return int(round(to_frames(start, timeline_rate(timeline))))


def timecode_to_frames(timecode: str, rate: float) -> int:
    """A timecode string to frames at ``rate`` fps; ``;`` before the frames means drop frame.

    Raises ValueError for malformed timecodes.
    """
    exact = normalize_rate(rate)
    return int(round(otio.opentime.from_timecode(timecode.strip(), exact).value))


def format_timecode(frames: int, rate: float, drop_frame: bool | None = None) -> str:
    """``frames`` at ``rate`` fps as ``HH:MM:SS:FF`` (``HH:MM:SS;FF`` when drop frame).

    ``drop_frame`` None lets OTIO decide from the rate (29.97/59.94 -> drop frame).
    Rates SMPTE timecode does not know (12, 15, 96 fps: OTIO refuses them)
    count frames at the whole rate, non-drop; negative frames get a ``-``.
    """
    exact = normalize_rate(rate)
    if frames < 0 or not _is_timecode_rate(exact):
        per_second = max(1, round(exact))
        seconds, frame = divmod(abs(frames), per_second)
        minutes, second = divmod(seconds, 60)
        hours, minute = divmod(minutes, 60)
        return f"{'-' if frames < 0 else ''}{hours:02d}:{minute:02d}:{second:02d}:{frame:02d}"
    time = otio.opentime.RationalTime(frames, exact)
    if drop_frame is None:
        return str(otio.opentime.to_timecode(time, exact))
    return str(otio.opentime.to_timecode(time, exact, drop_frame))
