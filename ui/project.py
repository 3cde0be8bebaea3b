"""What the panel has open: a :class:`revoice.session.Session` and the panel's own state beside it.

The session reads the timeline and its lines, renders, writes the timeline
and the QC report, and its :class:`revoice.layout.OutputLayout` names every
file; :class:`Project` only adds what the panel needs on top (the EDL frame
rate the editor typed, the speakers) and reads the session's paths under
the names the panel uses. Also here: which renders on disk still match the
lines (:func:`find_renders`, with the job's own Revoicers), export of the
placed takes, and the panel state file (text edits, take picks, emotions).

No widgets here (usable without a display; only :func:`default_out` asks Qt
for the app-data folder). Nothing here writes the inputs.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from revoice.engine.characters.profile import VoiceProfile
from revoice.engine.emotion.labels import Emotion
from revoice.engine.emotion.perform import TEXT_EDITED
from revoice.engine.files import write_text_atomic
from revoice.engine.fit import FitPolicy
from revoice.engine.formats import PANEL_STATE_VERSION
from revoice.engine.model import DialogueLine, LineDuration, RenderedLine, SkippedLine
from revoice.engine.render import RenderSettings, Revoicer, choose_take
from revoice.engine.voices.base import VoiceBackend
from revoice.ui.settings import PanelSettings

from revoice.context import EngineContext
from revoice.options import JobError
from revoice.session import Session, build_revoicers
from revoice.takes import line_takes, with_take


@dataclass(frozen=True)
class Project:
    """An opened timeline (its :class:`Session`) and the frame rate the editor gave an EDL."""

    session: Session
    edit_rate: float | None = None
    """The frame rate typed for an EDL (which stores none); None for every other timeline."""

    @property
    def timeline_path(self) -> Path:
        return self.session.opened.path

    @property
    def subtitles(self) -> Path | None:
        return self.session.opened.subtitles

    @property
    def out(self) -> Path:
        """The working timeline a render writes; renders go to :attr:`media_dir` beside it."""
        return self.session.layout.out

    @property
    def lines(self) -> list[DialogueLine]:
        return self.session.lines

    @property
    def skipped(self) -> list[SkippedLine]:
        return self.session.skipped

    @property
    def warnings(self) -> list[str]:
        return self.session.warnings

    @property
    def rate(self) -> float:
        """The timeline's frame rate (fps)."""
        return self.session.opened.rate

    @property
    def start_frames(self) -> int:
        """The timeline's start timecode in frames."""
        return self.session.opened.start_frames

    @property
    def media_dir(self) -> Path:
        return self.session.layout.media_dir

    @property
    def voices_dir(self) -> Path:
        return self.session.layout.voices_dir

    @property
    def qc_report_path(self) -> Path:
        return self.session.layout.qc_html

    @property
    def state_path(self) -> Path:
        return self.session.layout.panel_state

    @property
    def ab_out(self) -> Path:
        """The working timeline of the A/B comparisons: a folder inside :attr:`media_dir`, so the neutral
        variants render apart from the placed takes (never placed, never exported)."""
        return self.media_dir / "ab_neutral" / self.out.name

    @property
    def speakers(self) -> list[str]:
        return sorted({line.speaker for line in self.lines})

    def timecode(self, frames_from_start: int) -> str:
        return self.session.timecode(frames_from_start)


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


def load_project(timeline_path: Path, subtitles: Path | None, out: Path, *, context: EngineContext,
                 rate: float | None = None) -> Project:
    """Open the timeline and its lines as a run reads them (language "auto"); JobError naming the file."""
    return Project(Session.open(timeline_path, out=out, subtitles=subtitles, rate=rate, context=context),
                   edit_rate=rate)


def render_settings(settings: PanelSettings, *, emotion: Emotion | None = None) -> RenderSettings:
    """The render settings of the panel's runs; ``emotion`` is the run's (an opened job file's), None the default."""
    return RenderSettings(loudness=settings.loudness, true_peak_ceiling_dbtp=settings.true_peak_dbtp,
                          fit=FitPolicy(min_ratio=settings.min_ratio, max_ratio=settings.max_ratio), emotion=emotion)


def find_renders(project: Project, texts: Mapping[str, str], *, voice: VoiceBackend | None,
                 settings: PanelSettings, voices: Mapping[str, str],
                 picks: Mapping[str, int] | None = None,
                 profiles: Sequence[VoiceProfile] = (), emotions: Mapping[str, Emotion] | None = None,
                 durations: Mapping[str, LineDuration] | None = None,
                 run_emotion: Emotion | None = None) -> dict[str, RenderedLine]:
    """Finished renders on disk that match the lines as they are now, with the picked take placed.

    A line counts as rendered when all ``settings.takes`` takes are on disk.
    With a loaded ``voice`` each sidecar's render key must match the key the
    next run computes (text, voice, voice profile, settings, timing, take),
    from the same Revoicers (:func:`revoice.session.build_revoicers`); without
    one the takes must have the current settings, the speaker's chosen voice
    or voice profile (same content key: strength, base voice, tint) and an
    unedited text, emotion and duration. ``profiles`` are the voice profiles the
    next run speaks with (their speakers' lines); ``emotions`` and ``durations``
    the editor's by line id (as the session's edit step applies them) and
    ``run_emotion`` the run's. The placed take is the editor's pick from
    ``picks`` when there is one, else the best-scoring.
    """
    current_settings = render_settings(settings, emotion=run_emotion)
    count = max(1, settings.takes)
    by_name = {profile.name: profile for profile in profiles}
    revoicers = _revoicers(project, voice, current_settings, voices, profiles)
    wanted = json.loads(json.dumps(dataclasses.asdict(current_settings), default=str))
    found: dict[str, RenderedLine] = {}
    for line in project.lines:
        current = _as_edited(line, texts.get(line.line_id, line.text), (emotions or {}).get(line.line_id, line.emotion),
                             (durations or {}).get(line.line_id, line.duration))
        revoicer = revoicers.get(line.language)
        key: Callable[[int], str] | None = None
        if revoicer is not None:
            key = (lambda take, r=revoicer, c=current: r.render_key(c, take))
        elif current is not line:
            continue
        takes = line_takes(project.media_dir, line, count, key)
        if takes is None:
            continue
        voice_id = voices.get(line.speaker)
        profile = by_name.get(line.speaker) if voice_id is None else None
        if revoicer is None and any(t.settings != wanted or (voice_id is not None and t.voice_id != voice_id)
                                    or _profile_key(t) != (profile.key if profile is not None else None)
                                    for t in takes):
            continue
        found[line.line_id] = choose_take(takes, prefer=(picks or {}).get(line.line_id))
    return found


