"""The QC report's HTML page: one self-contained file (inline CSS and SVG, no scripts).

Summary cards and charts, then per line the timecode, speaker, script, the ASR
hypothesis with word differences marked, each meter, the flags, a waveform and
level plot of the take over the original, and players for the original and
every take; then the Voices table (what speaks each character). Audio is linked
by paths relative to the page: the takes where they are, excerpts of the
original written under the report's media folder.
"""

from __future__ import annotations

import difflib
import os
import urllib.parse
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from revoice.engine.dsp.bwf import read_wav, write_bwf
from revoice.engine.language import base_language
from revoice.engine.original import read_original
from revoice.engine.qc.scoring import CHARACTER_LANGUAGES, spoken_text
from revoice.engine.qc.text_norm import normalize_text
from revoice.report.rows import FIT_FLAGS, ReportLine, flag_state, mean, row_error
from revoice.report.svg import escape, fmt, summary_charts, waveform_svg
from revoice.report.voices import VoiceSummary, voices_html

ORIGINAL_RATE = 48000
"""Sample rate (Hz) of the original-audio excerpts the page plays and draws."""

_VOICE_KINDS = {"tint": "tint: matched stock voice, not a clone", "clone": "neural clone", "stock": "stock voice"}

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
.flags li.fit{background:#fef5e7;color:#7e5109}.none{color:var(--ok)}b.bad{color:var(--bad)}
.wave svg{display:block;background:#fbfcfd;border:1px solid var(--line)}.players{display:grid;grid-template-columns:56px 244px;align-items:center;gap:2px 0;margin-top:4px}
.players label{font-size:10px;color:var(--muted);text-transform:uppercase}audio{height:24px;width:244px}
.legend{font-size:10px;color:var(--muted)}.legend i{display:inline-block;width:10px;height:3px;margin:0 3px 2px 8px;vertical-align:middle}
.alts{font-size:11px;color:var(--muted);margin-top:2px}.alts .chosen{color:var(--ink);font-weight:700}
footer{padding:0 24px 24px;color:var(--muted);font-size:11px}h2{margin:8px 24px;font-size:15px}
"""

_METER_FLAGS = {
    "wer": ("wer",), "cer": ("cer",), "similarity": ("similarity",), "mos": ("mos",),
    "loudness_lufs": ("loudness",), "true_peak_dbtp": ("true peak", "clipped"), "onset_error_ms": ("onset",),
    "stretch_ratio": ("stretch", "ratio"), "length_error_samples": ("length",),
}


def render_html(entries: Sequence[ReportLine], *, title: str, out_dir: Path, media_dir: Path, source: str = "",
                voices: Sequence[VoiceSummary] = ()) -> str:
    """The report page (one self-contained HTML string; audio by paths relative to ``out_dir``).

    Excerpts of the original audio are written into ``media_dir``; ``voices`` (what speaks each
    character) make the Voices table after the lines.
    """
    rows = [e.row for e in entries]
    flagged = sum(1 for r in rows if r["flags"])
    errors = [row_error(r) for r in rows]
    cards = [
        ("lines", str(len(rows))), ("any flag", str(flagged)),
        ("QC flagged", str(sum(1 for r in rows if flag_state(r["flags"]) == "flagged"))),
        ("mean WER/CER", fmt(mean(errors), 3)),
        ("mean voice similarity", fmt(mean([r["voice_similarity"] for r in rows]), 2)),
        ("mean sim. to original", fmt(mean([r["similarity"] for r in rows if r["similarity_to"] == "original"]), 2)),
        ("mean MOS", fmt(mean([r["mos"] for r in rows]), 2)),
        ("unmetered", str(sum(1 for r in rows if not r["metered"]))),
    ]
    parts = [
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>",
        f"<title>{escape(title)}</title><meta name=viewport content='width=device-width, initial-scale=1'>",
        f"<style>{_CSS}</style></head><body>",
        f"<header><h1>{escape(title)}</h1><div class=sub>{escape(source)} &middot; {len(rows)} lines &middot; "
        f"{flagged} need a listen</div></header>",
        "<div class=cards>" + "".join(f"<div class=card><b>{escape(v)}</b><span>{escape(k)}</span></div>" for k, v in cards)
        + "</div>",
        "<div class=charts>", summary_charts(rows), "</div>",
        "<table><thead><tr><th>Timecode</th><th>Speaker</th><th>Script / ASR heard</th><th>Meters</th>"
        "<th>Flags</th><th>Watermark</th><th>Take over original</th></tr></thead><tbody>",
    ]
    for entry in entries:
        parts.append(_line_html(entry, out_dir, media_dir))
    parts.append("</tbody></table>" + (voices_html(voices) if voices else "")
                 + "<footer>ASR: Whisper base; similarity: d-vector cosine to the original take "
                 "or to the voice profile; voice sim.: to the voice profile (a stock voice reading a fixed passage; "
                 "for a character's tint or clone voice, the actor's reference speech); MOS: DistillMOS (1-5). "
                 "Inserted or substituted words are marked, missing words struck through. "
                 "Generated by revoice qc.</footer></body></html>")
    return "\n".join(parts)


def _line_html(entry: ReportLine, out_dir: Path, media_dir: Path) -> str:
    row = entry.row
    flags = row["flags"]
    error = row_error(row)
    metric = row.get("error_metric") or "wer"
    meters = [
        (metric.upper(), fmt(error, 2), metric), ("similarity", fmt(row["similarity"], 2), "similarity"),
        ("voice sim.", fmt(row["voice_similarity"], 2), "similarity"), ("MOS", fmt(row["mos"], 2), "mos"),
        ("LUFS", fmt(row["loudness_lufs"], 1), "loudness_lufs"), ("dBTP", fmt(row["true_peak_dbtp"], 1), "true_peak_dbtp"),
        ("onset ms", fmt(row["onset_error_ms"], 0), "onset_error_ms"), ("stretch", fmt(row["stretch_ratio"], 3), "stretch_ratio"),
        ("length err", fmt(row["length_error_samples"], 0), "length_error_samples"), ("score", fmt(row["score"], 3), ""),
        ("voice", f"{row['voice']} ({_VOICE_KINDS.get(row['voice_kind'], row['voice_kind'])})", ""),
        ("emotion", row.get("emotion") or "-", ""),
    ]
    cells = "".join(
        f"<span class=lbl>{escape(name)}</span><span class='{'bad' if _hit(flags, key) else ''}'>{escape(value)}</span>"
        for name, value, key in meters)
    flag_html = ("<ul class=flags>" + "".join(
        f"<li class='{'fit' if f.startswith(FIT_FLAGS) else ''}'>{escape(f)}</li>" for f in flags) + "</ul>"
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
        players.append(f"<label>take {escape(row['take'])}</label>"
                       f"<audio controls preload=none src='{_rel(Path(row['wav']), out_dir)}'></audio>")
    alts = row.get("alternates") or []
    alt_html = ""
    if alts:
        alt_html = "<div class=alts>takes: " + " &middot; ".join(
            f"<a class='{'chosen' if a['chosen'] else ''}' href='{_rel(Path(a['file']), out_dir)}'>"
            f"t{escape(a['take'])} {fmt(a['score'], 2)}</a>" for a in alts if a.get("file")) + "</div>"
    return (
        f"<tr class='{flag_state(flags)}' id='{escape(row['line_id'])}'>"
        f"<td><div class=tc>{escape(row['timecode'])}</div><div class=id>{escape(row['line_id'])} &middot; take "
        f"{escape(row['take'])}</div></td><td>{escape(row['speaker'])}</td>"
        f"<td class=script>{escape(row['text'])}{asr_html}</td><td><div class=m>{cells}</div></td>"
        f"<td>{flag_html}</td><td>{_watermark_html(row)}</td><td class=wave>{svg}<div class=players>{''.join(players)}</div>{alt_html}</td></tr>")


def _watermark_html(row: dict[str, Any]) -> str:
    """The Watermark cell: marked (green) or not (red) with the detector's score; a dash without a WAV."""
    state, score = row.get("watermark"), row.get("watermark_score")
    if state is None:
        return "<span class=id>&mdash;</span>"
    if state == "marked":
        mark = "<span class=none>&#10003; marked</span>"
    else:
        mark = f"<b class=bad>&#10007; {escape(state)}</b>"
    return mark + (f"<div class=id>score {fmt(score, 1)}</div>" if score is not None else "")


def diff_html(reference: str, hypothesis: str | None, language: str = "en") -> str:
    """The normalized ASR hypothesis against the spoken script (stage directions out) as HTML:
    substitutions and insertions ``<mark>``ed, missing words ``<del>``."""
    if hypothesis is None:
        return ""
    chars = base_language(language) in CHARACTER_LANGUAGES
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
            out.append(escape(joiner.join(hyp[j1:j2])))
        if op in ("replace", "delete"):
            out.append(f"<del>{escape(joiner.join(ref[i1:i2]))}</del>")
        if op in ("replace", "insert"):
            out.append(f"<mark>{escape(joiner.join(hyp[j1:j2]))}</mark>")
    return joiner.join(out)


def _audio(entry: ReportLine) -> tuple[tuple[npt.NDArray[np.float32], int] | None,
                                   tuple[npt.NDArray[np.float32], int] | None]:
    take = None
    if entry.rendered is not None:
        try:
            audio, rate = read_wav(entry.rendered.path)
            take = (audio if audio.ndim == 1 else audio.mean(axis=0).astype(np.float32), rate)
        except (OSError, RuntimeError, ValueError):
            take = None
    original = read_original(entry.line, ORIGINAL_RATE) if entry.line.sources else None
    return take, ((original.audio, original.sample_rate) if original is not None else None)


def _original_clip(entry: ReportLine, original: tuple[npt.NDArray[np.float32], int] | None, media_dir: Path) -> Path | None:
    """The original audio under the line as a WAV in ``media_dir`` (written once, atomically)."""
    if original is None or not np.any(original[0]):
        return None
    path = media_dir / f"{_safe(entry.line.line_id)}_original.wav"
    media_dir.mkdir(parents=True, exist_ok=True)
    rate = original[1]
    write_bwf(path, original[0], rate, time_reference_samples=int(round(
        entry.line.record_start_seconds_from_midnight * rate)), description=f"original under {entry.line.line_id}")
    return path


def _hit(flags: Iterable[str], key: str) -> bool:
    prefixes = _METER_FLAGS.get(key, ())
    return bool(prefixes) and any(f.startswith(prefixes) for f in flags)




def _rel(path: Path, base: Path) -> str:
    try:
        relative = os.path.relpath(path.absolute(), base.absolute())
    except ValueError:  # another drive on Windows
        return path.absolute().as_uri()
    return urllib.parse.quote(Path(relative).as_posix())


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in name) or "line"
