"""QC report of a revoiced timeline: one row per line, written as HTML, JSON and CSV.

:func:`qc_rows` reads the ``Revoice - <speaker>`` tracks of a timeline written
by :mod:`otio_bridge.write` (each clip's ``metadata["revoice"]`` holds the
line, its render report with ``report["qc"]`` and ``report["takes"]``).
:func:`write_report` writes ``<stem>_qc.html`` (inline CSS and SVG: summary
charts, then per line the timecode, speaker, script, the ASR hypothesis with
word differences marked, each meter, the flags, a waveform and level plot of
the take over the original, and players for the original and every take),
``<stem>_qc.json`` (the rows) and ``<stem>_qc.csv``; all written atomically.
Audio is linked by relative paths: the takes where they are, excerpts of the
original under ``<stem>_qc_media/``.

Lines rendered without QC can be metered on the way (``measure``: a
:class:`engine.qc.assess.LineQc`); :func:`qc_main` does so unless told
``--stored-only``. Lines spoken by a character's voice profile are compared
with the profile (the actor's reference speech): :func:`qc_main` reads the
job's profiles from ``<stem>_voices`` beside the timeline (where ``revoice
run`` keeps them) or ``--voices DIR`` (for a run with ``--profiles DIR``;
the folder is not recorded in the timeline).
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import difflib
import html
import io
import json
import math
import os
import sys
import urllib.parse
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from engine.dsp.bwf import read_wav, write_bwf
from engine.model import DialogueLine, FrameRange, RenderedLine, SourceAudio
from engine.original import read_original
from engine.qc.text_norm import normalize_text
from engine.render import write_text_atomic

if TYPE_CHECKING:
    from engine.qc.assess import LineQc
    from engine.voices.profile import VoiceProfile

ROW_FIELDS = (
    "line_id", "timecode", "speaker", "language", "text", "asr_text", "error_metric", "wer", "cer", "similarity",
    "similarity_to", "voice_similarity", "mos", "loudness_lufs", "loudness_target_lufs", "true_peak_dbtp",
    "clipped_samples", "speech_fraction", "length_error_samples", "onset_error_ms", "offset_error_ms",
    "stretch_ratio", "ratio", "score", "take", "voice", "voice_kind", "backend", "wav", "flags", "alternates",
)
"""Keys of every row, in CSV column order."""

_QC_KEYS = (
    "asr_text", "error_metric", "wer", "cer", "similarity", "similarity_to", "voice_similarity", "mos",
    "loudness_lufs", "loudness_target_lufs", "true_peak_dbtp", "clipped_samples", "speech_fraction", "score",
    "similarity_floor", "detected_span", "voice_similarity_to",
)
_VOICE_KINDS = {"tint": "tint: matched stock voice, not a clone", "clone": "neural clone", "stock": "stock voice"}
_SYNC_KEYS = ("length_error_samples", "onset_error_ms", "offset_error_ms", "stretch_ratio", "ratio")
_ORIGINAL_RATE = 48000
_WAVE_COLUMNS = 300


@dataclass
class _Entry:
    """One line of the timeline: its JSON row plus what the HTML needs to draw and play it."""

    row: dict[str, Any]
    line: DialogueLine
    rendered: RenderedLine | None


# --------------------------------------------------------------------------
# Rows
# --------------------------------------------------------------------------


def qc_rows(timeline: Any, *, base_dir: Path | None = None) -> list[dict[str, Any]]:
    """One JSON-friendly dict per revoiced line of an OTIO ``timeline``, in timeline order.

    Keys: :data:`ROW_FIELDS` (meters are None where not measured; ``wav`` is
    the take's path, relative media resolved against ``base_dir``;
    ``alternates`` lists every take with its score, flags, WER, similarity
    and MOS).
    """
    return [entry.row for entry in _entries(timeline, base_dir)]


def _entries(timeline: Any, base_dir: Path | None) -> list[_Entry]:
    import opentimelineio as otio

    from otio_bridge.lines import REVOICE_TRACK_PREFIX
    from otio_bridge.media import media_path_from_url
    from otio_bridge.timeline import format_timecode

    start = timeline.global_start_time
    entries: list[_Entry] = []
    for track in timeline.audio_tracks():
        if not str(track.name or "").startswith(REVOICE_TRACK_PREFIX):
            continue
        for clip in track.find_clips():
            meta = clip.metadata.get("revoice") if clip.metadata else None
            if meta is None:
                continue
            meta = _plain(meta)
            placed = clip.range_in_parent()
            rate = float(placed.start_time.rate)
            tc_start = int(round(start.rescaled_to(rate).value)) if start is not None else 0
            record = FrameRange(int(round(placed.start_time.value)), int(round(placed.duration.value)), rate)
            ref = clip.media_reference
            url = str(getattr(ref, "target_url", "") or "") if isinstance(ref, otio.schema.ExternalReference) else ""
            wav = media_path_from_url(url, base_dir) if url else None
            line = DialogueLine(
                line_id=str(meta.get("line_id", clip.name)), text=str(meta.get("text", "")),
                speaker=str(meta.get("speaker", "")), language=str(meta.get("language", "en")), record=record,
                timecode_start_frames=tc_start, sources=_sources(timeline, record, base_dir),
                origin=f"clip '{clip.name}'")
            report = meta.get("report") if isinstance(meta.get("report"), dict) else {}
            rendered = _rendered(line, meta, report, wav)
            row = _row(line, meta, report, wav, format_timecode(tc_start + record.start, rate))
            entries.append(_Entry(row, line, rendered))
    entries.sort(key=lambda e: (e.line.record.start, e.line.line_id))
    return entries


def _plain(value: Any) -> Any:
    """OTIO's AnyDictionary / AnyVector as plain dicts and lists."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        return [_plain(v) for v in value]
    return value


