"""Read NLE timelines through OpenTimelineIO adapters; rates and timecodes.

Formats (by extension): ``.otio`` (otio_json), ``.otioz``/``.otiod`` (OTIO
bundles), ``.xml`` (FCP7 XML from Premiere/Resolve via ``fcp_xml``) and
``.edl`` (CMX 3600 via ``cmx_3600``). Dialect metadata such as
``Resolve_OTIO`` or ``PremierePro_OTIO`` is left untouched.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from fractions import Fraction
from pathlib import Path
from types import MappingProxyType

import opentimelineio as otio
from revoice.otio_bridge.errors import InputError

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

_TIMECODE_RE = re.compile(r"\d{1,2}:\d{2}:\d{2}[:;.]\d{2}")


def read_timeline(path: str | Path, *, rate: float | None = None) -> otio.schema.Timeline:
    """Read a timeline file with the OTIO adapter its extension names.

    ``rate`` (frames per second) is only used for ``.edl`` files, which do not
    carry their rate (the CMX adapter assumes 24). For EDLs the record start of
    the first event becomes ``global_start_time`` and tracks start at time 0.
    Any failure is raised as :class:`InputError` naming the file.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    adapter = ADAPTERS.get(suffix)
    if adapter is None:
        known = ", ".join(sorted(ADAPTERS))
        raise InputError(p, None, f"unknown timeline format '{p.suffix or p.name}'",
                         f"Export the timeline as one of: {known}")
    if suffix == ".otiod" and not p.is_dir():
        raise InputError(p, None, "no such OTIO bundle folder",
                         "Check the path, or export the timeline again")
    if suffix != ".otiod" and not p.is_file():
        raise InputError(p, None, "no such file", "Check the path and the file name")
    if rate is not None and not (math.isfinite(rate) and rate > 0):
        raise InputError(p, None, f"frame rate {rate} is not a positive number",
                         "Pass the timeline's frame rate, e.g. 25 or 23.976")

    kwargs: dict[str, object] = {}
    if adapter == "cmx_3600" and rate is not None:
        kwargs["rate"] = normalize_rate(rate)
    try:
        result = otio.adapters.read_from_file(str(p.absolute()), adapter_name=adapter, **kwargs)
    except InputError:
        raise
    except OSError as exc:
        raise InputError(p, None, f"cannot read the file ({exc.strerror or exc})",
                         "Check that it exists and that you may read it") from exc
    except Exception as exc:  # adapters raise anything from ValueError to XML errors
        raise _adapter_error(p, adapter, exc, rate) from exc

    timeline = _single_timeline(p, result)
    if adapter == "cmx_3600":
        if not list(timeline.find_clips()):
            raise InputError(p, None, "the EDL has no events",
                             "Export the EDL again with the cut's events")
        _normalize_edl_start(timeline, normalize_rate(rate) if rate is not None else 24.0)
    return timeline


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


def _adapter_error(path: Path, adapter: str, exc: Exception, rate: float | None) -> InputError:
    """Turn an adapter exception into an InputError with a line number where we can find one."""
    detail = " ".join(str(exc).split()) or type(exc).__name__
    said = re.search(r"\bline (\d+)", detail)  # XML and JSON parsers name the line
    line = int(said.group(1)) if said else _line_mentioning(path, detail)
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


def _line_mentioning(path: Path, detail: str) -> int | None:
    """First line of ``path`` containing a timecode or quoted name from ``detail`` (messages only)."""
    needles = _TIMECODE_RE.findall(detail)
    needles += re.findall(r"for clip (\S+)", detail)
    if not needles:
        return None
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    for number, line in enumerate(text.splitlines(), start=1):
        if any(n in line for n in needles):
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

    Taken from ``global_start_time``, else from the first clip (preferring
    whichever is a timecode rate, so a start time stored in seconds is no rate). Raises
    :class:`InputError` (naming ``path`` or the timeline) when there is none
    or it is zero.
    """
    candidates: list[float] = []
    if timeline.global_start_time is not None:
        candidates.append(timeline.global_start_time.rate)
    for clip in timeline.find_clips():
        rng = clip.source_range or clip.trimmed_range()
        candidates.append(rng.duration.rate)
        break
    where = path if path is not None else (timeline.name or "timeline")
    if not candidates:
        raise InputError(where, None, "the timeline has no frame rate (no start time and no clips)",
                         "Export the timeline again with its clips, or give the rate explicitly")
    smpte = [r for r in candidates if r > 0 and _is_timecode_rate(r)]
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
    """
    exact = normalize_rate(rate)
    time = otio.opentime.RationalTime(frames, exact)
    if drop_frame is None:
        return str(otio.opentime.to_timecode(time, exact))
    return str(otio.opentime.to_timecode(time, exact, drop_frame))
