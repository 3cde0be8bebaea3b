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
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.fit import FitPolicy
from engine.model import DialogueLine, RenderedLine, SkippedLine
from engine.render import RenderSettings, Revoicer, choose_take, wav_name, write_text_atomic
from engine.voices.base import VoiceBackend
from engine.voices.profile import VoiceProfile
from otio_bridge.errors import InputError

from ui.settings import PanelSettings
from ui.takes import line_takes, qc_error, qc_error_name, qc_of, qc_similarity, takes_of, with_take
from ui.voices import VoiceEntry

PANEL_STATE_VERSION = 1


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
        """The panel's own state (text edits, take picks) for this timeline."""
        return self.out.with_name(f"{self.out.stem}_panel.json")

    @property
    def voices_dir(self) -> Path:
        """The characters' voice profiles, where ``run_job`` keeps them (``<stem>_voices`` beside ``out``)."""
        from revoice.job import JobOptions

        return JobOptions(timeline=self.timeline_path, out=self.out, profiles="auto").voices_dir

    @property
    def qc_report_path(self) -> Path:
        return self.out.with_name(f"{self.out.stem}_qc.html")

    @property
    def speakers(self) -> list[str]:
        return sorted({line.speaker for line in self.lines})

    def timecode(self, frames_from_start: int) -> str:
        from otio_bridge.timeline import format_timecode

        return format_timecode(self.start_frames + frames_from_start, self.rate)

    def wav_path(self, line: DialogueLine, take: int = 1) -> Path:
        return self.media_dir / wav_name(line, take)


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
                 settings: PanelSettings, voices: Mapping[str, str],
                 picks: Mapping[str, int] | None = None,
                 profiles: Sequence[VoiceProfile] = ()) -> dict[str, RenderedLine]:
    """Finished renders on disk that match the lines as they are now, with the picked take placed.

    A line counts as rendered when all ``settings.takes`` takes are on disk.
    With a loaded backend each sidecar's render key must match (text, voice,
    voice profile, settings, timing, take); without one the takes must have
    the current settings, the speaker's chosen voice or voice profile (same
    content key: strength, base voice, tint) and an unedited text. ``profiles``
    are the voice profiles the next run speaks with (their speakers' lines).
    The placed take is the editor's pick from ``picks`` when there is one,
    else the best-scoring.
    """
    found: dict[str, RenderedLine] = {}
    current_settings = render_settings(settings)
    count = max(1, settings.takes)
    by_name = {profile.name: profile for profile in profiles}
    revoicer: Revoicer | None = None
    if backend is not None:
        try:
            revoicer = _revoicer(backend, current_settings, voices, profiles)
        except ValueError:
            revoicer = None
    wanted = json.loads(json.dumps(dataclasses.asdict(current_settings), default=str))
    for line in project.lines:
        current = edited_line(line, texts.get(line.line_id, line.text))
        key: Callable[[int], str] | None = None
        if revoicer is not None:
            key = (lambda take, r=revoicer, c=current: r.render_key(c, take))
        elif current.text != line.text:
            continue
        takes = line_takes(project.media_dir, line, count, key)
        if takes is None:
            continue
        voice = voices.get(line.speaker)
        profile = by_name.get(line.speaker) if voice is None else None
        if revoicer is None and any(t.settings != wanted or (voice is not None and t.voice_id != voice)
                                    or _profile_key(t) != (profile.key if profile is not None else None)
                                    for t in takes):
            continue
        found[line.line_id] = choose_take(takes, prefer=(picks or {}).get(line.line_id))
    return found


def _revoicer(backend: VoiceBackend, settings: RenderSettings, voices: Mapping[str, str],
              profiles: Sequence[VoiceProfile]) -> Revoicer:
    """The Revoicer ``run_job`` would use for keys: with profiles, their backend speaks them (as in revoice.job)."""
    if not profiles:
        return Revoicer(backend=backend, settings=settings, voices_by_speaker=dict(voices))
    from engine.voices.profiled import ProfiledBackend

    profiled = ProfiledBackend(primary=backend, profiles=profiles)
    return Revoicer(backend=profiled, settings=settings,
                    voices_by_speaker={**{p.name: p.name for p in profiles}, **voices})


