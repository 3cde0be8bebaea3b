"""Turn a timeline plus subtitles (or its markers) into dialogue lines with record slots and their own emotion
(marker metadata, then a leading tag in the text, then ASS actor, then style: revoice.otio_bridge.emotion_tags)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

import opentimelineio as otio
from revoice.engine.emotion.labels import Emotion
from revoice.engine.language import line_language
from revoice.engine.model import DEFAULT_SPEAKER, DialogueLine, FrameRange, SkippedLine, SourceAudio
from revoice.otio_bridge.edl import stray_line_warnings
from revoice.otio_bridge.emotion_tags import MARKER, SUBTITLE_TAG, first_emotion, marker_emotion, tag_problem
from revoice.otio_bridge.errors import InputError
from revoice.otio_bridge.media import media_path_from_url
from revoice.otio_bridge.subtitles import Cue, clean_text, read_subtitles, split_line_words
from revoice.otio_bridge.timeline import (
    format_timecode,
    rate_fraction,
    timeline_rate,
    timeline_start_frames,
    to_frames,
)

SubtitleOffset = Literal["auto", "zero", "timeline"] | float
"""How subtitle times map to the timeline (see :func:`extract_lines`)."""

REVOICE_TRACK_PREFIX = "Revoice - "
"""Name prefix of the tracks the writer adds; such tracks are never used as sources."""


@dataclass
class _Candidate:
    """A would-be line before checks: frames relative to the timeline's first frame."""

    origin: str
    text: str
    speaker: str | None
    start: int
    end: int
    order: int
    metadata: dict[str, Any] = field(default_factory=dict)
    emotion: Emotion | None = None  # from marker metadata or a read cue, before any tag in text
    tag_source: str | None = SUBTITLE_TAG  # what a leading emotion tag in text is from (None: read already)


@dataclass(frozen=True)
class _Placement:
    """An audio clip on the timeline: record frames (fractional) and where its source starts."""

    clip_name: str
    track_name: str
    url: str
    path: Path | None
    record_start: float
    record_end: float
    source_start_seconds: float
    """Seconds from the media file's start at ``record_start``."""


def extract_lines(
    timeline: otio.schema.Timeline,
    *,
    cues: Sequence[Cue] | None = None,
    subtitle_path: str | Path | None = None,
    subtitle_offset: SubtitleOffset | str = "auto",
    default_speaker: str = DEFAULT_SPEAKER,
    language: str = "en",
    timeline_path: str | Path | None = None,
) -> tuple[list[DialogueLine], list[SkippedLine], list[str]]:
    """Dialogue lines for ``timeline``, the cues/markers that were skipped, and warnings.

    Lines come from ``cues`` (read from ``subtitle_path`` when only the path is
    given), else from the timeline's markers, else from subtitle tracks.
    ``subtitle_offset``: ``"zero"`` cue times count from the timeline's first
    frame; ``"timeline"`` they are timecodes (the start timecode is
    subtracted); a float subtracts that many seconds; ``"auto"`` picks
    ``"timeline"`` when the cues start at or after the start timecode and fit
    the timeline better that way; other strings raise :class:`InputError`.
    Times snap to the nearest frame. Line ids (``L0001``...) follow record
    start. ``timeline_path`` names the file in messages and anchors relative
    media paths. Bad subtitles or offsets raise :class:`InputError`, and so
    does a timeline whose times OTIO cannot compute with (read timelines are
    checked by :func:`revoice.otio_bridge.timeline.check_timeline`; this is the
    net for the rest).
    """
    try:
        return _extract_lines(timeline, cues=cues, subtitle_path=subtitle_path, subtitle_offset=subtitle_offset,
                              default_speaker=default_speaker, language=language, timeline_path=timeline_path)
    except (otio.exceptions.OTIOError, NotImplementedError, ArithmeticError, ValueError) as exc:
        detail = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise InputError(timeline_path if timeline_path is not None else (timeline.name or "timeline"), None,
                         f"cannot place the timeline's items in time ({detail})",
                         "Export the timeline again from the editor") from None


