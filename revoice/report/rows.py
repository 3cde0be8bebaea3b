"""The QC report's rows: one per revoiced line, read from a written timeline's clips.

:func:`report_lines` reads the ``Revoice - <speaker>`` tracks of a timeline
written by :mod:`revoice.otio_bridge.write`: each clip's record
(:func:`revoice.otio_bridge.clip_metadata.read`) holds the line, its render
report with the take's QC metrics and every take. A :class:`ReportLine` is the
row (JSON-friendly, :data:`ROW_FIELDS`) plus what the page needs to draw and
play it; :func:`rows_csv` writes rows as CSV.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from revoice.engine.model import DialogueLine, FrameRange, RenderedLine, SourceAudio
from revoice.engine.records import EmotionUse, RenderReport, TakeQc
from revoice.otio_bridge.clip_metadata import ClipMetadata

if TYPE_CHECKING:
    import opentimelineio as otio

    from revoice.engine.qc.assess import LineQc

ROW_FIELDS = (
    "line_id", "timecode", "speaker", "language", "text", "asr_text", "error_metric", "wer", "cer", "similarity",
    "similarity_to", "voice_similarity", "mos", "loudness_lufs", "loudness_target_lufs", "true_peak_dbtp",
    "clipped_samples", "speech_fraction", "length_error_samples", "onset_error_ms", "offset_error_ms",
    "stretch_ratio", "ratio", "score", "take", "voice", "voice_kind", "backend", "emotion", "wav", "watermark",
    "watermark_score", "flags", "alternates",
)
"""Keys of every row, in CSV column order."""

FIT_FLAGS = ("fast:", "slow:", "late:", "limited:")
"""How the fitter's notes start (amber in the report); every other flag is a QC flag (red)."""


@dataclass
class ReportLine:
    """One line of the timeline: its JSON row plus what the page needs to draw and play it."""

    row: dict[str, Any]
    line: DialogueLine
    rendered: RenderedLine | None
    """The placed take (None when its WAV cannot be found)."""
    clip: ClipMetadata


def qc_rows(timeline: otio.schema.Timeline, *, base_dir: Path | None = None) -> list[dict[str, Any]]:
    """One JSON-friendly dict per revoiced line of an OTIO ``timeline``, in timeline order.

    Keys: :data:`ROW_FIELDS` (meters are None where not measured; ``wav`` is
    the take's path, relative media resolved against ``base_dir``;
    ``alternates`` lists every take with its score, flags, WER, similarity
    and MOS).
    """
    return [entry.row for entry in report_lines(timeline, base_dir)]


def report_lines(timeline: otio.schema.Timeline, base_dir: Path | None) -> list[ReportLine]:
    """Every revoiced line of ``timeline`` (clips with Revoice's record), in timeline order."""
    import opentimelineio as otio

    from revoice.otio_bridge import clip_metadata
    from revoice.otio_bridge.lines import REVOICE_TRACK_PREFIX
    from revoice.otio_bridge.media import media_path_from_url
    from revoice.otio_bridge.timeline import format_timecode

    start = timeline.global_start_time
    entries: list[ReportLine] = []
    for track in timeline.audio_tracks():
        if not str(track.name or "").startswith(REVOICE_TRACK_PREFIX):
            continue
        for clip in track.find_clips():
            meta = clip_metadata.read(clip)
            if meta is None:
                continue
            placed = clip.range_in_parent()
            rate = float(placed.start_time.rate)
            tc_start = int(round(start.rescaled_to(rate).value)) if start is not None else 0
            record = FrameRange(int(round(placed.start_time.value)), int(round(placed.duration.value)), rate)
            ref = clip.media_reference
            url = str(getattr(ref, "target_url", "") or "") if isinstance(ref, otio.schema.ExternalReference) else ""
            wav = media_path_from_url(url, base_dir) if url else None
            line = DialogueLine(
                line_id=meta.line_id or str(clip.name), text=meta.text or "", speaker=meta.speaker or "",
                language=meta.language or "en", record=record, timecode_start_frames=tc_start,
                sources=_sources(timeline, record, base_dir), origin=f"clip '{clip.name}'")
            rendered = meta.rendered_line(line, wav) if wav is not None else None
            row = _row(line, meta, wav, format_timecode(tc_start + record.start, rate))
            entries.append(ReportLine(row, line, rendered, meta))
    entries.sort(key=lambda e: (e.line.record.start, e.line.line_id))
    return entries