def _rendered(line: DialogueLine, meta: Mapping[str, Any], report: Mapping[str, Any],
              wav: Path | None) -> RenderedLine | None:
    if wav is None:
        return None
    rate = int(meta.get("sample_rate") or 48000)
    slot = int(meta.get("wav_samples") or line.slot_samples(rate))
    return RenderedLine(
        line_id=line.line_id, path=wav, sample_rate=rate, slot_samples=slot,
        speech_start=int(report.get("speech_start") or 0), speech_end=int(report.get("speech_end") or slot),
        backend=str(meta.get("backend", "")), voice_id=str(meta.get("voice", "")), take=int(meta.get("take") or 1),
        settings=dict(meta.get("settings") or {}), report=dict(report), flags=tuple(meta.get("flags") or ()))


def _row(line: DialogueLine, meta: Mapping[str, Any], report: Mapping[str, Any], wav: Path | None,
         timecode: str) -> dict[str, Any]:
    stored = report.get("qc")
    qc: dict[str, Any] = stored if isinstance(stored, dict) else {}
    row: dict[str, Any] = {
        "line_id": line.line_id, "timecode": timecode, "speaker": line.speaker, "language": line.language,
        "text": line.text, **{key: qc.get(key) for key in _QC_KEYS},
        **{key: report.get(key) for key in _SYNC_KEYS},
        "take": meta.get("take"), "voice": meta.get("voice"), "voice_kind": _voice_kind(meta),
        "backend": meta.get("backend"), "wav": str(wav) if wav is not None else None, "flags": list(meta.get("flags") or []),
        "metered": bool(qc),
    }
    listed = report.get("takes")
    takes: list[Any] = listed if isinstance(listed, list) else []
    folder = wav.parent if wav is not None else None
    alternates = []
    for take in takes:
        take_qc = take.get("qc") or {}
        alternates.append({
            "take": take.get("take"), "chosen": take.get("take") == meta.get("take"),
            "file": str(folder / take["file"]) if folder is not None and take.get("file") else take.get("file"),
            "score": take.get("score"), "flags": list(take.get("flags") or []),
            **{key: take_qc.get(key) for key in ("wer", "cer", "similarity", "mos")}})
    row["alternates"] = alternates
    return row


def _sources(timeline: Any, record: FrameRange, base_dir: Path | None) -> tuple[SourceAudio, ...]:
    """The original audio under ``record``: enabled clips on the timeline's other audio tracks."""
    import opentimelineio as otio

    from otio_bridge.lines import REVOICE_TRACK_PREFIX
    from otio_bridge.media import media_path_from_url

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


# --------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------


def write_report(timeline_path: str | Path, out_dir: str | Path | None = None, *,
                 measure: LineQc | None = None) -> list[Path]:
    """Write ``<stem>_qc.html``, ``<stem>_qc.json`` and ``<stem>_qc.csv`` for a revoiced timeline.

    ``out_dir`` defaults to the timeline's folder. With ``measure`` every line
    without stored QC numbers is metered now (nothing is written back into
    the timeline), and so is every line spoken by a voice profile that
    ``measure`` knows (:meth:`LineQc.character_profile`) whose stored
    numbers lack the voice similarity (rendered before profiles were
    compared). Returns the three paths (HTML, JSON, CSV).
    """
    from otio_bridge.timeline import read_timeline

    path = Path(timeline_path)
    timeline = read_timeline(path)
    out = Path(out_dir) if out_dir is not None else path.absolute().parent
    out.mkdir(parents=True, exist_ok=True)
    entries = _entries(timeline, path.absolute().parent)
    if measure is not None:
        for entry in entries:
            if entry.rendered is None:
                continue
            unmeasured_profile = (entry.row["voice_similarity"] is None
                                  and measure.character_profile(entry.rendered) is not None)
            if not entry.row["metered"] or unmeasured_profile:
                _meter(entry, measure)
    rows = [entry.row for entry in entries]
    stem = path.stem
    media = out / f"{stem}_qc_media"
    html_path, json_path, csv_path = (out / f"{stem}_qc.{ext}" for ext in ("html", "json", "csv"))
    write_text_atomic(json_path, json.dumps(rows, indent=1, ensure_ascii=False))
    write_text_atomic(csv_path, rows_csv(rows))
    page = render_html(entries, title=f"Revoice QC: {path.name}", out_dir=out, media_dir=media,
                       source=str(path))
    write_text_atomic(html_path, page)
    return [html_path, json_path, csv_path]