def _extract_lines(
    timeline: otio.schema.Timeline,
    *,
    cues: Sequence[Cue] | None,
    subtitle_path: str | Path | None,
    subtitle_offset: SubtitleOffset | str,
    default_speaker: str,
    language: str,
    timeline_path: str | Path | None,
) -> tuple[list[DialogueLine], list[SkippedLine], list[str]]:
    """:func:`extract_lines` without its net."""
    rate = timeline_rate(timeline, path=timeline_path)
    start_frames = timeline_start_frames(timeline)
    length = int(round(to_frames(timeline.duration(), rate)))
    warnings: list[str] = []
    if timeline_path is not None and Path(timeline_path).suffix.lower() == ".edl":
        warnings.extend(stray_line_warnings(Path(timeline_path)))
    if cues is None and subtitle_path is not None:
        cues = read_subtitles(subtitle_path)

    if cues is not None:
        name = Path(subtitle_path).name if subtitle_path is not None else "subtitles"
        candidates = _from_cues(cues, name, rate, start_frames, length, subtitle_offset,
                                subtitle_path, warnings)
    else:
        candidates = _from_markers(timeline, rate, start_frames, length, warnings)
        if not candidates:
            candidates = _from_subtitle_tracks(timeline, rate, warnings)
        if not candidates:
            warnings.append("the timeline has no markers or subtitle tracks and no subtitles were "
                            "given: nothing to revoice")

    if length <= 0 and candidates:
        warnings.append("the timeline is empty; lines are not clipped to its length")
    lines, skipped = _checked_lines(candidates, rate, length, start_frames, default_speaker,
                                    language, warnings)
    base_dir = Path(timeline_path).absolute().parent if timeline_path is not None else None
    placements = _audio_placements(timeline, rate, base_dir, warnings)
    lines = _with_sources(lines, placements, warnings)
    return lines, skipped, warnings


def _half_up(value: Fraction) -> int:
    """Nearest integer, halves rounded up (12.5 -> 13)."""
    return math.floor(value + Fraction(1, 2))


def _seconds(value: float) -> Fraction:
    """A float number of seconds as an exact fraction (to the microsecond)."""
    return Fraction(value).limit_denominator(1_000_000)


def _from_cues(
    cues: Sequence[Cue],
    name: str,
    rate: float,
    start_frames: int,
    length: int,
    mode: SubtitleOffset | str,
    subtitle_path: str | Path | None,
    warnings: list[str],
) -> list[_Candidate]:
    """Cues as candidates, with subtitle times mapped to timeline frames."""
    fps = rate_fraction(rate)
    offset: Fraction | None
    if isinstance(mode, (int, float)) and not isinstance(mode, bool):
        if not math.isfinite(mode):
            raise InputError(subtitle_path, None, f"subtitle offset {mode} is not a number",
                             "Pass a number of seconds, or 'auto', 'zero' or 'timeline'")
        offset = _seconds(float(mode))
    elif mode == "zero":
        offset = Fraction(0)
    elif mode == "timeline":
        offset = _timecode_offset(rate, start_frames)
    elif mode == "auto":
        offset = _auto_offset(cues, fps, start_frames, length, rate, warnings)
    else:
        raise InputError(subtitle_path, None, f"unknown subtitle offset '{mode}'",
                         "Use 'auto', 'zero', 'timeline' or a number of seconds")

    out: list[_Candidate] = []
    for cue in cues:
        origin = f"{name}:{cue.source_line}" if cue.source_line is not None else f"{name} cue {cue.index}"
        out.append(_Candidate(
            origin=origin,
            text=cue.text,
            speaker=cue.speaker,
            start=_cue_frames(cue.start_seconds, offset, fps, rate, start_frames),
            end=_cue_frames(cue.end_seconds, offset, fps, rate, start_frames),
            order=cue.index,
            metadata={"cue": cue.index, "subtitle_start_seconds": cue.start_seconds,
                      "subtitle_end_seconds": cue.end_seconds},
            emotion=cue.emotion, tag_source=SUBTITLE_TAG if cue.emotion is None else None,
        ))
    return out


def _timecode_offset(rate: float, start_frames: int) -> Fraction | None:
    """None: cue times are the timeline's timecode written as clock time.

    Resolve and Premiere write subtitle times from the timecode, so at 23.976
    "01:00:01,000" means timecode 01:00:01:00 (86424 frames), not 3601 real
    seconds. None tells :func:`_cue_frames` to map through the timecode.
    """
    return None


