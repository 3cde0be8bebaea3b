"""Job files: one reel's revoicing job in YAML or JSON (``revoice run --job reel.yaml``, ``--write-job``).

A job names the timeline (and subtitles, and where the result goes), the run's
emotion and, per line id, the director's changes: new text, the expected
speaker, a recording of the character's voice, the emotion and the duration
mode. The schema and the error format are in ``docs/job-format.md``::

    revoice_job: 1
    timeline: reel1.otio
    lines:
      - id: L0003
        text: "Give me the keys."
        emotion: {method: label, label: angry, intensity: 0.8}

* :func:`read_job` reads a file into a :class:`ReelJob` (frozen records); a bad
  entry raises :class:`~revoice.otio_bridge.errors.InputError` naming the file,
  the line in it and the field (``reel.yaml:14: lines[2].emotion.intensity: 1.7
  must be from 0 to 1``); unknown fields are errors, so typos are never silent.
* :func:`check_job_lines` holds a job against the timeline's lines (unknown ids,
  another speaker); :func:`apply_job` turns it into a run's
  :class:`~revoice.options.JobOptions`.
* :func:`job_from_lines` and :func:`write_job` write one (atomic; never over an input).
* :func:`reference_profiles` turns ``speaker_reference`` recordings into voice profiles.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from revoice.engine.emotion.labels import LABELS, METHODS, Emotion, parse_emotion
from revoice.engine.files import write_text_atomic
from revoice.engine.formats import JOB_FORMAT_VERSION
from revoice.engine.model import DialogueLine, LineDuration
from revoice.jobfile_source import Document, Location, kind, load_document
from revoice.otio_bridge.errors import InputError

if TYPE_CHECKING:
    from revoice.engine.speaker import SpeakerEmbedder
    from revoice.options import JobOptions

JOB_SUFFIXES = (".yaml", ".yml", ".json")
"""A job file's suffix picks its syntax: YAML (``.yaml``, ``.yml``) or JSON (``.json``), one schema."""
JOB_SOURCE = "job file"
"""The ``source`` of every emotion a job file asks for (the report says where an emotion came from)."""

_TOP_FIELDS = ("revoice_job", "timeline", "subtitles", "out", "emotion", "lines")
_LINE_FIELDS = ("id", "text", "speaker", "speaker_reference", "emotion", "duration")
_EMOTION_FIELDS = {"neutral": (), "original": ("strength",), "reference": ("reference", "strength"),
                   "label": ("label", "intensity", "description"), "description": ("description", "intensity")}
"""The fields an emotion object may hold besides ``method``, by method (``description`` is read as a label)."""
_EMOTION_FORMS = ("Write original, original:0.6, neutral, a label such as angry:0.7, a description in quotes, "
                  "or an object such as {method: label, label: angry, intensity: 0.7}")


@dataclass(frozen=True)
class LineJob:
    """What a job asks of one line (matched by id, as the timeline's lines are numbered: L0001, L0002...)."""

    line_id: str
    text: str | None = None
    """The line's new text (the director's change); None keeps the timeline's."""
    speaker: str | None = None
    """The speaker the job expects; another speaker on the timeline is an error (the job is of another cut)."""
    speaker_reference: Path | None = None
    """A recording of the character's voice (absolute): the character's voice profile is built from it."""
    emotion: Emotion | None = None
    """The line's emotion (source ``job file``); None: the run's."""
    duration: LineDuration | None = None
    """Fitted to the original take, or free with a ratio; None: fitted."""
    at: int | None = field(default=None, compare=False)
    """The entry's line number in the job file it was read from (for messages)."""


@dataclass(frozen=True)
class ReelJob:
    """One reel's job: its files (absolute paths), the run's emotion and the per-line entries."""

    timeline: Path
    subtitles: Path | None = None
    out: Path | None = None
    """The revoiced timeline to write; ``--out`` on the command line wins."""
    emotion: Emotion | None = None
    """The run's emotion (source ``job file``); ``--emotion`` on the command line wins."""
    lines: tuple[LineJob, ...] = ()
    path: Path | None = field(default=None, compare=False)
    """The file this job was read from (for messages)."""

    def entry_name(self, index: int) -> str:
        """Where ``lines[index]`` is, for messages: ``reel.yaml:14: lines[2]``."""
        entry = self.lines[index]
        where = f"{self.path}:{entry.at}" if self.path is not None and entry.at else str(self.path or "job")
        return f"{where}: lines[{index}]"