def _meter(entry: _Entry, qc: LineQc) -> None:
    assert entry.rendered is not None
    metrics = qc(entry.line, entry.rendered)
    entry.row.update({key: metrics.get(key) for key in _QC_KEYS})
    entry.row["flags"] = entry.row["flags"] + [f for f in metrics.get("flags", []) if f not in entry.row["flags"]]
    entry.row["metered"] = True
    entry.rendered = dataclasses.replace(entry.rendered, report={**entry.rendered.report, "qc": metrics})


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


# --------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------

_CSS = """
:root{--bad:#c0392b;--ok:#1e8449;--warn:#b9770e;--ink:#1b2631;--muted:#6c7a89;--line:#d5dbe1;--take:#1f5fa8;--orig:#9aa5b1}
*{box-sizing:border-box}body{font:13px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--ink);margin:0;background:#f4f6f8}
header{padding:16px 24px;background:#1b2631;color:#fff}header h1{margin:0 0 4px;font-size:18px}header .sub{color:#c7d0d9;font-size:12px}
.cards{display:flex;gap:12px;flex-wrap:wrap;padding:14px 24px 0}.card{background:#fff;border:1px solid var(--line);border-radius:6px;padding:8px 14px;min-width:110px}
.card b{display:block;font-size:18px}.card span{color:var(--muted);font-size:11px;text-transform:uppercase;letter-spacing:.04em}
.charts{display:flex;gap:12px;flex-wrap:wrap;padding:12px 24px}.chart{background:#fff;border:1px solid var(--line);border-radius:6px;padding:8px}
.chart h3{margin:0 0 4px;font-size:12px;color:var(--muted);font-weight:600}
table{border-collapse:collapse;width:calc(100% - 48px);margin:0 24px 24px;background:#fff;border:1px solid var(--line)}
th{position:sticky;top:0;background:#eaeef2;text-align:left;font-size:11px;text-transform:uppercase;letter-spacing:.04em;color:var(--muted);padding:6px 8px;border-bottom:1px solid var(--line)}
td{vertical-align:top;padding:8px;border-bottom:1px solid var(--line)}tr.flagged td:first-child{border-left:4px solid var(--bad)}
tr.noted td:first-child{border-left:4px solid var(--warn)}tr.clean td:first-child{border-left:4px solid var(--ok)}
.tc{font-family:ui-monospace,Menlo,Consolas,monospace;white-space:nowrap}.id{color:var(--muted);font-size:11px}
.script{max-width:320px}.asr{margin-top:4px;color:#34495e;font-size:12px}.asr .lbl,.m .lbl{color:var(--muted);font-size:10px;text-transform:uppercase}
ins{background:#fdebd0;text-decoration:none;border-bottom:2px solid var(--warn)}del{background:#fadbd8;color:var(--bad)}mark{background:#fdebd0;border-bottom:2px solid var(--warn)}
.m{display:grid;grid-template-columns:auto auto auto auto;gap:1px 8px;font-variant-numeric:tabular-nums;white-space:nowrap}.m .bad{color:var(--bad);font-weight:700}
.flags{margin:0;padding:0;list-style:none;max-width:260px}.flags li{background:#fadbd8;color:#78281f;border-radius:4px;padding:2px 6px;margin:0 0 3px;font-size:12px}
.flags li.fit{background:#fef5e7;color:#7e5109}.none{color:var(--ok)}
.wave svg{display:block;background:#fbfcfd;border:1px solid var(--line)}.players{display:grid;grid-template-columns:56px 244px;align-items:center;gap:2px 0;margin-top:4px}
.players label{font-size:10px;color:var(--muted);text-transform:uppercase}audio{height:24px;width:244px}
.legend{font-size:10px;color:var(--muted)}.legend i{display:inline-block;width:10px;height:3px;margin:0 3px 2px 8px;vertical-align:middle}
.alts{font-size:11px;color:var(--muted);margin-top:2px}.alts .chosen{color:var(--ink);font-weight:700}
footer{padding:0 24px 24px;color:var(--muted);font-size:11px}
"""

_FIT_FLAGS = ("fast:", "slow:", "late:", "limited:")
_METER_FLAGS = {
    "wer": ("wer",), "cer": ("cer",), "similarity": ("similarity",), "mos": ("mos",),
    "loudness_lufs": ("loudness",), "true_peak_dbtp": ("true peak", "clipped"), "onset_error_ms": ("onset",),
    "stretch_ratio": ("stretch", "ratio"), "length_error_samples": ("length",),
}


