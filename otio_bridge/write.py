"""Add revoiced dialogue tracks to a copy of the input timeline and write it out."""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Iterable, Mapping, MutableMapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import opentimelineio as otio
from revoice.engine.files import atomic_path
from revoice.engine.model import DialogueLine, RenderedLine
from revoice.otio_bridge import clip_metadata
from revoice.otio_bridge.bundle import BundlePlan, plan_bundle, write_bundle
from revoice.otio_bridge.clip_metadata import ClipMetadata
from revoice.otio_bridge.errors import InputError
from revoice.otio_bridge.lines import REVOICE_TRACK_PREFIX
from revoice.otio_bridge.media import url_for_path
from revoice.otio_bridge.timeline import same_rate

WRITERS: Mapping[str, str] = MappingProxyType({".otio": "otio_json", ".otioz": "otioz", ".xml": "fcp_xml"})
"""Output extension (lower case) -> OTIO adapter name."""

OTIO_TARGET = ("OTIO_CORE", "0.17.0")
"""Schema family and version that ``.otio`` output is downgraded to (Clip.2, Marker.2: Resolve reads it)."""


def build_revoiced_timeline(
    timeline: otio.schema.Timeline,
    lines: Sequence[DialogueLine],
    rendered: Sequence[RenderedLine],
    *,
    relative_to: Path | None = None,
    made_clips: MutableMapping[str, otio.schema.Clip] | None = None,
) -> otio.schema.Timeline:
    """A deep copy of ``timeline`` plus one audio track ``Revoice - <speaker>`` per speaker.

    Each rendered line becomes a Clip at its record range (Gaps between) whose
    ExternalReference points at the WAV: an absolute file URL, or a path
    relative to the folder ``relative_to``. The media's available range and
    the clip's source range are the whole WAV (the slot), in timeline frames.
    Lines without a render are left out. A speaker whose lines overlap gets
    extra tracks (``Revoice - ANNA 2``). The input timeline is not modified.
    Raises ValueError for renders of unknown lines or of the wrong length.

    ``made_clips`` (optional, kept by a long-lived caller such as the panel's session) holds the clips
    of earlier calls by what they hold: a line that has not changed since is copied from it (OTIO's
    own copy, exact and quick), not built again, so rewriting a 300-line reel after one edit builds one
    clip. Setting a clip's metadata through OTIO's Python bindings walks every value (~3 ms a clip).
    """
    out = copy.deepcopy(timeline)
    by_id = {r.line_id: r for r in rendered}
    known = {line.line_id for line in lines}
    unknown = sorted(set(by_id) - known)
    if unknown:
        raise ValueError(f"rendered lines without a dialogue line: {', '.join(unknown)}")
    todo = sorted((ln for ln in lines if ln.line_id in by_id),
                  key=lambda ln: (ln.record.start, ln.record.end, ln.line_id))
    if not todo:
        return out

    rate = _native_rate(timeline, todo[0].record.rate)
    kept: dict[str, otio.schema.Clip] | None = None if made_clips is None else {}
    tracks: dict[str, list[tuple[otio.schema.Track, list[int]]]] = {}
    for line in todo:
        render = by_id[line.line_id]
        if not same_rate(line.record.rate, rate):
            raise ValueError(f"{line.line_id} is at {line.record.rate} fps, the timeline at {rate} fps")
        expected = line.slot_samples(render.sample_rate)
        if render.slot_samples != expected:
            raise ValueError(f"{line.line_id}: render is {render.slot_samples} samples, "
                             f"its slot is {expected} at {render.sample_rate} Hz")
        lanes = tracks.setdefault(line.speaker, [])
        lane = next((ln for ln in lanes if ln[1][0] <= line.record.start), None)
        if lane is None:
            suffix = f" {len(lanes) + 1}" if lanes else ""
            name = f"{REVOICE_TRACK_PREFIX}{line.speaker}{suffix}"
            lane = (otio.schema.Track(name=name, kind=otio.schema.TrackKind.Audio), [0])
            lanes.append(lane)
        track, cursor = lane
        if line.record.start > cursor[0]:
            track.append(otio.schema.Gap(source_range=otio.opentime.TimeRange(
                otio.opentime.RationalTime(0, rate),
                otio.opentime.RationalTime(line.record.start - cursor[0], rate))))
        track.append(_line_clip(line, render, rate, relative_to, made_clips, kept))
        cursor[0] = line.record.end
    for lanes in tracks.values():
        for track, _ in lanes:
            out.tracks.append(track)
    if made_clips is not None and kept is not None:  # only this timeline's clips are kept for the next call
        made_clips.clear()
        made_clips.update(kept)
    return out