# --- reading --------------------------------------------------------------------------------------------------

def read_job(path: str | os.PathLike[str]) -> ReelJob:
    """Read a job file (``.yaml``/``.yml``/``.json``); InputError (file:line: field: what is wrong) on a bad entry.

    Relative paths in it are relative to the job file's folder; the timeline, subtitles and
    recordings it names must exist.
    """
    doc = load_document(Path(path), suffixes=JOB_SUFFIXES)
    if doc.data is None:
        raise doc.error((), f"empty: not a Revoice job; start it with 'revoice_job: {JOB_FORMAT_VERSION}'")
    top = doc.mapping((), doc.data, _TOP_FIELDS, "a job (an object of fields)")
    if "revoice_job" not in top:
        raise doc.error((), f"not a Revoice job: it needs 'revoice_job: {JOB_FORMAT_VERSION}' at the top")
    version = top["revoice_job"]
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise doc.error(("revoice_job",), f"{version!r} is not a format version; write {JOB_FORMAT_VERSION}")
    if version > JOB_FORMAT_VERSION:
        raise doc.error(("revoice_job",), f"format {version} is newer than this Revoice reads "
                        f"({JOB_FORMAT_VERSION})", "Update Revoice, or write the job again with --write-job")
    if "timeline" not in top:
        raise doc.error((), "the job names no timeline; add 'timeline: FILE'")
    entries = top.get("lines", [])
    if not isinstance(entries, list):
        raise doc.error(("lines",), f"{kind(entries)} where a list of line entries belongs "
                        "(each starting '- id: L0001')")
    lines = tuple(_line(doc, ("lines", index), entry) for index, entry in enumerate(entries))
    seen: dict[str, int] = {}
    for index, line in enumerate(lines):
        if line.line_id in seen:
            raise doc.error(("lines", index, "id"), f"{line.line_id} is given twice (also lines[{seen[line.line_id]}], "
                            f"line {lines[seen[line.line_id]].at})", "Merge the two entries")
        seen[line.line_id] = index
    return ReelJob(
        timeline=doc.file_path(("timeline",), top["timeline"], must_exist=True),
        subtitles=doc.file_path(("subtitles",), top["subtitles"], must_exist=True) if "subtitles" in top else None,
        out=doc.file_path(("out",), top["out"], must_exist=False) if "out" in top else None,
        emotion=_emotion(doc, ("emotion",), top["emotion"]) if "emotion" in top else None,
        lines=lines, path=doc.path)


def _line(doc: Document, loc: Location, value: Any) -> LineJob:
    entry = doc.mapping(loc, value, _LINE_FIELDS, "a line entry (id, text, emotion...)")
    if "id" not in entry:
        raise doc.error(loc, "the entry has no id; start it with '- id: L0001' (the timeline's line id)")
    return LineJob(
        line_id=doc.text((*loc, "id"), entry["id"]),
        text=doc.text((*loc, "text"), entry["text"]) if "text" in entry else None,
        speaker=doc.text((*loc, "speaker"), entry["speaker"]) if "speaker" in entry else None,
        speaker_reference=(doc.file_path((*loc, "speaker_reference"), entry["speaker_reference"], must_exist=True)
                           if "speaker_reference" in entry else None),
        emotion=_emotion(doc, (*loc, "emotion"), entry["emotion"]) if "emotion" in entry else None,
        duration=_duration(doc, (*loc, "duration"), entry["duration"]) if "duration" in entry else None,
        at=doc.line_of(loc))