def _cue_frames(seconds: float, offset: Fraction | None, fps: Fraction, rate: float,
                start_frames: int) -> int:
    """A cue time to frames from the timeline's first frame.

    ``offset`` None reads the time as a timecode label: whole seconds times the
    nominal rate (24 for 23.976) for non-drop rates; drop-frame timecode
    (29.97, 59.94) follows the clock, so real seconds are used there.
    """
    if offset is not None:
        return _half_up((_seconds(seconds) - offset) * fps)
    if _drop_frame(rate):
        return _half_up(_seconds(seconds) * fps) - start_frames
    return _half_up(_seconds(seconds) * round(rate)) - start_frames


def _drop_frame(rate: float) -> bool:
    return abs(rate * 1001 / 1000 - round(rate * 1001 / 1000)) < 1e-6 and round(rate * 1001 / 1000) % 30 == 0


def _auto_offset(
    cues: Sequence[Cue], fps: Fraction, start_frames: int, length: int, rate: float,
    warnings: list[str],
) -> Fraction | None:
    """0, or "timecode" (None) when more cues land inside the timeline read as timecodes."""
    if start_frames <= 0 or not cues:
        return Fraction(0)

    def inside(offset: Fraction | None) -> int:
        count = 0
        for cue in cues:
            a = _cue_frames(cue.start_seconds, offset, fps, rate, start_frames)
            b = _cue_frames(cue.end_seconds, offset, fps, rate, start_frames)
            count += int(b > 0 and (length <= 0 or a < length))
        return count

    if inside(None) <= inside(Fraction(0)):
        return Fraction(0)
    tc = format_timecode(start_frames, rate)
    warnings.append(f"subtitle times start at the timeline's start timecode {tc}: reading them "
                    f"as timecodes (--subs-offset timeline); pass --subs-offset zero if "
                    f"they count from the start of the timeline")
    return None


def _marker_text(marker: otio.schema.Marker | otio.schema.Clip) -> str:
    """Dialogue text of a marker or subtitle clip: revoice text, Resolve note, comment or name."""
    meta = marker.metadata
    for key, field_name in (("revoice", "text"), ("Resolve_OTIO", "Note"),
                            ("fcp_xml", "comment"), ("PremierePro_OTIO", "comment")):
        value = _meta_value(meta, key, field_name)
        if value:
            return value
    return str(marker.name or "")


def _meta_value(meta: Any, key: str, field_name: str) -> str | None:
    """``meta[key][field_name]`` as a string when it is a non-empty string."""
    try:
        value = meta[key][field_name]
    except (KeyError, TypeError, IndexError):
        return None
    return value if isinstance(value, str) and value.strip() else None


def _from_markers(
    timeline: otio.schema.Timeline, rate: float, start_frames: int, length: int, warnings: list[str]
) -> list[_Candidate]:
    """Markers on the timeline's stack, tracks and clips as candidates.

    OTIO marker ranges are in the time of the item holding them. Some tools
    write stack/track markers as timecodes instead; a marker that lies past
    the end of the timeline but fits once the start timecode is subtracted is
    read that way, with a warning.
    """
    stack = timeline.tracks
    owners: list[otio.core.Item] = [stack]
    owners.extend(c for c in stack.find_children() if isinstance(c, otio.core.Item))
    out: list[_Candidate] = []
    rebased = 0
    for owner in owners:
        for marker in owner.markers:
            rng = marker.marked_range
            if owner is not stack:
                rng = owner.transformed_time_range(rng, stack)
            start = to_frames(rng.start_time, rate)
            end = start + to_frames(rng.duration, rate)
            if (not isinstance(owner, otio.schema.Clip) and start_frames > 0 and length > 0
                    and start >= length and 0 <= start - start_frames < length):
                start, end = start - start_frames, end - start_frames
                rebased += 1
            label = marker.name or f"at {format_timecode(int(round(start)) + start_frames, rate)}"
            out.append(_Candidate(
                origin=f"marker '{label}'", text=_marker_text(marker),
                speaker=_meta_value(marker.metadata, "revoice", "speaker"),
                start=int(round(start)), end=int(round(end)), order=len(out) + 1, metadata={"marker": marker.name},
                emotion=marker_emotion(marker.metadata, origin=f"marker '{label}'", warnings=warnings),
                tag_source=MARKER))
    if rebased:
        warnings.append(f"{rebased} marker(s) lie past the end of the timeline but fit when read as "
                        f"timecodes (minus the start {format_timecode(start_frames, rate)}); read them so")
    return out