def _native_rate(timeline: otio.schema.Timeline, rate: float) -> float:
    """The timeline's own spelling of ``rate`` (e.g. 23.976 from FCP XML) so times do not drift."""
    start = timeline.global_start_time
    if start is not None and same_rate(start.rate, rate):
        return float(start.rate)
    return float(rate)


def _line_clip(line: DialogueLine, render: RenderedLine, rate: float, relative_to: Path | None,
               made_clips: Mapping[str, otio.schema.Clip] | None = None,
               kept: dict[str, otio.schema.Clip] | None = None) -> otio.schema.Clip:
    """One line's clip: the whole WAV, ``line.record.duration`` frames long.

    Shaped the way Resolve writes its own OTIO (nle-facts.md), so its importer
    accepts it: the media reference is a bare absolute path, and the media's
    range starts at the WAV's own timecode (its bext TimeReference, which is
    the line's record timecode), as Resolve expects source ranges in the
    media's timecode.
    """
    origin = otio.opentime.RationalTime(line.timecode_start_frames + line.record.start, rate)
    whole = otio.opentime.TimeRange(origin, otio.opentime.RationalTime(line.record.duration, rate))
    target = (url_for_path(render.path, relative_to) if relative_to is not None
              else str(Path(render.path).resolve()))
    metadata = ClipMetadata.of(line, render)
    identity = ""
    if made_clips is not None:
        identity = json.dumps([target, line.line_id, line.speaker, line.timecode_start_frames + line.record.start,
                               line.record.duration, rate, metadata.to_json()], sort_keys=True, default=str)
        made = made_clips.get(identity)
        if made is not None:
            if kept is not None:
                kept[identity] = made
            return made.clone()
    ref = otio.schema.ExternalReference(
        target_url=target,
        available_range=whole,
    )
    ref.name = Path(render.path).name
    clip = otio.schema.Clip(
        name=f"{line.line_id} {line.speaker}",
        media_reference=ref,
        source_range=whole,
    )
    clip_metadata.write(clip, metadata)
    if kept is not None:
        kept[identity] = clip.clone()
    return clip


def write_timeline(
    timeline: otio.schema.Timeline,
    out_path: str | Path,
    *,
    overwrite_inputs: Iterable[str | Path] = (),
    bundle_media: bool = False,
    media_dir: Path | None = None,
) -> list[str]:
    """Write ``timeline`` to ``.otio`` (schemas as of OTIO 0.17), ``.otioz`` (with media) or ``.xml`` (FCP7).

    One target of :func:`write_timelines`; returns its warnings.
    """
    return write_timelines(timeline, [out_path], overwrite_inputs=overwrite_inputs, bundle_media=bundle_media,
                           media_dir=media_dir)


