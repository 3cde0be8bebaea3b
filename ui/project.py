"""What the panel has open: a timeline, its lines, and where renders go.

No widgets here (usable without a display; only :func:`default_out` asks Qt
for the app-data folder). Reading raises :class:`otio_bridge.errors.InputError`;
nothing here writes the inputs.
"""

from __future__ import annotations

import dataclasses
import html
import inspect
import json
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.fit import FitPolicy
from engine.model import DialogueLine, RenderedLine, SkippedLine
from engine.render import RenderSettings, Revoicer, load_sidecar, wav_name, write_text_atomic
from engine.voices.base import VoiceBackend
from otio_bridge.errors import InputError

from ui.settings import PanelSettings

PANEL_STATE_VERSION = 1
EDITS_SUBTITLE_NAME = ".revoice-panel-edits.vtt"


@dataclass
class Project:
    """An opened timeline with its dialogue lines and the panel's work files."""

    timeline_path: Path
    subtitles: Path | None
    out: Path
    """The working timeline run_job writes; renders go to ``<stem>_media`` beside it."""
    timeline: Any
    """The read ``opentimelineio.schema.Timeline`` (kept for export)."""
    rate: float
    start_frames: int
    lines: list[DialogueLine]
    skipped: list[SkippedLine] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    edit_rate: float | None = None

    @property
    def media_dir(self) -> Path:
        return self.out.with_name(f"{self.out.stem}_media")

    @property
    def state_path(self) -> Path:
        """The panel's own state (text edits) for this timeline."""
        return self.out.with_name(f"{self.out.stem}_panel.json")

    @property
    def qc_report_path(self) -> Path:
        return self.out.with_name(f"{self.out.stem}_qc.html")

    @property
    def speakers(self) -> list[str]:
        return sorted({line.speaker for line in self.lines})

    def timecode(self, frames_from_start: int) -> str:
        from otio_bridge.timeline import format_timecode

        return format_timecode(self.start_frames + frames_from_start, self.rate)

    def wav_path(self, line: DialogueLine) -> Path:
        return self.media_dir / wav_name(line, 1)


def default_out(timeline: Path, work_dir: Path | None) -> Path:
    """``<stem>_revoiced.otio`` in ``work_dir``, else beside the timeline when that folder is writable."""
    name = f"{timeline.stem}_revoiced.otio"
    if work_dir is not None:
        return work_dir / name
    folder = timeline.absolute().parent
    if os.access(folder, os.W_OK):
        return folder / name
    from PyQt6.QtCore import QStandardPaths

    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppLocalDataLocation)
    return Path(base or tempfile.gettempdir()) / "renders" / name


def load_project(timeline_path: Path, subtitles: Path | None, out: Path, *,
                 rate: float | None = None, language: str = "en") -> Project:
    """Read the timeline and its lines; InputError (naming the file) on bad input."""
    from otio_bridge.lines import extract_lines
    from otio_bridge.subtitles import read_subtitles
    from otio_bridge.timeline import read_timeline, timeline_rate, timeline_start_frames

    timeline = read_timeline(timeline_path, rate=rate)
    cues = read_subtitles(subtitles) if subtitles is not None else None
    lines, skipped, warnings = extract_lines(
        timeline, cues=cues, subtitle_path=subtitles, language=language, timeline_path=timeline_path)
    return Project(timeline_path=timeline_path, subtitles=subtitles, out=out, timeline=timeline,
                   rate=timeline_rate(timeline, path=timeline_path), start_frames=timeline_start_frames(timeline),
                   lines=lines, skipped=skipped, warnings=warnings, edit_rate=rate)


def render_settings(settings: PanelSettings) -> RenderSettings:
    return RenderSettings(loudness=settings.loudness, true_peak_ceiling_dbtp=settings.true_peak_dbtp,
                          fit=FitPolicy(min_ratio=settings.min_ratio, max_ratio=settings.max_ratio))