def _is_subtitle_clip(clip: otio.schema.Clip) -> bool:
    """Whether a clip's metadata says it is a subtitle (e.g. a ``subtitle`` key)."""
    def says(meta: Any) -> bool:
        return any("subtitle" in str(k).lower() for k in getattr(meta, "keys", lambda: [])())

    meta = clip.metadata
    return says(meta) or any(says(v) for v in meta.values())


def _from_subtitle_tracks(timeline: otio.schema.Timeline, rate: float, warnings: list[str]) -> list[_Candidate]:
    """Clips on tracks that are neither video nor audio (or are marked as subtitles)."""
    out: list[_Candidate] = []
    av = (otio.schema.TrackKind.Video, otio.schema.TrackKind.Audio)
    for track in timeline.tracks:
        if not isinstance(track, otio.schema.Track):
            continue
        for clip in track.find_clips():
            if track.kind in av and not _is_subtitle_clip(clip):
                continue
            rng = clip.transformed_time_range(clip.trimmed_range(), timeline.tracks)
            start = int(round(to_frames(rng.start_time, rate)))
            origin = f"subtitle clip '{clip.name}' on track '{track.name}'"
            out.append(_Candidate(
                origin=origin, text=_marker_text(clip), speaker=_meta_value(clip.metadata, "revoice", "speaker"),
                start=start, end=start + int(round(to_frames(rng.duration, rate))), order=len(out) + 1,
                emotion=marker_emotion(clip.metadata, origin=origin, warnings=warnings)))
    return out


def _checked_lines(
    candidates: Iterable[_Candidate],
    rate: float,
    length: int,
    start_frames: int,
    default_speaker: str,
    language: str,
    warnings: list[str],
) -> tuple[list[DialogueLine], list[SkippedLine]]:
    """Apply the skip rules and number the lines by record start."""
    skipped: list[SkippedLine] = []
    ready: list[tuple[_Candidate, bool]] = []
    for cand in candidates:
        speaker, tag, text = split_line_words(clean_text(cand.text), cand.speaker, tag_source=cand.tag_source)
        cand.text, cand.speaker, cand.emotion = text, (speaker or default_speaker), first_emotion(cand.emotion, tag)
        problem = tag_problem(text)
        warnings.extend([f"{cand.origin}: {problem}"] if problem else [])
        if not text:
            skipped.append(SkippedLine(cand.origin, text, "no text"))
            continue
        clipped = False
        if length > 0:
            if cand.end <= 0 or cand.start >= length:
                where = f"{_tc(cand.start, start_frames, rate)}-{_tc(cand.end, start_frames, rate)}"
                span = f"{_tc(0, start_frames, rate)}-{_tc(length, start_frames, rate)}"
                skipped.append(SkippedLine(cand.origin, text,
                                           f"outside the timeline ({where}, timeline {span})"))
                continue
            if cand.start < 0 or cand.end > length:
                cand.start, cand.end = max(cand.start, 0), min(cand.end, length)
                clipped = True
        if cand.end <= cand.start:
            if cand.end < cand.start:
                reason = "ends before it starts"
            elif cand.origin.startswith("marker"):
                reason = "the marker has no duration (give it the length of the line)"
            else:
                reason = f"shorter than one frame at {rate:.6g} fps"
            skipped.append(SkippedLine(cand.origin, text, reason))
            continue
        ready.append((cand, clipped))

    ready.sort(key=lambda item: (item[0].start, item[0].end, item[0].order))
    lines: list[DialogueLine] = []
    latest: dict[str, tuple[int, str]] = {}
    for cand, clipped in ready:
        speaker = cand.speaker or default_speaker
        before = latest.get(speaker)
        if before is not None and cand.start < before[0]:
            skipped.append(SkippedLine(cand.origin, cand.text, f"overlaps {before[1]}"))
            continue
        line_id = f"L{len(lines) + 1:04d}"
        if clipped:
            warnings.append(f"{line_id} ({cand.origin}) reaches past the timeline; clipped to "
                            f"{_tc(cand.start, start_frames, rate)}-{_tc(cand.end, start_frames, rate)}")
        if before is None or cand.end > before[0]:
            latest[speaker] = (cand.end, line_id)
        lines.append(DialogueLine(
            line_id=line_id,
            text=cand.text,
            speaker=speaker,
            language=line_language(cand.text, language),
            record=FrameRange(cand.start, cand.end - cand.start, rate),
            timecode_start_frames=start_frames,
            origin=cand.origin,
            metadata=dict(cand.metadata, clipped=clipped),
            emotion=cand.emotion,
        ))
    return lines, skipped