def _profile_key(render: RenderedLine) -> str | None:
    """The content key of the voice profile a take was spoken with (None: a stock voice)."""
    facts = render.report.get("voice_profile")
    key = facts.get("key") if isinstance(facts, Mapping) else None
    return key if isinstance(key, str) else None


# --- text edits -------------------------------------------------------------------------------------------------

@dataclass
class PanelState:
    """What the panel keeps per project beside the work files (``<stem>_panel.json``)."""

    text_edits: dict[str, str] = field(default_factory=dict)
    """Edited text by line id (lines whose original text is unchanged)."""
    take_picks: dict[str, int] = field(default_factory=dict)
    """The editor's take by line id (for the text it was picked for)."""


def load_panel_state(project: Project) -> PanelState:
    """The saved edits and take picks that still apply to the lines as read now."""
    try:
        data = json.loads(project.state_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return PanelState()
    if not isinstance(data, dict):
        return PanelState()
    by_id = {line.line_id: line for line in project.lines}
    state = PanelState()
    edits = data.get("text_edits", {})
    for line_id, entry in edits.items() if isinstance(edits, dict) else ():
        line = by_id.get(line_id)
        if line is not None and isinstance(entry, dict) and entry.get("original") == line.text:
            edited = entry.get("edited")
            if isinstance(edited, str) and edited.strip():
                state.text_edits[line_id] = edited
    picks = data.get("take_picks", {})
    for line_id, entry in picks.items() if isinstance(picks, dict) else ():
        line = by_id.get(line_id)
        take = entry.get("take") if isinstance(entry, dict) else None
        text = state.text_edits.get(line_id, line.text) if line is not None else None
        if text is not None and isinstance(take, int) and take >= 1 and entry.get("text") == text:
            state.take_picks[line_id] = take
    return state


def save_panel_state(project: Project, texts: Mapping[str, str], picks: Mapping[str, int]) -> None:
    """Save the edits and take picks (atomically) so closing the panel loses nothing."""
    by_id = {line.line_id: line for line in project.lines}
    edits = {line_id: {"original": by_id[line_id].text, "edited": text}
             for line_id, text in sorted(texts.items()) if line_id in by_id and text != by_id[line_id].text}
    chosen = {line_id: {"take": take, "text": texts.get(line_id, by_id[line_id].text)}
              for line_id, take in sorted(picks.items()) if line_id in by_id}
    data = {"version": PANEL_STATE_VERSION, "timeline": str(project.timeline_path),
            "subtitles": str(project.subtitles) if project.subtitles else None, "text_edits": edits,
            "take_picks": chosen}
    write_text_atomic(project.state_path, json.dumps(data, indent=1))


# --- export and QC -----------------------------------------------------------------------------------------------

def export_timeline(project: Project, target: Path, renders: Mapping[str, RenderedLine],
                    texts: Mapping[str, str], picks: Mapping[str, int] | None = None) -> list[str]:
    """Write the timeline plus one ``Revoice - <speaker>`` track per speaker; returns warnings.

    Each line's clip is rebuilt from the take sidecars beside its render with
    :func:`engine.render.choose_take`, placing the editor's pick from ``picks``
    (else the best-scoring take), and lists every take in its metadata.
    Raises InputError (bad target, writer refusal) or ValueError (no renders,
    a take's file gone).
    """
    from otio_bridge.write import build_revoiced_timeline, write_timeline

    lines = [edited_line(line, texts.get(line.line_id, line.text)) for line in project.lines
             if line.line_id in renders]
    if not lines:
        raise ValueError("nothing is revoiced yet: revoice some lines first (Ctrl+R)")
    placed: list[RenderedLine] = []
    for line in lines:
        render = renders[line.line_id]
        chosen = with_take(render, (picks or {}).get(line.line_id, render.take))
        if chosen is None:
            raise ValueError(f"{line.line_id}: a take's WAV or sidecar beside {render.path.name} is gone; "
                             "revoice the line again")
        placed.append(chosen)
    new = build_revoiced_timeline(project.timeline, lines, placed)
    inputs = [project.timeline_path] + ([project.subtitles] if project.subtitles else [])
    return write_timeline(new, target, overwrite_inputs=inputs)


def write_qc_report(project: Project, rows: Iterable[tuple[DialogueLine, str, str, RenderedLine | None, str]],
                    voices: Sequence[VoiceEntry] = ()) -> Path:
    """An HTML QC sheet beside the work files.

    Line, timecode, speaker, text, status, ratio, LUFS, dBTP, the placed take
    and the QC meters (word error, voice similarity, MOS, what ASR heard), flags;
    then ``voices``: what speaks each character (tint — not a clone —, clone or
    stock voice), base voice, similarity, strength, consent and licence.
    """
    voice_rows = "".join(
        f"<tr class='{v.kind}'><td>{html.escape(v.name)}</td><td>{html.escape(v.kind_words)}</td>"
        f"<td>{html.escape(v.base_voice)}</td><td>{html.escape(v.similarity)}</td>"
        f"<td>{'' if v.strength is None else format(v.strength, '.2f')}</td><td>{html.escape(v.consent)}</td>"
        f"<td>{html.escape(v.licence)}</td><td>{html.escape(v.note)}</td></tr>" for v in voices)
    voice_table = ("<h2>Voices</h2><table><tr><th>Character</th><th>Voice</th><th>Base voice</th>"
                   "<th>Similarity before → after</th><th>Strength</th><th>Consent</th><th>Licence</th>"
                   f"<th>Note</th></tr>{voice_rows}</table>") if voices else ""
    cells: list[str] = []
    for line, text, status, render, message in rows:
        rep = render.report if render is not None else {}
        flags = list(render.flags) if render is not None else ([message] if message else [])
        qc = qc_of(render)
        takes = len(takes_of(render))

        def num(key: str, fmt: str) -> str:
            value = rep.get(key)
            return format(value, fmt) if isinstance(value, (int, float)) else ""

        def metric(value: float | None, fmt: str) -> str:
            return "" if value is None else format(value, fmt)

        error = metric(qc_error(qc), ".2f")
        error += f" {qc_error_name(qc)}" if error and qc_error_name(qc) != "WER" else ""
        heard = qc.get("asr_text") if qc is not None else None
        take = f"{render.take}/{takes}" if render is not None and takes > 1 else ""

        cells.append(
            f"<tr class='{html.escape(status)}'><td>{html.escape(line.line_id)}</td>"
            f"<td>{project.timecode(line.record.start)}</td><td>{html.escape(line.speaker)}</td>"
            f"<td>{html.escape(text)}</td><td>{html.escape(status)}</td>"
            f"<td>{line.record.duration_seconds:.2f}</td><td>{num('ratio', '.2f')}</td>"
            f"<td>{num('loudness_lufs', '.1f')}</td><td>{num('true_peak_dbtp', '.1f')}</td>"
            f"<td>{take}</td><td>{error}</td><td>{metric(qc_similarity(qc), '.2f')}</td>"
            f"<td>{metric(_float(qc, 'mos'), '.1f')}</td>"
            f"<td>{html.escape(heard) if isinstance(heard, str) else ''}</td>"
            f"<td>{html.escape('; '.join(flags))}</td></tr>")
    page = f"""<!doctype html><meta charset="utf-8"><title>Revoice QC - {html.escape(project.timeline_path.name)}</title>
<style>body{{font:13px sans-serif;background:#1b1c1f;color:#ddd;margin:24px}}table{{border-collapse:collapse}}
td,th{{padding:4px 10px;border-bottom:1px solid #333;text-align:left}}th{{color:#999}}
.flagged td{{color:#f0b43c}}.failed td{{color:#ff6b6b}}.pending td{{color:#888}}</style>
<h1>Revoice QC report</h1><p>{html.escape(str(project.timeline_path))}
{(' + ' + html.escape(str(project.subtitles))) if project.subtitles else ''}</p>
<table><tr><th>Line</th><th>TC in</th><th>Speaker</th><th>Text</th><th>Status</th><th>Slot s</th>
<th>Ratio</th><th>LUFS</th><th>dBTP</th><th>Take</th><th>WER</th><th>Voice sim.</th><th>MOS</th>
<th>ASR heard</th><th>Flags</th></tr>
{''.join(cells)}</table>
{voice_table}"""
    write_text_atomic(project.qc_report_path, page)
    return project.qc_report_path


def _float(qc: Mapping[str, Any] | None, key: str) -> float | None:
    value = qc.get(key) if qc is not None else None
    return float(value) if isinstance(value, (int, float)) else None


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