def render_html(entries: Sequence[_Entry], *, title: str, out_dir: Path, media_dir: Path, source: str = "") -> str:
    """The report page (one self-contained HTML string; audio by paths relative to ``out_dir``)."""
    rows = [e.row for e in entries]
    flagged = sum(1 for r in rows if r["flags"])
    errors = [_error(r) for r in rows]
    cards = [
        ("lines", str(len(rows))), ("any flag", str(flagged)),
        ("QC flagged", str(sum(1 for r in rows if _state(r["flags"]) == "flagged"))),
        ("mean WER/CER", _fmt(_mean(errors), 3)),
        ("mean voice similarity", _fmt(_mean([r["voice_similarity"] for r in rows]), 2)),
        ("mean sim. to original", _fmt(_mean([r["similarity"] for r in rows if r["similarity_to"] == "original"]), 2)),
        ("mean MOS", _fmt(_mean([r["mos"] for r in rows]), 2)),
        ("unmetered", str(sum(1 for r in rows if not r["metered"]))),
    ]
    parts = [
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>",
        f"<title>{_e(title)}</title><meta name=viewport content='width=device-width, initial-scale=1'>",
        f"<style>{_CSS}</style></head><body>",
        f"<header><h1>{_e(title)}</h1><div class=sub>{_e(source)} &middot; {len(rows)} lines &middot; "
        f"{flagged} need a listen</div></header>",
        "<div class=cards>" + "".join(f"<div class=card><b>{_e(v)}</b><span>{_e(k)}</span></div>" for k, v in cards)
        + "</div>",
        "<div class=charts>", _chart_scores(rows), _chart_errors(rows), _chart_scatter(rows), _chart_flags(rows),
        "</div>",
        "<table><thead><tr><th>Timecode</th><th>Speaker</th><th>Script / ASR heard</th><th>Meters</th>"
        "<th>Flags</th><th>Take over original</th></tr></thead><tbody>",
    ]
    for entry in entries:
        parts.append(_line_html(entry, out_dir, media_dir))
    parts.append("</tbody></table><footer>ASR: Whisper base; similarity: d-vector cosine to the original take "
                 "or to the voice profile; voice sim.: to the voice profile (a stock voice reading a fixed passage; "
                 "for a character's tint or clone voice, the actor's reference speech); MOS: DistillMOS (1-5). "
                 "Inserted or substituted words are marked, missing words struck through. "
                 "Generated by revoice qc.</footer></body></html>")
    return "\n".join(parts)


def _voice_kind(meta: Mapping[str, Any]) -> str:
    """"tint" (offline matching, not a clone), "clone" (neural backend) or "stock" (no voice profile)."""
    profile = meta.get("profile")
    return str(profile.get("kind", "tint")) if isinstance(profile, Mapping) else "stock"


def _line_html(entry: _Entry, out_dir: Path, media_dir: Path) -> str:
    row = entry.row
    flags = row["flags"]
    error = _error(row)
    metric = row.get("error_metric") or "wer"
    meters = [
        (metric.upper(), _fmt(error, 2), metric), ("similarity", _fmt(row["similarity"], 2), "similarity"),
        ("voice sim.", _fmt(row["voice_similarity"], 2), "similarity"), ("MOS", _fmt(row["mos"], 2), "mos"),
        ("LUFS", _fmt(row["loudness_lufs"], 1), "loudness_lufs"), ("dBTP", _fmt(row["true_peak_dbtp"], 1), "true_peak_dbtp"),
        ("onset ms", _fmt(row["onset_error_ms"], 0), "onset_error_ms"), ("stretch", _fmt(row["stretch_ratio"], 3), "stretch_ratio"),
        ("length err", _fmt(row["length_error_samples"], 0), "length_error_samples"), ("score", _fmt(row["score"], 3), ""),
        ("voice", f"{row['voice']} ({_VOICE_KINDS.get(row['voice_kind'], row['voice_kind'])})", ""),
    ]
    cells = "".join(
        f"<span class=lbl>{_e(name)}</span><span class='{'bad' if _hit(flags, key) else ''}'>{_e(value)}</span>"
        for name, value, key in meters)
    flag_html = ("<ul class=flags>" + "".join(
        f"<li class='{'fit' if f.startswith(_FIT_FLAGS) else ''}'>{_e(f)}</li>" for f in flags) + "</ul>"
                 if flags else "<span class=none>&#10003; clean</span>")
    asr = row.get("asr_text")
    asr_html = (f"<div class=asr><span class=lbl>ASR</span> {diff_html(row['text'], asr, row['language'])}</div>"
                if asr is not None else "<div class=asr><span class=lbl>ASR</span> <i>not metered</i></div>")
    take, original = _audio(entry)
    svg = waveform_svg(take, original, row, entry.rendered)
    players = []
    clip = _original_clip(entry, original, media_dir)
    if clip is not None:
        players.append(f"<label>original</label><audio controls preload=none src='{_rel(clip, out_dir)}'></audio>")
    if row["wav"]:
        players.append(f"<label>take {_e(row['take'])}</label>"
                       f"<audio controls preload=none src='{_rel(Path(row['wav']), out_dir)}'></audio>")
    alts = row.get("alternates") or []
    alt_html = ""
    if alts:
        alt_html = "<div class=alts>takes: " + " &middot; ".join(
            f"<a class='{'chosen' if a['chosen'] else ''}' href='{_rel(Path(a['file']), out_dir)}'>"
            f"t{_e(a['take'])} {_fmt(a['score'], 2)}</a>" for a in alts if a.get("file")) + "</div>"
    return (
        f"<tr class='{_state(flags)}' id='{_e(row['line_id'])}'>"
        f"<td><div class=tc>{_e(row['timecode'])}</div><div class=id>{_e(row['line_id'])} &middot; take "
        f"{_e(row['take'])}</div></td><td>{_e(row['speaker'])}</td>"
        f"<td class=script>{_e(row['text'])}{asr_html}</td><td><div class=m>{cells}</div></td>"
        f"<td>{flag_html}</td><td class=wave>{svg}<div class=players>{''.join(players)}</div>{alt_html}</td></tr>")