def _emotion(doc: Document, loc: Location, value: Any) -> Emotion:
    """An emotion written as a word (``angry:0.7``, a description) or as an object with a ``method``."""
    if isinstance(value, str):
        try:
            emotion = parse_emotion(value, source=JOB_SOURCE)
        except ValueError as exc:
            raise doc.error(loc, str(exc)) from None
        if emotion.method == "reference":
            emotion = dataclasses.replace(emotion, reference=str(doc.file_path(loc, emotion.reference, must_exist=True)))
        return emotion
    methods = (*METHODS, "description")
    data = doc.mapping(loc, value, ("method", *sorted({f for fs in _EMOTION_FIELDS.values() for f in fs})),
                    "an emotion", _EMOTION_FORMS)
    method = data.get("method")
    if not isinstance(method, str) or method not in methods:
        where = (*loc, "method") if "method" in data else loc
        raise doc.error(where, f"{'no method' if method is None else repr(method) + ' is not a method'}; "
                        f"use one of {', '.join(methods)}")
    allowed = _EMOTION_FIELDS[method]
    for name in data:
        if name != "method" and name not in allowed:
            raise doc.error((*loc, name), f"does not go with method {method}; "
                            f"{'it takes ' + ', '.join(allowed) if allowed else 'it takes no other field'}")
    intensity = doc.number((*loc, "intensity"), data["intensity"], 0.0, 1.0) if "intensity" in data else None
    strength = doc.number((*loc, "strength"), data.get("strength", 1.0), 0.0, 1.0)
    if method == "neutral":
        return Emotion(source=JOB_SOURCE)
    if method == "original":
        return Emotion(method="original", strength=strength, source=JOB_SOURCE)
    if method == "reference":
        if "reference" not in data:
            raise doc.error(loc, "method reference needs 'reference: FILE' (a recording of the performance)")
        reference = doc.file_path((*loc, "reference"), data["reference"], must_exist=True)
        return Emotion(method="reference", reference=str(reference), strength=strength, source=JOB_SOURCE)
    description = doc.text((*loc, "description"), data["description"]) if "description" in data else ""
    if method == "description":
        if not description:
            raise doc.error(loc, "method description needs 'description: WORDS', e.g. 'angrily, voice shaking'")
        emotion = _emotion(doc, (*loc, "description"), description)
        return emotion if intensity is None or emotion.method != "label" else dataclasses.replace(
            emotion, intensity=intensity)
    label = data.get("label")
    if label is None:
        raise doc.error(loc, f"method label needs 'label: NAME', one of {', '.join(LABELS)}")
    if not isinstance(label, str) or label not in LABELS:
        raise doc.error((*loc, "label"), f"{label!r} is not a label; use one of {', '.join(LABELS)}",
                        "Or write the feeling as a description: {method: description, description: ...}")
    return Emotion(method="label", label=label, intensity=1.0 if intensity is None else intensity,
                   description=description, source=JOB_SOURCE)


def _duration(doc: Document, loc: Location, value: Any) -> LineDuration:
    data = doc.mapping(loc, value, ("mode", "ratio"), "a duration: {mode: fit} or {mode: free, ratio: 1.1}")
    mode = data.get("mode")
    if mode not in ("fit", "free"):
        raise doc.error((*loc, "mode") if "mode" in data else loc,
                        f"{'no mode' if mode is None else repr(mode) + ' is not a mode'}; use fit (the original "
                        "take's length) or free (the voice's own pace, with an optional ratio)")
    if mode == "fit":
        if "ratio" in data:
            raise doc.error((*loc, "ratio"), "a ratio goes with mode free; mode fit takes the original's length")
        return LineDuration(mode="fit")
    return LineDuration(mode="free", ratio=doc.number((*loc, "ratio"), data.get("ratio", 1.0), 0.5, 2.0))


# --- the timeline's lines and the run -------------------------------------------------------------------------