def write_timelines(
    timeline: otio.schema.Timeline,
    targets: Sequence[str | Path],
    *,
    overwrite_inputs: Iterable[str | Path] = (),
    bundle_media: bool = False,
    media_dir: Path | None = None,
) -> list[str]:
    """Write ``timeline`` to every target (``.otio``, ``.otioz`` or ``.xml``): all of them, or none.

    Every target is checked first (format, not an input, not a folder, an
    .otioz's media), then each is written under a temporary name; only when
    all succeeded do they replace the targets
    (:func:`revoice.engine.files.atomic_path`), so a refusal of the second
    leaves no first one behind; a target whose bytes would not change is left alone. An .otioz bundles Revoice's own WAVs (under
    ``media_dir``, default ``<stem>_media`` beside it) and other local media
    only with ``bundle_media`` (:mod:`revoice.otio_bridge.bundle`).
    ``overwrite_inputs`` are the input files: writing over one raises
    :class:`InputError`. Returns warnings (e.g. media left out of a bundle).
    """
    inputs = [Path(given) for given in overwrite_inputs]
    plans = [_plan(timeline, Path(target), inputs, bundle_media=bundle_media, media_dir=media_dir)
             for target in targets]
    warnings = [w for plan in plans for w in plan.warnings]
    current = Path()  # the target being written, for messages
    try:
        with ExitStack() as staged:
            for plan in plans:
                current = plan.out
                plan.out.absolute().parent.mkdir(parents=True, exist_ok=True)
                tmp = staged.enter_context(atomic_path(plan.out.absolute(), keep_unchanged=True))  # same bytes: kept
                _write_one(plan, tmp)
    except OSError as exc:  # the folder, the temporary file or the renames (all after the last write)
        raise InputError(current, None, f"cannot write here ({exc.strerror or exc})",
                         "Choose a folder you may write to") from exc
    return warnings


@dataclass(frozen=True)
class _Target:
    """One output checked and ready to write."""

    out: Path
    adapter: str
    timeline: otio.schema.Timeline
    bundle: BundlePlan | None
    warnings: tuple[str, ...]


def _plan(timeline: otio.schema.Timeline, out: Path, inputs: Sequence[Path], *, bundle_media: bool,
          media_dir: Path | None) -> _Target:
    """Check ``out`` (InputError) and work out what it will hold, writing nothing."""
    adapter = WRITERS.get(out.suffix.lower())
    if adapter is None:
        known = ", ".join(sorted(WRITERS))
        raise InputError(out, None, f"cannot write timelines as '{out.suffix or out.name}'",
                         f"Use one of: {known}")
    if "\x00" in str(out):
        raise InputError(out, None, "the output name holds a NUL character", "Give a plain file name")
    try:
        is_dir = out.is_dir()
    except OSError as exc:  # a name too long for this system
        raise InputError(out, None, f"cannot write here ({exc.strerror or exc})", "Give a shorter file name") from None
    if is_dir:
        raise InputError(out, None, "the output path is a folder", "Give a file name")
    for given in inputs:
        if _same_file(out, given):
            raise InputError(out, None, "refusing to overwrite an input file",
                             "Choose a new output file name")
    if adapter != "otioz":
        return _Target(out, adapter, timeline, None, ())
    bundle = plan_bundle(timeline, out, media_dir=media_dir, bundle_media=bundle_media)
    return _Target(out, adapter, timeline, bundle, bundle.warnings)


def _write_one(target: _Target, tmp: Path) -> None:
    """Write ``target`` to the temporary file ``tmp``; InputError naming the target when the writer refuses."""
    try:
        if target.bundle is not None:
            write_bundle(target.bundle, tmp)
        elif target.adapter == "otio_json":
            otio.adapters.write_to_file(target.timeline, str(tmp), adapter_name="otio_json",
                                        target_schema_versions=otio.versioning.fetch_map(*OTIO_TARGET))
        else:
            otio.adapters.write_to_file(target.timeline, str(tmp), adapter_name=target.adapter)
    except OSError as exc:
        raise InputError(target.out, None, f"cannot write the file ({exc.strerror or exc})",
                         "Check free space and permissions") from exc
    except Exception as exc:  # adapter refusals: unsupported rates
        detail = " ".join(str(exc).split()) or type(exc).__name__
        raise InputError(target.out, None, f"the {target.adapter} writer failed: {detail}",
                         "Try writing .otio instead") from exc


def _same_file(a: Path, b: Path) -> bool:
    """Whether two paths name the same file (existing or not)."""
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return a.absolute().resolve() == b.absolute().resolve()