def diff_html(reference: str, hypothesis: str | None, language: str = "en") -> str:
    """The normalized ASR hypothesis against the spoken script (stage directions out) as HTML:
    substitutions and insertions ``<mark>``ed, missing words ``<del>``."""
    if hypothesis is None:
        return ""
    from engine.qc.assess import spoken_text

    chars = language.split("-")[0].lower() in ("zh", "cmn", "yue", "ja")
    ref = normalize_text(spoken_text(reference), language).split()
    hyp = normalize_text(hypothesis, language).split()
    if chars:
        ref, hyp = list("".join(ref)), list("".join(hyp))
    joiner = "" if chars else " "
    if not hyp:
        return "<del>(nothing heard)</del>"
    out: list[str] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=ref, b=hyp, autojunk=False).get_opcodes():
        if op == "equal":
            out.append(_e(joiner.join(hyp[j1:j2])))
        if op in ("replace", "delete"):
            out.append(f"<del>{_e(joiner.join(ref[i1:i2]))}</del>")
        if op in ("replace", "insert"):
            out.append(f"<mark>{_e(joiner.join(hyp[j1:j2]))}</mark>")
    return joiner.join(out)


def _audio(entry: _Entry) -> tuple[tuple[npt.NDArray[np.float32], int] | None,
                                   tuple[npt.NDArray[np.float32], int] | None]:
    take = None
    if entry.rendered is not None:
        try:
            audio, rate = read_wav(entry.rendered.path)
            take = (audio if audio.ndim == 1 else audio.mean(axis=0).astype(np.float32), rate)
        except (OSError, RuntimeError, ValueError):
            take = None
    original = read_original(entry.line, _ORIGINAL_RATE) if entry.line.sources else None
    return take, ((original.audio, original.sample_rate) if original is not None else None)


def _original_clip(entry: _Entry, original: tuple[npt.NDArray[np.float32], int] | None, media_dir: Path) -> Path | None:
    """The original audio under the line as a WAV in ``media_dir`` (written once, atomically)."""
    if original is None or not np.any(original[0]):
        return None
    path = media_dir / f"{_safe(entry.line.line_id)}_original.wav"
    media_dir.mkdir(parents=True, exist_ok=True)
    rate = original[1]
    write_bwf(path, original[0], rate, time_reference_samples=int(round(
        entry.line.record_start_seconds_from_midnight * rate)), description=f"original under {entry.line.line_id}")
    return path


def waveform_svg(take: tuple[npt.NDArray[np.float32], int] | None,
                 original: tuple[npt.NDArray[np.float32], int] | None,
                 row: Mapping[str, Any], rendered: RenderedLine | None, *, width: int = 300, height: int = 84) -> str:
    """Inline SVG over the slot: original waveform (grey), take (blue), take level (dBFS, 50 ms RMS, orange),
    target speech span (shaded) and the speech the VAD heard in the take (bracket)."""
    if take is None:
        return f"<svg width='{width}' height='{height}' role='img'><text x='8' y='20' font-size='11' fill='#c0392b'>" \
               "take not found</text></svg>"
    audio, rate = take
    n = max(1, len(audio))
    mid = height / 2 - 6
    scale = mid - 2
    parts = [f"<svg width='{width}' height='{height}' viewBox='0 0 {width} {height}' role='img' "
             f"aria-label='waveform of {_e(row['line_id'])}'>"]
    report = rendered.report if rendered is not None else {}
    target = report.get("target_span")
    if isinstance(target, list) and len(target) == 2 and None not in target:
        x0, x1 = (float(v) / n * width for v in target)
        parts.append(f"<rect x='{x0:.1f}' y='0' width='{max(1.0, x1 - x0):.1f}' height='{height - 12}' "
                     "fill='#d6eaf8' opacity='.7'><title>target speech span</title></rect>")
    if original is not None:
        orig = original[0]
        if original[1] != rate:
            from engine.dsp.resample import resample

            orig = resample(orig, original[1], rate)
        parts.append(_envelope_path(orig[:n], n, width, mid, scale, "#9aa5b1", 0.8))
    parts.append(_envelope_path(audio, n, width, mid, scale, "#1f5fa8", 0.9))
    level = _level_polyline(audio, rate, width, height - 12)
    if level:
        parts.append(f"<polyline points='{level}' fill='none' stroke='#e67e22' stroke-width='1.2'>"
                     "<title>take level, dBFS (50 ms RMS), top = 0, bottom = -60</title></polyline>")
    span = row.get("detected_span") if isinstance(row.get("detected_span"), list) else None
    if span is None and rendered is not None:
        qc = rendered.report.get("qc") or {}
        span = qc.get("detected_span") or rendered.report.get("achieved_span")
    if isinstance(span, list) and len(span) == 2:
        x0, x1 = (float(v) / n * width for v in span)
        y = height - 8
        parts.append(f"<path d='M{x0:.1f} {y - 4} V{y} H{x1:.1f} V{y - 4}' fill='none' stroke='#1b2631' "
                     "stroke-width='1'><title>speech heard in the take</title></path>")
    parts.append(f"<text x='{width - 4}' y='{height - 2}' font-size='9' text-anchor='end' fill='#6c7a89'>"
                 f"{n / rate:.2f} s</text></svg>")
    legend = ("<div class='legend'><i style='background:#1f5fa8'></i>take<i style='background:#9aa5b1'></i>original"
              "<i style='background:#e67e22'></i>level<i style='background:#d6eaf8;height:8px'></i>target</div>")
    return "".join(parts) + legend