def edited_line(line: DialogueLine, text: str) -> DialogueLine:
    return line if text == line.text else dataclasses.replace(line, text=text)


def find_renders(project: Project, texts: Mapping[str, str], *, backend: VoiceBackend | None,
                 settings: PanelSettings, voices: Mapping[str, str]) -> dict[str, RenderedLine]:
    """Finished renders on disk that match the lines as they are now.

    With a loaded backend the sidecar's render key must match (text, voice,
    settings, timing); without one the render must have the current settings,
    the speaker's chosen voice and an unedited text.
    """
    found: dict[str, RenderedLine] = {}
    current_settings = render_settings(settings)
    revoicer: Revoicer | None = None
    if backend is not None:
        try:
            revoicer = Revoicer(backend=backend, settings=current_settings, voices_by_speaker=dict(voices))
        except ValueError:
            revoicer = None
    wanted = json.loads(json.dumps(dataclasses.asdict(current_settings), default=str))
    for line in project.lines:
        current = edited_line(line, texts.get(line.line_id, line.text))
        if revoicer is not None:
            render = load_sidecar(project.wav_path(line), revoicer.render_key(current))
        else:
            render = load_sidecar(project.wav_path(line))
            voice = voices.get(line.speaker)
            if render is not None and (current.text != line.text or render.settings != wanted
                                       or (voice is not None and render.voice_id != voice)):
                render = None
        if render is not None:
            found[line.line_id] = render
    return found


# --- text edits -------------------------------------------------------------------------------------------------