def _tc(frame: int, start_frames: int, rate: float) -> str:
    """Timecode of a timeline frame (may be before the start: shown as negative frames)."""
    if frame + start_frames < 0:
        return f"{frame} frames"
    return format_timecode(frame + start_frames, rate)


def _enabled(item: otio.core.Item) -> bool:
    """OTIO's ``enabled`` flag, and FCP7 XML's ``<enabled>FALSE</enabled>`` kept in metadata."""
    if not item.enabled:
        return False
    value = _meta_value(item.metadata, "fcp_xml", "enabled")
    return value is None or value.strip().upper() != "FALSE"


def _audio_placements(
    timeline: otio.schema.Timeline, rate: float, base_dir: Path | None, warnings: list[str]
) -> list[_Placement]:
    """Enabled clips with media on the timeline's audio tracks (nested stacks included)."""
    out: list[_Placement] = []
    for number, track in enumerate(timeline.audio_tracks(), start=1):
        name = track.name or f"A{number}"
        if not _enabled(track) or name.startswith(REVOICE_TRACK_PREFIX):
            continue
        for clip in track.find_clips():
            ref = clip.media_reference
            if not _enabled(clip) or isinstance(ref, otio.schema.GeneratorReference):
                continue
            trimmed = clip.trimmed_range()
            try:
                rec = clip.transformed_time_range(trimmed, timeline.tracks)
            except Exception as exc:  # odd nesting or time effects: skip rather than fail the reel
                warnings.append(f"audio clip '{clip.name}' on track '{name}' is not used as a source: "
                                f"its place on the timeline cannot be computed ({exc})")
                continue
            url = str(getattr(ref, "target_url", "") or "")
            source = trimmed.start_time
            available = ref.available_range if ref is not None else None
            if available is not None:
                source = source - available.start_time
            start = to_frames(rec.start_time, rate)
            out.append(_Placement(
                clip_name=clip.name,
                track_name=name,
                url=url,
                path=media_path_from_url(url, base_dir) if url else None,
                record_start=start,
                record_end=start + to_frames(rec.duration, rate),
                source_start_seconds=float(source.to_seconds()),
            ))
    return out


def _with_sources(
    lines: list[DialogueLine], placements: list[_Placement], warnings: list[str]
) -> list[DialogueLine]:
    """Lines with the audio clips under their record ranges attached as sources."""
    warned: set[str] = set()
    out: list[DialogueLine] = []
    for line in lines:
        sources: list[SourceAudio] = []
        rate = line.record.rate
        for pl in placements:
            a = max(pl.record_start, float(line.record.start))
            b = min(pl.record_end, float(line.record.end))
            if b <= a:
                continue
            if pl.path is None:
                key = pl.url or f"clip:{pl.clip_name}"
                if key not in warned:
                    warned.add(key)
                    what = f"media not found: {pl.url}" if pl.url else "no media linked"
                    warnings.append(f"{what} (clip '{pl.clip_name}' on track '{pl.track_name}'); "
                                    "lines over it are revoiced without the original audio")
            sources.append(SourceAudio(
                clip_name=pl.clip_name,
                track_name=pl.track_name,
                media_url=pl.url,
                media_path=pl.path,
                source_start_seconds=pl.source_start_seconds + (a - pl.record_start) / rate,
                duration_seconds=(b - a) / rate,
                offset_in_line_seconds=(a - line.record.start) / rate,
            ))
        sources.sort(key=lambda s: (s.offset_in_line_seconds, s.track_name))
        out.append(dataclasses.replace(line, sources=tuple(sources)))
    return out


