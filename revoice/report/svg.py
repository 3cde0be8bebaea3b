"""The QC report's drawings, as inline SVG: a take's waveform over the original, and the summary charts.

Every function returns markup (well-formed: each element closed, each attribute
quoted) for :mod:`revoice.report.page`; nothing here reads or writes files.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from revoice.engine.model import RenderedLine
from revoice.report.rows import flag_kind, flag_state, row_error

WAVE_COLUMNS = 300
"""Envelope columns of a waveform (at most; fewer on narrower drawings)."""


def escape(value: Any) -> str:
    """``value`` as text safe inside HTML and SVG (quotes escaped too; None is empty)."""
    return html.escape("" if value is None else str(value), quote=True)


def fmt(value: Any, digits: int) -> str:
    """A number with ``digits`` decimals, ``-`` for anything that is not a finite number."""
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(float(value)):
        return "-"
    return f"{float(value):.{digits}f}"


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
             f"aria-label='waveform of {escape(row['line_id'])}'>"]
    target = rendered.report.target_span if rendered is not None else None
    if target is not None and None not in target:
        x0, x1 = (float(v) / n * width for v in target)
        parts.append(f"<rect x='{x0:.1f}' y='0' width='{max(1.0, x1 - x0):.1f}' height='{height - 12}' "
                     "fill='#d6eaf8' opacity='.7'><title>target speech span</title></rect>")
    if original is not None:
        orig = original[0]
        if original[1] != rate:
            from revoice.engine.dsp.resample import resample

            orig = resample(orig, original[1], rate)
        parts.append(_envelope_path(orig[:n], n, width, mid, scale, "#9aa5b1", 0.8))
    parts.append(_envelope_path(audio, n, width, mid, scale, "#1f5fa8", 0.9))
    level = _level_polyline(audio, rate, width, height - 12)
    if level:
        parts.append(f"<polyline points='{level}' fill='none' stroke='#e67e22' stroke-width='1.2'>"
                     "<title>take level, dBFS (50 ms RMS), top = 0, bottom = -60</title></polyline>")
    heard = row.get("detected_span")
    span: Sequence[Any] | None = heard if isinstance(heard, list) else None
    if span is None and rendered is not None:
        qc = rendered.report.qc
        span = (qc.detected_span if qc is not None else None) or rendered.report.achieved_span
    if span is not None and len(span) == 2:
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
    columns = min(WAVE_COLUMNS, width)
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
    return f"<div class='chart'><h3>{escape(title)}</h3><svg width='{width}' height='{height}' viewBox='0 0 {width} {height}'>"


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
                     f"fill='{color}'><title>{escape(label)}: {unit_fmt.format(value)}</title></rect>")
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
    colors = [{"flagged": "#c0392b", "noted": "#d68910", "clean": "#1e8449"}[flag_state(r["flags"])] for r in rows]
    return (_svg_open(300, 130, "Score per line (red: QC flag, amber: fit note)") + _bars(
        values, colors, width=300, height=130, top=1.0, threshold=None, labels=[r["line_id"] for r in rows],
        unit_fmt="{:.2f}") + "</svg></div>")


def _chart_errors(rows: Sequence[Mapping[str, Any]]) -> str:
    values = [row_error(r) for r in rows]
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
        color = "#c0392b" if flag_state(r["flags"]) == "flagged" else "#1f5fa8"
        parts.append(f"<circle cx='{x:.1f}' cy='{y:.1f}' r='3.5' fill='{color}' opacity='.8'><title>{escape(r['line_id'])}: "
                     f"voice similarity {sim:.2f}, MOS {mos:.2f}</title></circle>")
    return "".join(parts) + "</svg></div>"


def _chart_flags(rows: Sequence[Mapping[str, Any]]) -> str:
    counts: dict[str, int] = {}
    for r in rows:
        for kind in {flag_kind(f) for f in r["flags"]}:
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
        parts.append(f"<text x='70' y='{y + 11}' font-size='10' text-anchor='end' fill='#1b2631'>{escape(kind)}</text>"
                     f"<rect x='76' y='{y + 2}' width='{max(1.0, w):.1f}' height='{row_h - 5}' fill='{color}'/>"
                     f"<text x='{80 + w:.1f}' y='{y + 11}' font-size='10' fill='#1b2631'>{count}</text>")
    return "".join(parts) + "</svg></div>"


def summary_charts(rows: Sequence[Mapping[str, Any]]) -> str:
    """The charts above the table: score per line, WER/CER per line, MOS vs voice similarity, flag kinds."""
    return "\n".join((_chart_scores(rows), _chart_errors(rows), _chart_scatter(rows), _chart_flags(rows)))