def _envelope_path(audio: npt.NDArray[np.float32], n: int, width: int, mid: float, scale: float, color: str,
                   opacity: float) -> str:
    """Min/max envelope of ``audio`` (drawn over ``n`` samples) as one filled SVG path."""
    x = np.zeros(n, dtype=np.float32)
    x[: min(n, len(audio))] = audio[:n]
    columns = min(_WAVE_COLUMNS, width)
    edges = np.linspace(0, n, columns + 1).astype(int)
    top, bottom = [], []
    for i in range(columns):
        piece = x[edges[i] : max(edges[i] + 1, edges[i + 1])]
        top.append(float(piece.max()))
        bottom.append(float(piece.min()))
    step = width / columns
    upper = " ".join(f"L{i * step:.1f} {mid - max(v, 0.0) * scale:.1f}" for i, v in enumerate(top))
    lower = " ".join(f"L{i * step:.1f} {mid - min(v, 0.0) * scale:.1f}" for i, v in reversed(list(enumerate(bottom))))
    return f"<path d='M0 {mid:.1f} {upper} {lower} Z' fill='{color}' opacity='{opacity}' stroke='none'/>"


def _level_polyline(audio: npt.NDArray[np.float32], rate: int, width: int, height: float) -> str:
    hop = max(1, int(0.05 * rate))
    count = len(audio) // hop
    if count < 2:
        return ""
    power = np.mean(np.square(audio[: count * hop].astype(np.float64)).reshape(count, hop), axis=1)
    db = np.clip(10 * np.log10(np.maximum(power, 1e-12)), -60.0, 0.0)
    xs = (np.arange(count) + 0.5) * hop / len(audio) * width
    ys = (-db / 60.0) * height
    return " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys, strict=True))


# -- summary charts -------------------------------------------------------------------------

def _svg_open(width: int, height: int, title: str) -> str:
    return f"<div class='chart'><h3>{_e(title)}</h3><svg width='{width}' height='{height}' viewBox='0 0 {width} {height}'>"


def _bars(values: Sequence[float | None], colors: Sequence[str], *, width: int, height: int, top: float,
          threshold: float | None, labels: Sequence[str], unit_fmt: str) -> str:
    left, bottom = 30, 16
    plot_w, plot_h = width - left - 6, height - bottom - 6
    count = max(1, len(values))
    bar = plot_w / count
    parts = [f"<line x1='{left}' y1='{6 + plot_h}' x2='{width - 6}' y2='{6 + plot_h}' stroke='#aab7b8'/>"]
    for tick in (0.0, top / 2, top):
        y = 6 + plot_h - tick / top * plot_h
        parts.append(f"<text x='{left - 4}' y='{y + 3:.1f}' font-size='9' text-anchor='end' fill='#6c7a89'>"
                     f"{unit_fmt.format(tick)}</text>")
    for i, (value, color, label) in enumerate(zip(values, colors, labels, strict=True)):
        x = left + i * bar + bar * 0.15
        if value is None:
            parts.append(f"<text x='{x + bar * 0.35:.1f}' y='{6 + plot_h - 2}' font-size='8' fill='#aab7b8'>-</text>")
            continue
        h = max(1.5, min(max(value, 0.0), top) / top * plot_h)
        parts.append(f"<rect x='{x:.1f}' y='{6 + plot_h - h:.1f}' width='{max(1.0, bar * 0.7):.1f}' height='{h:.1f}' "
                     f"fill='{color}'><title>{_e(label)}: {unit_fmt.format(value)}</title></rect>")
    if threshold is not None:
        y = 6 + plot_h - min(threshold, top) / top * plot_h
        parts.append(f"<line x1='{left}' y1='{y:.1f}' x2='{width - 6}' y2='{y:.1f}' stroke='#c0392b' stroke-dasharray='3 2'/>")
    step = max(1, math.ceil(count / 12))
    for i in range(0, count, step):
        parts.append(f"<text x='{left + (i + 0.5) * bar:.1f}' y='{height - 4}' font-size='8' text-anchor='middle' "
                     f"fill='#6c7a89'>{i + 1}</text>")
    return "".join(parts)


def _chart_scores(rows: Sequence[Mapping[str, Any]]) -> str:
    values = [r["score"] for r in rows]
    colors = [{"flagged": "#c0392b", "noted": "#d68910", "clean": "#1e8449"}[_state(r["flags"])] for r in rows]
    return (_svg_open(300, 130, "Score per line (red: QC flag, amber: fit note)") + _bars(
        values, colors, width=300, height=130, top=1.0, threshold=None, labels=[r["line_id"] for r in rows],
        unit_fmt="{:.2f}") + "</svg></div>")