def _as_edited(line: DialogueLine, text: str, emotion: Emotion | None, duration: LineDuration | None) -> DialogueLine:
    """``line`` as the session's edit step makes it (an edited text no longer says the take's words)."""
    if (text, emotion, duration) == (line.text, line.emotion, line.duration):
        return line
    metadata = dict(line.metadata, **{TEXT_EDITED: True}) if text != line.text else line.metadata
    return dataclasses.replace(line, text=text, emotion=emotion, duration=duration, metadata=metadata)


def _revoicers(project: Project, voice: VoiceBackend | None, settings: RenderSettings, voices: Mapping[str, str],
               profiles: Sequence[VoiceProfile]) -> dict[str, Revoicer]:
    """The Revoicers the next run would use (for render keys), one per language; none without a loaded voice."""
    if voice is None:
        return {}
    try:
        options = project.session.options(speaker_voices=dict(voices), settings=settings)
        return build_revoicers(options, {line.language: voice for line in project.lines}, profiles, lines=project.lines)
    except (JobError, ValueError):
        return {}


def _profile_key(render: RenderedLine) -> str | None:
    """The content key of the voice profile a take was spoken with (None: a stock voice)."""
    facts = render.report.voice_profile
    key = facts.key if facts is not None else None
    return key if isinstance(key, str) else None


# --- export ------------------------------------------------------------------------------------------------------

def export_timeline(project: Project, target: Path, renders: Mapping[str, RenderedLine],
                    texts: Mapping[str, str], picks: Mapping[str, int] | None = None) -> list[str]:
    """Write the timeline plus one ``Revoice - <speaker>`` track per speaker through the session; its warnings.

    Each line's clip is placed with the editor's pick from ``picks`` (else
    the render's take), rebuilt from the take sidecars beside its render,
    and lists every take in its metadata. Raises ValueError (a take's file
    gone) or JobError (nothing rendered, bad target, writer refusal).
    """
    placed: dict[str, RenderedLine] = {}
    for line_id, render in renders.items():
        chosen = with_take(render, (picks or {}).get(line_id, render.take))
        if chosen is None:
            raise ValueError(f"{line_id}: a take's WAV or sidecar beside {render.path.name} is gone; "
                             "revoice the line again")
        placed[line_id] = chosen
    known = len(project.session.warnings)
    project.session.write([target], renders=placed, texts=texts)
    return project.session.warnings[known:]


# --- text edits and take picks --------------------------------------------------------------------------------

@dataclass
class PanelState:
    """What the panel keeps per project beside the work files (``<stem>_panel.json``)."""

    text_edits: dict[str, str] = field(default_factory=dict)
    """Edited text by line id (lines whose original text is unchanged)."""
    take_picks: dict[str, int] = field(default_factory=dict)
    """The editor's take by line id (for the text it was picked for)."""
    emotions: dict[str, Emotion] = field(default_factory=dict)
    """The editor's emotion by line id (the panel's emotion control, an opened job file)."""


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
    emotions = data.get("emotions", {})
    for line_id, entry in emotions.items() if isinstance(emotions, dict) else ():
        try:
            emotion = Emotion.from_json(entry)
        except (TypeError, ValueError):
            continue  # an entry this version cannot read: the line's own emotion applies
        if line_id in by_id:
            state.emotions[line_id] = emotion
    return state


def save_panel_state(project: Project, texts: Mapping[str, str], picks: Mapping[str, int],
                     emotions: Mapping[str, Emotion] | None = None) -> None:
    """Save the edits, take picks and emotions (atomically) so closing the panel loses nothing."""
    by_id = {line.line_id: line for line in project.lines}
    edits = {line_id: {"original": by_id[line_id].text, "edited": text}
             for line_id, text in sorted(texts.items()) if line_id in by_id and text != by_id[line_id].text}
    chosen = {line_id: {"take": take, "text": texts.get(line_id, by_id[line_id].text)}
              for line_id, take in sorted(picks.items()) if line_id in by_id}
    data = {"version": PANEL_STATE_VERSION, "timeline": str(project.timeline_path),
            "subtitles": str(project.subtitles) if project.subtitles else None, "text_edits": edits,
            "take_picks": chosen,
            "emotions": {line_id: emotion.to_json() for line_id, emotion in sorted((emotions or {}).items())
                         if line_id in by_id}}
    write_text_atomic(project.state_path, json.dumps(data, indent=1))


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