def check_job_lines(job: ReelJob, lines: Sequence[DialogueLine]) -> None:
    """InputError at the entry when a job's line id is not on the timeline, or the timeline gives it another speaker.

    Ids number the lines in timeline order: a re-cut renumbers them, so an entry whose
    speaker no longer matches is refused rather than applied to the wrong line.
    """
    by_id = {line.line_id: line for line in lines}
    span = f"{lines[0].line_id}-{lines[-1].line_id}" if lines else "none"
    for index, entry in enumerate(job.lines):
        line = by_id.get(entry.line_id)
        if line is None:
            raise InputError(job.path, entry.at, f"lines[{index}].id: no line {entry.line_id} in "
                             f"{job.subtitles or job.timeline} (its lines: {span})",
                             "Write the job again with --write-job after a re-cut")
        if entry.speaker is not None and entry.speaker != line.speaker:
            raise InputError(job.path, entry.at, f"lines[{index}].speaker: {entry.speaker}, but the timeline's "
                             f"{entry.line_id} is spoken by {line.speaker} ({line.origin or 'timeline'})",
                             "The job may be of another cut; fix the id or write the job again with --write-job")


def apply_job(job: ReelJob, options: JobOptions) -> JobOptions:
    """``options`` with the job's per-line text, emotion and duration; the job's emotion where the run has none.

    The job's entries win over the options' own overrides for the same line; the
    options' run-level emotion (``--emotion``) wins over the job's.
    """
    settings = options.settings
    if settings.emotion is None and job.emotion is not None:
        settings = dataclasses.replace(settings, emotion=job.emotion)
    return dataclasses.replace(
        options, settings=settings,
        text_overrides={**options.text_overrides, **{e.line_id: e.text for e in job.lines if e.text is not None}},
        emotion_overrides={**options.emotion_overrides,
                           **{e.line_id: e.emotion for e in job.lines if e.emotion is not None}},
        duration_overrides={**options.duration_overrides,
                            **{e.line_id: e.duration for e in job.lines if e.duration is not None}})


def reference_profiles(job: ReelJob, lines: Sequence[DialogueLine], *, voices_dir: Path,
                       embedder: Callable[[], SpeakerEmbedder]) -> list[str]:
    """Build a voice profile (editor-supplied, not matched yet) per speaker from the job's ``speaker_reference``s.

    Saved in ``voices_dir``, where the run's profile step reuses it and matches a voice
    to it. A profile already built from the same recordings is kept; another is rebuilt,
    keeping its consent and strength. Returns one status line per profile.
    """
    from revoice.engine.characters.build import build_profile
    from revoice.engine.characters.profile import ProfileStore
    from revoice.engine.characters.references import editor_references
    from revoice.engine.original import MediaError

    speaker_of = {line.line_id: line.speaker for line in lines}
    wanted: dict[str, list[Path]] = {}
    for entry in job.lines:
        if entry.speaker_reference is not None:
            files = wanted.setdefault(entry.speaker or speaker_of.get(entry.line_id, entry.line_id), [])
            if entry.speaker_reference not in files:
                files.append(entry.speaker_reference)
    store = ProfileStore(voices_dir)
    said: list[str] = []
    for speaker, files in wanted.items():
        stored = store.get(speaker)
        if stored is not None and stored.editor_supplied and {r.path for r in stored.references} <= {
                str(f.resolve()) for f in files}:
            continue
        try:
            reference = editor_references([(f, 0.0, None) for f in files])
            profile = build_profile(speaker, reference, embedder=embedder(),
                                    consent=stored.consent if stored else None,
                                    strength=stored.strength if stored else 1.0)
        except (MediaError, ValueError) as exc:
            raise InputError(job.path, None, f"speaker_reference of {speaker}: {exc}") from None
        store.save(profile)
        said.append(f"voice profile {speaker}: built from the job's speaker_reference "
                    f"({', '.join(f.name for f in files)})")
    return said


# --- writing --------------------------------------------------------------------------------------------------

def job_from_lines(lines: Sequence[DialogueLine], *, timeline: Path, subtitles: Path | None = None,
                   out: Path | None = None, emotion: Emotion | None = None) -> ReelJob:
    """The job ``--write-job`` writes: every line with its id, text, speaker and its own emotion and duration."""
    return ReelJob(timeline=timeline.absolute(), subtitles=subtitles.absolute() if subtitles else None,
                   out=out.absolute() if out else None, emotion=emotion,
                   lines=tuple(LineJob(line_id=line.line_id, text=line.text, speaker=line.speaker,
                                       emotion=line.emotion, duration=line.duration) for line in lines))