def _chart_errors(rows: Sequence[Mapping[str, Any]]) -> str:
    values = [_error(r) for r in rows]
    top = max([0.3, *[v for v in values if v is not None]])
    colors = ["#c0392b" if any(f.startswith(("wer", "cer")) for f in r["flags"]) else "#5d6d7e" for r in rows]
    return (_svg_open(300, 130, "WER / CER per line (dashed: 0.10)") + _bars(
        values, colors, width=300, height=130, top=min(top, 1.0), threshold=0.10,
        labels=[r["line_id"] for r in rows], unit_fmt="{:.2f}") + "</svg></div>")


def _chart_scatter(rows: Sequence[Mapping[str, Any]]) -> str:
    width, height, left, bottom = 220, 130, 30, 18
    plot_w, plot_h = width - left - 8, height - bottom - 6
    parts = [_svg_open(width, height, "MOS vs voice similarity"),
             f"<rect x='{left}' y='6' width='{plot_w}' height='{plot_h}' fill='none' stroke='#d5dbe1'/>"]
    for mos in (1, 3, 5):
        y = 6 + plot_h - (mos - 1) / 4 * plot_h
        parts.append(f"<text x='{left - 4}' y='{y + 3:.1f}' font-size='9' text-anchor='end' fill='#6c7a89'>{mos}</text>")
    for sim in (0.0, 0.5, 1.0):
        x = left + sim * plot_w
        parts.append(f"<text x='{x:.1f}' y='{height - 4}' font-size='9' text-anchor='middle' fill='#6c7a89'>{sim:g}</text>")
    y3 = 6 + plot_h - 0.5 * plot_h
    parts.append(f"<line x1='{left}' y1='{y3:.1f}' x2='{left + plot_w}' y2='{y3:.1f}' stroke='#c0392b' "
                 "stroke-dasharray='3 2'><title>MOS 3.0</title></line>")
    floors = [r["similarity_floor"] for r in rows if isinstance(r.get("similarity_floor"), (int, float))]
    if floors:
        xf = left + min(max(min(floors), 0.0), 1.0) * plot_w
        parts.append(f"<line x1='{xf:.1f}' y1='6' x2='{xf:.1f}' y2='{6 + plot_h}' stroke='#c0392b' "
                     "stroke-dasharray='3 2'><title>similarity floor</title></line>")
    for r in rows:
        sim, mos = r["voice_similarity"], r["mos"]
        if sim is None or mos is None:
            continue
        x = left + min(max(sim, 0.0), 1.0) * plot_w
        y = 6 + plot_h - min(max((mos - 1) / 4, 0.0), 1.0) * plot_h
        color = "#c0392b" if _state(r["flags"]) == "flagged" else "#1f5fa8"
        parts.append(f"<circle cx='{x:.1f}' cy='{y:.1f}' r='3.5' fill='{color}' opacity='.8'><title>{_e(r['line_id'])}: "
                     f"voice similarity {sim:.2f}, MOS {mos:.2f}</title></circle>")
    return "".join(parts) + "</svg></div>"


def _chart_flags(rows: Sequence[Mapping[str, Any]]) -> str:
    counts: dict[str, int] = {}
    for r in rows:
        for kind in {_flag_kind(f) for f in r["flags"]}:
            counts[kind] = counts.get(kind, 0) + 1
    width, row_h = 240, 16
    items = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:8]
    height = max(40, 10 + row_h * len(items))
    parts = [_svg_open(width, height, "Lines per flag kind (amber: fit notes)")]
    if not items:
        parts.append(f"<text x='8' y='24' font-size='12' fill='#1e8449'>no flags</text>")
    most = max((c for _, c in items), default=1)
    for i, (kind, count) in enumerate(items):
        y = 6 + i * row_h
        color = "#d68910" if kind in ("fast", "slow", "late", "limited") else "#c0392b"
        w = count / most * (width - 110)
        parts.append(f"<text x='70' y='{y + 11}' font-size='10' text-anchor='end' fill='#1b2631'>{_e(kind)}</text>"
                     f"<rect x='76' y='{y + 2}' width='{max(1.0, w):.1f}' height='{row_h - 5}' fill='{color}'/>"
                     f"<text x='{80 + w:.1f}' y='{y + 11}' font-size='10' fill='#1b2631'>{count}</text>")
    return "".join(parts) + "</svg></div>"


# -- helpers ----------------------------------------------------------------------------------

def _state(flags: Sequence[str]) -> str:
    """``flagged`` (a QC flag), ``noted`` (only fit notes: fast/slow/late/limited) or ``clean``."""
    if any(not f.startswith(_FIT_FLAGS) for f in flags):
        return "flagged"
    return "noted" if flags else "clean"


def _flag_kind(flag: str) -> str:
    head = flag.split(":")[0].strip()
    words = head.split()
    if words and words[0] in ("wer", "cer", "similarity", "mos", "loudness", "onset", "stretch", "ratio"):
        return words[0]
    if head.startswith("true peak"):
        return "true peak"
    return " ".join(words[:2])[:14] or "other"