def _qc_columns(qc: TakeQc) -> dict[str, Any]:
    """The row's QC columns from a take's metrics (None where not measured)."""
    return {
        "asr_text": qc.asr_text, "error_metric": qc.error_metric, "wer": qc.wer, "cer": qc.cer,
        "similarity": qc.similarity, "similarity_to": qc.similarity_to, "voice_similarity": qc.voice_similarity,
        "mos": qc.mos, "loudness_lufs": qc.loudness_lufs, "loudness_target_lufs": qc.loudness_target_lufs,
        "true_peak_dbtp": qc.true_peak_dbtp, "clipped_samples": qc.clipped_samples,
        "speech_fraction": qc.speech_fraction, "score": qc.score, "similarity_floor": qc.similarity_floor,
        "detected_span": None if qc.detected_span is None else list(qc.detected_span),
        "voice_similarity_to": qc.voice_similarity_to,
    }


def _row(line: DialogueLine, meta: ClipMetadata, wav: Path | None, timecode: str) -> dict[str, Any]:
    report = meta.report if meta.report is not None else RenderReport.from_json({})
    qc = report.qc if report.qc is not None else TakeQc.from_json({})
    row: dict[str, Any] = {
        "line_id": line.line_id, "timecode": timecode, "speaker": line.speaker, "language": line.language,
        "text": line.text, **_qc_columns(qc),
        "length_error_samples": report.length_error_samples, "onset_error_ms": report.onset_error_ms,
        "offset_error_ms": report.offset_error_ms, "stretch_ratio": report.stretch_ratio, "ratio": report.ratio,
        "emotion": _emotion_words(report.emotion), "take": meta.take, "voice": meta.voice, "voice_kind": meta.voice_kind, "backend": meta.backend,
        "wav": str(wav) if wav is not None else None, **_watermark_columns(wav), "flags": list(meta.flags),
        "metered": report.qc is not None and bool(report.qc.to_json()),
    }
    folder = wav.parent if wav is not None else None
    alternates = []
    for take in report.takes or ():
        take_qc = take.qc if take.qc is not None else TakeQc.from_json({})
        alternates.append({
            "take": take.take, "chosen": take.take == meta.take,
            "file": str(folder / take.file) if folder is not None and take.file else take.file,
            "score": take.score, "flags": list(take.flags),
            "wer": take_qc.wer, "cer": take_qc.cer, "similarity": take_qc.similarity, "mos": take_qc.mos})
    row["alternates"] = alternates
    return row


def _emotion_words(emotion: EmotionUse | None) -> str | None:
    """The Emotion cell: what was asked, from where, and how it was applied (``angry 0.8 · subtitle tag · dsp``)."""
    if emotion is None:
        return None
    parts = [emotion.words or emotion.method or "", emotion.source or ""]
    if emotion.contour_correlation is not None:
        parts.append(f"contour r {emotion.contour_correlation:.2f}")
    if emotion.applied_by is None and emotion.method != "neutral":
        parts.append(emotion.note or "not applied")
    elif emotion.applied_by == "backend":
        parts.append("by the voice")
    return " · ".join(part for part in parts if part)


def _watermark_columns(wav: Path | None) -> dict[str, Any]:
    """``watermark``: ``marked``, ``not marked`` or ``unreadable`` (None: no WAV); ``watermark_score``: the
    detector's score (marked at :data:`revoice.engine.dsp.watermark.DETECTION_THRESHOLD` and above)."""
    if wav is None or not wav.is_file():
        return {"watermark": None, "watermark_score": None}
    from revoice.engine.watermark import check_file

    check = check_file(wav)
    if check.detection is None:
        return {"watermark": "unreadable", "watermark_score": None}
    return {"watermark": "marked" if check.marked else "not marked", "watermark_score": check.detection.score}