def write_job(path: str | os.PathLike[str], job: ReelJob) -> None:
    """Write ``job`` to ``path`` (YAML or JSON by suffix) atomically; ValueError when ``path`` is one of its inputs.

    Paths are written relative to ``path``'s folder where they can be.
    """
    target = Path(path)
    if target.suffix.lower() not in JOB_SUFFIXES:
        raise ValueError(f"{target}: a job file ends in {', '.join(JOB_SUFFIXES)}")
    inputs = [job.timeline, job.subtitles, *(e.speaker_reference for e in job.lines),
              *(Path(e.reference) for e in (job.emotion, *(e.emotion for e in job.lines)) if e and e.reference)]
    for used in inputs:
        if used is not None and target.exists() and used.exists() and target.resolve() == used.resolve():
            raise ValueError(f"{target} is an input of the job; choose another name so nothing is overwritten")
    folder = target.absolute().parent
    data = job_data(job, folder=folder)
    if target.suffix.lower() == ".json":
        text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    else:
        text = "# Revoice job (docs/job-format.md); relative paths start from this file's folder.\n" + _yaml_text(data)
    write_text_atomic(target, text)


class _Inline(dict[str, Any]):
    """An object written on one line in YAML (``{method: label, label: angry, intensity: 0.8}``)."""


def _yaml_text(data: dict[str, Any]) -> str:
    """``data`` as block YAML, with emotions and durations inline."""
    yaml = importlib.import_module("yaml")
    dumper: Any = type("JobDumper", (yaml.SafeDumper,), {})
    dumper.add_representer(_Inline, lambda dump, value: dump.represent_mapping(
        "tag:yaml.org,2002:map", dict(value), flow_style=True))
    return str(yaml.dump(data, Dumper=dumper, sort_keys=False, allow_unicode=True, default_flow_style=False,
                         width=4096))


def job_data(job: ReelJob, *, folder: Path) -> dict[str, Any]:
    """``job`` as the job file's JSON/YAML object, with paths relative to ``folder`` where they can be."""
    data: dict[str, Any] = {"revoice_job": JOB_FORMAT_VERSION, "timeline": _relative(job.timeline, folder)}
    if job.subtitles is not None:
        data["subtitles"] = _relative(job.subtitles, folder)
    if job.out is not None:
        data["out"] = _relative(job.out, folder)
    if job.emotion is not None:
        data["emotion"] = _emotion_data(job.emotion, folder)
    if job.lines:
        data["lines"] = [_line_data(entry, folder) for entry in job.lines]
    return data


def _line_data(entry: LineJob, folder: Path) -> dict[str, Any]:
    data: dict[str, Any] = {"id": entry.line_id}
    for name in ("text", "speaker"):
        if getattr(entry, name) is not None:
            data[name] = getattr(entry, name)
    if entry.speaker_reference is not None:
        data["speaker_reference"] = _relative(entry.speaker_reference, folder)
    if entry.emotion is not None:
        data["emotion"] = _emotion_data(entry.emotion, folder)
    if entry.duration is not None:
        data["duration"] = _Inline({"mode": "fit"} if entry.duration.mode == "fit"
                                   else {"mode": "free", "ratio": float(entry.duration.ratio)})
    return data


def _emotion_data(emotion: Emotion, folder: Path) -> dict[str, Any]:
    """The object form, with only the fields that go with the method."""
    data = _Inline(method=emotion.method)
    if emotion.method == "label":
        data.update(label=emotion.label, intensity=float(emotion.intensity))
        if emotion.description:
            data["description"] = emotion.description
    elif emotion.method in ("original", "reference"):
        if emotion.method == "reference":
            data["reference"] = _relative(Path(emotion.reference), folder)
        data["strength"] = float(emotion.strength)
    return data


def _relative(path: Path, folder: Path) -> str:
    """``path`` relative to ``folder`` when it is inside it or beside it (at most one ``..``), else absolute."""
    try:
        relative = Path(os.path.relpath(path.absolute(), folder))
    except ValueError:  # another drive (Windows)
        return str(path.absolute())
    return relative.as_posix() if relative.parts[:2].count("..") < 2 else str(path.absolute())