def _hit(flags: Iterable[str], key: str) -> bool:
    prefixes = _METER_FLAGS.get(key, ())
    return bool(prefixes) and any(f.startswith(prefixes) for f in flags)


def _error(row: Mapping[str, Any]) -> float | None:
    value = row.get("cer") if row.get("error_metric") == "cer" else row.get("wer")
    return float(value) if isinstance(value, (int, float)) else None


def _mean(values: Iterable[Any]) -> float | None:
    kept = [float(v) for v in values if isinstance(v, (int, float)) and math.isfinite(float(v))]
    return sum(kept) / len(kept) if kept else None


def _fmt(value: Any, digits: int) -> str:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(float(value)):
        return "-"
    return f"{float(value):.{digits}f}"


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _rel(path: Path, base: Path) -> str:
    try:
        relative = os.path.relpath(path.absolute(), base.absolute())
    except ValueError:  # another drive on Windows
        return path.absolute().as_uri()
    return urllib.parse.quote(Path(relative).as_posix())


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in name) or "line"


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------


def voices_folder(timeline_path: str | Path) -> Path:
    """Where ``revoice run`` keeps a job's voice profiles by default: ``<stem>_voices`` beside its output."""
    path = Path(timeline_path)
    return path.with_name(f"{path.stem}_voices")


def read_profiles(folder: Path) -> tuple[list[VoiceProfile], list[str]]:
    """The voice profiles in ``folder`` (none when it is missing) and a warning per unreadable file."""
    from engine.voices.profile import PROFILE_SUFFIX, ProfileError, load_profile

    profiles: list[VoiceProfile] = []
    warnings: list[str] = []
    if folder.is_dir():
        for path in sorted(folder.glob("*" + PROFILE_SUFFIX)):
            try:
                profiles.append(load_profile(path))
            except ProfileError as exc:
                warnings.append(f"{exc}; its lines get no voice similarity")
    return profiles, warnings



def qc_main(argv: Sequence[str] | None = None) -> int:
    """``revoice qc OUT.otio [--json] [--out-dir DIR] [--stored-only] [--device cpu] [--voices DIR]``.

    Writes the report next to the timeline (or in ``--out-dir``) and prints
    the paths, or the rows as JSON with ``--json``. Lines rendered without QC
    (and profile-voiced lines without a voice similarity) are metered now
    unless ``--stored-only``, profile voices against the profiles in
    ``--voices`` (default :func:`voices_folder`). Exit codes: 0 report
    written, 2 bad input.
    """
    parser = argparse.ArgumentParser(
        prog="revoice qc", description="Quality report of a revoiced timeline: HTML, JSON and CSV per line.")
    parser.add_argument("timeline", type=Path, help="a timeline written by revoice run (.otio, .otioz, .xml)")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON on stdout")
    parser.add_argument("--out-dir", type=Path, help="folder for the report (default: the timeline's folder)")
    parser.add_argument("--stored-only", action="store_true",
                        help="report only numbers stored at render time; do not meter unmetered lines")
    parser.add_argument("--device", default="cpu", help="device for the meters (cpu, cuda)")
    parser.add_argument("--voices", type=Path, metavar="DIR",
                        help="the job's voice profiles, to compare lines spoken by them with the actor "
                             "(default: <timeline stem>_voices beside the timeline; give the --profiles DIR of the run)")
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))

    from otio_bridge.errors import InputError

    measure = None
    voices = args.voices if args.voices is not None else voices_folder(args.timeline)
    known: set[str] = set()
    if not args.stored_only:
        from engine.qc.assess import LineQc

        profiles, problems = read_profiles(voices)
        for problem in problems:
            print(f"revoice qc: {problem}", file=sys.stderr)
        if args.voices is not None and not voices.is_dir():
            print(f"revoice qc: {voices}: no such folder of voice profiles", file=sys.stderr)
        known = {p.name for p in profiles}
        measure = LineQc(device=args.device, profiles=profiles)
    try:
        paths = write_report(args.timeline, args.out_dir, measure=measure)
    except InputError as exc:
        print(f"revoice qc: {exc}", file=sys.stderr)
        return 2
    except RuntimeError as exc:  # a meter's packages are missing
        print(f"revoice qc: cannot meter ({exc}); reporting stored numbers only", file=sys.stderr)
        paths = write_report(args.timeline, args.out_dir)
        measure = None
    rows = json.loads(paths[1].read_text(encoding="utf-8"))
    if args.json:
        print(paths[1].read_text(encoding="utf-8"))
    else:
        flagged = sum(1 for r in rows if r["flags"])
        print(f"{len(rows)} lines, {flagged} flagged")
        for path in paths:
            print(path)
    missing = sorted({str(r["voice"]) for r in rows if r["voice_kind"] != "stock" and r["voice_similarity"] is None
                      and r["voice"] not in known})
    if missing and measure is not None:
        print(f"revoice qc: voice profile(s) {', '.join(missing)} not found in {voices}: their lines get no voice "
              "similarity (give the run's --profiles folder with --voices DIR)", file=sys.stderr)
    return 0