def load_text_edits(project: Project) -> dict[str, str]:
    """Edited texts saved for this project, for lines whose original text is unchanged."""
    try:
        data = json.loads(project.state_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    edits = data.get("text_edits", {}) if isinstance(data, dict) else {}
    by_id = {line.line_id: line for line in project.lines}
    result: dict[str, str] = {}
    for line_id, entry in edits.items() if isinstance(edits, dict) else ():
        line = by_id.get(line_id)
        if line is not None and isinstance(entry, dict) and entry.get("original") == line.text:
            edited = entry.get("edited")
            if isinstance(edited, str) and edited.strip():
                result[line_id] = edited
    return result


def save_text_edits(project: Project, texts: Mapping[str, str]) -> None:
    """Save the edits (atomically) so closing the panel loses nothing."""
    by_id = {line.line_id: line for line in project.lines}
    edits = {line_id: {"original": by_id[line_id].text, "edited": text}
             for line_id, text in sorted(texts.items()) if line_id in by_id and text != by_id[line_id].text}
    data = {"version": PANEL_STATE_VERSION, "timeline": str(project.timeline_path),
            "subtitles": str(project.subtitles) if project.subtitles else None, "text_edits": edits}
    write_text_atomic(project.state_path, json.dumps(data, indent=1))


def job_supports_text_overrides() -> bool:
    from revoice.job import JobOptions

    return any(f.name == "text_overrides" for f in dataclasses.fields(JobOptions))


def write_edits_subtitles(project: Project, texts: Mapping[str, str]) -> Path:
    """A WebVTT holding every line with its current text, timed from the timeline's first frame.

    Used while ``run_job`` cannot take edited texts directly: read back with
    ``subtitle_offset="zero"`` it gives the same lines (ids, ranges, speakers).
    """
    out = ["WEBVTT", ""]
    for line in project.lines:
        start = line.record.start / line.record.rate
        end = line.record.end / line.record.rate
        text = " ".join(texts.get(line.line_id, line.text).split())
        out += [f"{_vtt_time(start)} --> {_vtt_time(end)}",
                f"<v {html.escape(line.speaker)}>{html.escape(text, quote=False)}", ""]
    path = project.media_dir / EDITS_SUBTITLE_NAME
    write_text_atomic(path, "\n".join(out))
    return path


def _vtt_time(seconds: float) -> str:
    ms = int(round(seconds * 1000))
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{millis:03d}"


# --- export and QC -----------------------------------------------------------------------------------------------

def export_timeline(project: Project, target: Path, renders: Mapping[str, RenderedLine],
                    texts: Mapping[str, str]) -> list[str]:
    """Write the timeline plus one ``Revoice - <speaker>`` track per speaker; returns warnings.

    Raises InputError (bad target, writer refusal) or ValueError (no renders).
    """
    from otio_bridge.write import build_revoiced_timeline, write_timeline

    lines = [edited_line(line, texts.get(line.line_id, line.text)) for line in project.lines
             if line.line_id in renders]
    if not lines:
        raise ValueError("nothing is revoiced yet: revoice some lines first (Ctrl+R)")
    new = build_revoiced_timeline(project.timeline, lines, [renders[line.line_id] for line in lines])
    inputs = [project.timeline_path] + ([project.subtitles] if project.subtitles else [])
    return write_timeline(new, target, overwrite_inputs=inputs)


def write_qc_report(project: Project, rows: Iterable[tuple[DialogueLine, str, str, RenderedLine | None, str]]) -> Path:
    """An HTML QC sheet (line, timecode, speaker, text, status, ratio, LUFS, dBTP, flags) beside the work files."""
    cells: list[str] = []
    for line, text, status, render, message in rows:
        rep = render.report if render is not None else {}
        flags = list(render.flags) if render is not None else ([message] if message else [])

        def num(key: str, fmt: str) -> str:
            value = rep.get(key)
            return format(value, fmt) if isinstance(value, (int, float)) else ""

        cells.append(
            f"<tr class='{html.escape(status)}'><td>{html.escape(line.line_id)}</td>"
            f"<td>{project.timecode(line.record.start)}</td><td>{html.escape(line.speaker)}</td>"
            f"<td>{html.escape(text)}</td><td>{html.escape(status)}</td>"
            f"<td>{line.record.duration_seconds:.2f}</td><td>{num('ratio', '.2f')}</td>"
            f"<td>{num('loudness_lufs', '.1f')}</td><td>{num('true_peak_dbtp', '.1f')}</td>"
            f"<td>{html.escape('; '.join(flags))}</td></tr>")
    page = f"""<!doctype html><meta charset="utf-8"><title>Revoice QC - {html.escape(project.timeline_path.name)}</title>
<style>body{{font:13px sans-serif;background:#1b1c1f;color:#ddd;margin:24px}}table{{border-collapse:collapse}}
td,th{{padding:4px 10px;border-bottom:1px solid #333;text-align:left}}th{{color:#999}}
.flagged td{{color:#f0b43c}}.failed td{{color:#ff6b6b}}.pending td{{color:#888}}</style>
<h1>Revoice QC report</h1><p>{html.escape(str(project.timeline_path))}
{(' + ' + html.escape(str(project.subtitles))) if project.subtitles else ''}</p>
<table><tr><th>Line</th><th>TC in</th><th>Speaker</th><th>Text</th><th>Status</th><th>Slot s</th>
<th>Ratio</th><th>LUFS</th><th>dBTP</th><th>Flags</th></tr>
{''.join(cells)}</table>"""
    write_text_atomic(project.qc_report_path, page)
    return project.qc_report_path


# --- demo ---------------------------------------------------------------------------------------------------------

def demo_paths(work_dir: Path) -> tuple[Path, Path, str | None]:
    """The demo timeline, its subtitles and a warning (fallback scene) or None.

    Works with ``demo_files(work_dir)`` and with the older ``demo_files()``.
    """
    from revoice.demo import demo_files

    takes_dir = bool(inspect.signature(demo_files).parameters)
    found: Sequence[Path] = demo_files(work_dir) if takes_dir else demo_files()  # type: ignore[call-arg,unused-ignore]
    warning = getattr(found, "warning", None)
    return Path(found[0]), Path(found[1]), warning if isinstance(warning, str) else None