def meter_line(entry: ReportLine, qc: LineQc) -> None:
    """Meter ``entry``'s placed take now with ``qc``: its row and report get the new numbers (nothing is written)."""
    assert entry.rendered is not None
    metrics = TakeQc.from_json(qc(entry.line, entry.rendered))
    entry.row.update(_qc_columns(metrics))
    entry.row["flags"] = entry.row["flags"] + [f for f in metrics.flags if f not in entry.row["flags"]]
    entry.row["metered"] = True
    report = dataclasses.replace(entry.rendered.report, qc=metrics)
    entry.rendered = dataclasses.replace(entry.rendered, report=report)


def _sources(timeline: otio.schema.Timeline, record: FrameRange, base_dir: Path | None) -> tuple[SourceAudio, ...]:
    """The original audio under ``record``: enabled clips on the timeline's other audio tracks."""
    import opentimelineio as otio

    from revoice.otio_bridge.lines import REVOICE_TRACK_PREFIX
    from revoice.otio_bridge.media import media_path_from_url

    found: list[SourceAudio] = []
    for number, track in enumerate(timeline.audio_tracks(), start=1):
        name = str(track.name or f"A{number}")
        if name.startswith(REVOICE_TRACK_PREFIX) or not track.enabled:
            continue
        for clip in track.find_clips():
            ref = clip.media_reference
            if not clip.enabled or not isinstance(ref, otio.schema.ExternalReference):
                continue
            try:
                trimmed = clip.trimmed_range()
                placed = clip.transformed_time_range(trimmed, timeline.tracks)
            except Exception:  # odd nesting or effects: no original for this clip
                continue
            a0 = placed.start_time.rescaled_to(record.rate).value
            b0 = a0 + placed.duration.rescaled_to(record.rate).value
            a, b = max(a0, float(record.start)), min(b0, float(record.end))
            if b <= a:
                continue
            source = trimmed.start_time
            if ref.available_range is not None:
                source = source - ref.available_range.start_time
            url = str(ref.target_url or "")
            found.append(SourceAudio(
                clip_name=str(clip.name), track_name=name, media_url=url,
                media_path=media_path_from_url(url, base_dir) if url else None,
                source_start_seconds=float(source.to_seconds()) + (a - a0) / record.rate,
                duration_seconds=(b - a) / record.rate, offset_in_line_seconds=(a - record.start) / record.rate))
    return tuple(found)


def rows_csv(rows: Sequence[Mapping[str, Any]]) -> str:
    """``rows`` as CSV text (:data:`ROW_FIELDS` columns; flags joined by `` | ``, takes as ``t1=0.81``)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(ROW_FIELDS)
    for row in rows:
        cells = []
        for key in ROW_FIELDS:
            value = row.get(key)
            if key == "flags":
                value = " | ".join(value or [])
            elif key == "alternates":
                value = " ".join(f"t{a['take']}={a['score']}" for a in value or [])
            cells.append("" if value is None else value)
        writer.writerow(cells)
    return buffer.getvalue()


# -- what the page and the charts read from rows ---------------------------------------------

def flag_state(flags: Sequence[str]) -> str:
    """``flagged`` (a QC flag), ``noted`` (only fit notes: fast/slow/late/limited) or ``clean``."""
    if any(not f.startswith(FIT_FLAGS) for f in flags):
        return "flagged"
    return "noted" if flags else "clean"


def flag_kind(flag: str) -> str:
    """A flag's kind for the summary chart: its meter (``wer``, ``mos``, ``true peak``...) or its first words."""
    head = flag.split(":")[0].strip()
    words = head.split()
    if words and words[0] in ("wer", "cer", "similarity", "mos", "loudness", "onset", "stretch", "ratio"):
        return words[0]
    if head.startswith("true peak"):
        return "true peak"
    return " ".join(words[:2])[:14] or "other"


def row_error(row: Mapping[str, Any]) -> float | None:
    """The row's WER, or CER for the languages scored by characters."""
    value = row.get("cer") if row.get("error_metric") == "cer" else row.get("wer")
    return float(value) if isinstance(value, (int, float)) else None


def mean(values: Iterable[Any]) -> float | None:
    """The mean of the finite numbers among ``values``; None when there are none."""
    kept = [float(v) for v in values if isinstance(v, (int, float)) and math.isfinite(float(v))]
    return sum(kept) / len(kept) if kept else None
