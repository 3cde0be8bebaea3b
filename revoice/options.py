"""A job's options, checked up front: what the CLI's flags, the panel's settings and the service's
requests all become before anything is read or loaded.

Every check raises ``ValueError`` with the one-line message the CLI prints
(naming the option); :class:`JobError` carries a message and the exit code.
"""

from __future__ import annotations

import argparse
import errno
import hashlib
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from revoice.engine.emotion.labels import Emotion
from revoice.engine.fit import FitPolicy
from revoice.engine.model import DialogueLine, LineDuration
from revoice.engine.render import RenderSettings
from revoice.engine.voices.base import BackendOptions
from revoice.layout import TIMELINE_SUFFIXES, OutputLayout
from revoice.otio_bridge.errors import InputError

if TYPE_CHECKING:
    from revoice.engine.characters.profile import Consent


def parse_subtitle_offset(text: str) -> str | float:
    """``--subs-offset``: ``auto``, ``zero``, ``timeline`` or seconds (ValueError naming the option)."""
    if text in ("auto", "zero", "timeline"):
        return text
    try:
        seconds = float(text)
    except ValueError:
        raise ValueError(f"--subs-offset {text!r}: use auto, zero, timeline or seconds") from None
    if not math.isfinite(seconds):
        raise ValueError(f"--subs-offset {text!r}: use auto, zero, timeline or a finite number of seconds")
    return seconds


def unwritable_folder(out: Path) -> Path | None:
    """The folder that stops ``out`` (and the files beside it) from being written, or None when it can be.

    That is ``out``'s folder, or when it does not exist yet its nearest existing parent, in which
    it would be created. A check up front (``os.access``), so a read-only folder is refused before
    any model loads; a write that still fails later (root, network shares) becomes the CLI's one-line
    message all the same.
    """
    folder = out.absolute().parent
    while not folder.exists() and folder.parent != folder:
        folder = folder.parent
    return None if os.access(folder, os.W_OK | os.X_OK) else folder


class JobError(Exception):
    """A job that cannot start or finish; ``str()`` is the one-line message, ``exit_code`` the CLI's.

    Raised ``from`` the bad file's :class:`~revoice.otio_bridge.errors.InputError` when there is one
    (:attr:`input_error`: file, line and hint for the panel's dialog).
    """

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code

    @property
    def input_error(self) -> InputError | None:
        """The bad input file's error this job error came from, if any."""
        cause = self.__cause__
        return cause if isinstance(cause, InputError) else None


def describe_os_error(exc: OSError, *, folder: Path | None = None) -> str:
    """One line for a file a job could not read or write (no traceback): the path, the reason, what to do.

    ``folder`` is named when the error carries no path (a write that failed on a full disk). The CLI
    prints it with exit 2; the panel and the service can show the same line.
    """
    path = exc.filename2 if exc.filename2 is not None else exc.filename
    where = str(path) if path is not None else (f"cannot write in {folder}" if folder else "")
    reason = exc.strerror or str(exc) or type(exc).__name__
    hints = {errno.ENOSPC: "free some disk space", errno.EDQUOT: "free some space in your disk quota",
             errno.EACCES: "choose a folder you can write to (--out) or fix its permissions",
             errno.EPERM: "choose a folder you can write to (--out) or fix its permissions",
             errno.EROFS: "choose a folder on a writable disk (--out)"}
    hint = hints.get(exc.errno or 0, "fix the problem and run again")
    return f"{where + ': ' if where else ''}{reason}; {hint}"


EMOTION_FORMS = ("original[:STRENGTH], neutral, LABEL[:INTENSITY] (intensity 0-1; labels: "
                 "happy, sad, angry, afraid, surprised, disgusted, calm, whisper), reference:FILE, "
                 "or a description in quotes such as 'angrily, voice shaking'")
"""What ``--emotion`` accepts, for its help and its error message."""


def emotion_option(text: str | None) -> Emotion | None:
    """``--emotion``: the run's emotion (source ``CLI``), None when not given; ValueError naming the option."""
    if text is None:
        return None
    from revoice.engine.emotion.labels import parse_emotion

    try:
        emotion = parse_emotion(text, source="CLI")
    except ValueError as exc:
        raise ValueError(f"--emotion: {exc}") from None
    if emotion.method == "reference" and not Path(emotion.reference).is_file():
        raise ValueError(f"--emotion {text!r}: {emotion.reference}: no such file (a recording of the performance)")
    return emotion


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` (1-based) of ``count``: a stable split of the lines by id."""

    index: int = 1
    count: int = 1

    @classmethod
    def parse(cls, text: str) -> Shard:
        try:
            index_text, count_text = text.split("/")
            shard = cls(int(index_text), int(count_text))
        except ValueError:
            raise ValueError(f"--shard {text!r}: write it as I/N, e.g. 2/4") from None
        if not 1 <= shard.index <= shard.count:
            raise ValueError(f"--shard {text!r}: I must be between 1 and N")
        return shard

    def owns(self, line: DialogueLine) -> bool:
        digest = hashlib.sha256(line.line_id.encode()).digest()
        return int.from_bytes(digest[:4], "little") % self.count == self.index - 1


EXECUTORS = ("auto", "local", "processes", "ray")
"""``--executor`` choices (revoice.executor); "auto" is the CLI's default (see :attr:`JobOptions.executor`)."""

AUTO_WORKERS_FROM = 8
"""With ``--executor auto``: lines still to render from which worker processes start (each one's start, about
3 s of imports and model loads, pays for itself after a few lines); fewer render in this process."""

SYNTHESIS_THREADS = 1
"""Math threads of each voice model (ONNX Runtime intra-op). ONNX Runtime splits some kernels by its thread
count, which changes the last bits of the samples (up to 1e-5 with piper, enough to change 24-bit WAVs), so
every process, the single one and each ``--jobs`` worker, synthesizes with the same count: one, so N workers
fill N cores without oversubscribing them."""


def check_executor(executor: str, jobs: int | None, ray_address: str | None) -> None:
    """``--executor``, ``--jobs`` and ``--ray-address`` together; ValueError naming the option."""
    if executor not in EXECUTORS:
        raise ValueError(f"--executor {executor!r}: use {', '.join(EXECUTORS)}")
    if jobs is not None and not 1 <= jobs <= 1024:
        raise ValueError(f"--jobs {jobs}: use 1 to 1024 (lines rendered at once)")
    if executor == "local" and jobs not in (None, 1):
        raise ValueError(f"--jobs {jobs}: the local executor renders one line at a time; "
                         "use --executor processes (this machine) or ray")
    if ray_address is not None:
        if executor != "ray":
            raise ValueError("--ray-address: only with --executor ray")
        if not ray_address.strip() or any(c.isspace() for c in ray_address):
            raise ValueError(f"--ray-address {ray_address!r}: use ray://HOST:10001 (or auto, or HOST:6379)")
    if executor == "ray":
        import importlib.util

        if importlib.util.find_spec("ray") is None:
            raise ValueError("--executor ray: Ray is not installed; pip install 'revoice[ray]'")


NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
"""A backend's or converter's registry name (``f5``, ``openvoice``)."""
CONVERT_CHOICES = ("auto", "off")


def check_convert(convert: str | None) -> None:
    """``--convert``: None, "auto", "off" or a converter's name (ValueError naming the option)."""
    if convert is not None and (not isinstance(convert, str) or not NAME_PATTERN.fullmatch(convert)):
        raise ValueError(f"--convert {convert!r}: give auto, off or a voice converter's name (see 'revoice voices')")


def weights_option(values: str | list[str] | None) -> tuple[Path | None, dict[str, Path]]:
    """``--weights`` (repeatable): ``DIR`` (the run's backend) and ``NAME=DIR`` (one backend or converter).

    An existing folder whose name holds "=" is a DIR; ValueError for two plain folders.
    """
    items = [values] if isinstance(values, str) else list(values or ())
    plain: list[Path] = []
    named: dict[str, Path] = {}
    for item in items:
        name, sep, folder = item.partition("=")
        if sep and NAME_PATTERN.fullmatch(name) and folder and not Path(item).is_dir():
            named[name] = Path(folder)
        else:
            plain.append(Path(item))
    if len(plain) > 1:
        raise ValueError(f"--weights: one folder for the run's backend ({', '.join(map(str, plain))} given); "
                         "name the others, e.g. --weights openvoice=DIR")
    return (plain[0] if plain else None), named


def executor_args(args: argparse.Namespace) -> tuple[str, int | None, str | None]:
    """``(executor, jobs, ray_address)`` from the CLI's ``--executor``, ``--jobs`` and ``--ray-address``.

    ``--jobs N`` (N > 1) alone means worker processes on this machine, ``--jobs 1`` this process only,
    and neither "auto": this machine's CPUs when a run has :data:`AUTO_WORKERS_FROM` lines or more to render.
    """
    jobs: int | None = getattr(args, "jobs", None)
    executor = str(getattr(args, "executor", None)
                   or ("processes" if jobs is not None and jobs > 1 else "local" if jobs == 1 else "auto"))
    address: str | None = getattr(args, "ray_address", None)
    return executor, jobs, address


@dataclass(frozen=True)
class JobOptions:
    timeline: Path
    out: Path
    subtitles: Path | None = None
    subtitle_offset: str | float = "auto"
    rate: float | None = None
    language: str = "auto"
    """Language of the lines, or "auto": Mandarin for lines with Han characters, else English."""
    backend: str | None = None
    weights: Path | None = None
    """Local weights folder for a backend that loads user-supplied models (``--backend f5 --weights DIR``)."""
    device: str = "cpu"
    speaker_voices: dict[str, str] = field(default_factory=dict)
    settings: RenderSettings = field(default_factory=RenderSettings)
    shard: Shard = field(default_factory=Shard)
    also: tuple[str, ...] = ()
    bundle_media: bool = False
    """An .otioz also bundles the timeline's other local media; by default only Revoice's own WAVs."""
    line_ids: frozenset[str] | None = None
    """Render only these lines (the panel's selection); None renders all."""
    dictionary: Path | None = None
    """The project's pronunciation dictionary (word -> pinyin), used by the Mandarin voice."""
    takes: int = 1
    """Takes rendered per line; with QC on the best-scoring one is placed."""
    qc: bool = False
    """Meter every take (ASR, naturalness, voice similarity, loudness, sync) and write the QC report."""
    take_overrides: dict[str, int] = field(default_factory=dict)
    """The editor's take per line id (the panel's takes chooser); others get the best-scoring take."""
    text_overrides: dict[str, str] = field(default_factory=dict)
    """Edited text by line id (the panel's edits), applied after the lines are read."""
    emotion_overrides: dict[str, Emotion] = field(default_factory=dict)
    """Emotion by line id (the panel's per-line control, a job file), over the line's own request."""
    duration_overrides: dict[str, LineDuration] = field(default_factory=dict)
    """Duration mode by line id (a job file)."""
    profiles: str = "off"
    """Voice profiles: "auto" (built from the original dialogue when it can be read, kept in
    :attr:`voices_dir`), "off" (stock voices), or a folder of profiles to use and keep. The CLI
    defaults to "auto"; library callers (the panel) opt in."""
    group_speakers: bool = False
    """Regroup every line by the voice of its original audio (unnamed lines are always grouped)."""
    match_voices: tuple[str, ...] = ()
    """"backend:voice" base voices that voice matching may choose from (empty: every available voice)."""
    match_sentences: tuple[str, ...] = ()
    """What candidate voices say while matching (empty: engine.characters.matching's defaults per language)."""
    allow_overflow_seconds: float = 0.0
    """Slots may grow into the free gap after them by this much (s); 0 keeps every slot as cut."""
    consent: Consent | None = None
    """Consent recorded in every voice profile the run builds or uses (``--consent granted --by NAME``),
    never over a recorded denial; None records nothing (see revoice.casting.prepare_profiles)."""
    executor: str = "local"
    """Where lines render: "local" (this process), "processes" (:attr:`jobs` worker processes on this
    machine), "ray" (Ray workers: a local cluster, or :attr:`ray_address`; see revoice.executor) or "auto"
    (the CLI's default: "processes" on this machine's CPUs when :data:`AUTO_WORKERS_FROM` lines or more are
    still to render and the run is not one of several shards, else "local"; the WAVs are the same)."""
    jobs: int | None = None
    """Lines rendered at once (``--jobs``): None is 1 for "local", this machine's CPUs for "processes",
    the cluster's CPUs for "ray"."""
    ray_address: str | None = None
    """``--ray-address``: a running Ray cluster (``ray://host:10001``); None starts a local one."""
    prune: bool = False
    """``--prune``: once the timeline is written, delete the renders in the media folder that no line uses
    any more (superseded by edits, deleted cues or fewer takes); without it they are only listed."""
    commercial: bool = field(default=False, kw_only=True)
    """``--commercial``: only voices whose weights' licence allows commercial use (``BackendSpec.commercial_use``)
    are chosen, matched or loaded; a named one that does not is refused with its reason (exit 3)."""
    convert: str | None = field(default=None, kw_only=True)
    """``--convert [NAME]``: every voice profile's tint is then converted to the actor's reference timbre by the
    voice converter NAME ("auto": the first that fits; revoice.engine.conversion), and the profiles become kind
    "convert"; "off" renders convert profiles as plain tints this run; None: as each profile says."""
    named_weights: dict[str, Path] = field(default_factory=dict, kw_only=True)
    """``--weights NAME=DIR``: a local weights folder per backend or converter (``openvoice=DIR``)."""

    def __post_init__(self) -> None:
        if self.out.suffix.lower() not in TIMELINE_SUFFIXES:
            raise ValueError(f"--out {self.out}: use a name ending in {', '.join(TIMELINE_SUFFIXES)}")
        for path in self.inputs:
            if path.exists() and self.out.exists() and path.resolve() == self.out.resolve():
                raise ValueError(f"--out {self.out} is an input file; choose another name so nothing is overwritten")
        if isinstance(self.subtitle_offset, float) and not math.isfinite(self.subtitle_offset):
            raise ValueError(f"--subs-offset {self.subtitle_offset}: use a finite number of seconds")
        if self.rate is not None and not (math.isfinite(self.rate) and self.rate > 0):
            raise ValueError(f"--rate {self.rate}: use the timeline's frame rate, a positive number such as 25")
        unwritable = unwritable_folder(self.out)
        if unwritable is not None:
            raise ValueError(f"--out {self.out}: cannot write in {unwritable} (read-only or no permission); "
                             "choose a folder you can write to")
        self.settings.check()
        if self.dictionary is not None and not self.dictionary.is_file():
            raise ValueError(f"--dictionary {self.dictionary}: file not found")
        if self.weights is not None and not self.weights.is_dir():
            raise ValueError(f"--weights {self.weights}: not a folder; point it at the model's local weights folder")
        if not 1 <= self.takes <= 10:
            raise ValueError(f"--takes {self.takes}: use 1 to 10")
        if self.profiles not in ("auto", "off") and Path(self.profiles).exists() and not Path(self.profiles).is_dir():
            raise ValueError(f"--profiles {self.profiles}: not a folder (use auto, off or a folder of voice profiles)")
        for item in self.match_voices:
            backend, sep, voice = item.partition(":")
            if not sep or not backend or not voice:
                raise ValueError(f"--match-voice {item!r}: write it as BACKEND:VOICE, e.g. kokoro:jf_alpha")
        if not 0.0 <= self.allow_overflow_seconds <= 10.0:
            raise ValueError(f"--allow-overflow {self.allow_overflow_seconds}: use 0 to 10 seconds")
        check_executor(self.executor, self.jobs, self.ray_address)
        if not isinstance(self.commercial, bool):
            raise ValueError(f"--commercial {self.commercial!r}: give true or false")
        check_convert(self.convert)
        for name, folder in self.named_weights.items():
            if not NAME_PATTERN.fullmatch(name):
                raise ValueError(f"--weights {name}={folder}: NAME must be a backend or converter name, e.g. openvoice")
            if not folder.is_dir():
                raise ValueError(f"--weights {name}={folder}: not a folder; point it at the model's local weights folder")

    @property
    def layout(self) -> OutputLayout:
        """Where this job's files go (media, voice profiles, QC report), all beside ``out``."""
        return OutputLayout(self.out, None if self.profiles in ("auto", "off") else Path(self.profiles))

    @property
    def voices_dir(self) -> Path:
        """Where voice profiles live: the --profiles folder, else ``<out stem>_voices`` beside ``out``."""
        return self.layout.voices_dir

    @property
    def media_dir(self) -> Path:
        """Where the rendered WAVs and their sidecars go: ``<out stem>_media`` beside ``out``."""
        return self.layout.media_dir

    @property
    def inputs(self) -> list[Path]:
        """The files this job reads (never written): the timeline and the subtitles."""
        return [self.timeline] + ([self.subtitles] if self.subtitles else [])

    @property
    def backend_options(self) -> BackendOptions:
        """How this job loads its voices: device, the pronunciation dictionary, a weights folder, commercial use only."""
        weights = self.weights or self.named_weights.get(self.backend or "")
        return BackendOptions(device=self.device, dictionary=str(self.dictionary) if self.dictionary else None,
                              weights_dir=str(weights) if weights else None, threads=SYNTHESIS_THREADS,
                              commercial=self.commercial)

    def converter_options(self, name: str) -> BackendOptions:
        """How this job loads voice converter ``name``: device, its ``--weights NAME=DIR`` (else its environment
        variable), commercial use only."""
        folder = self.named_weights.get(name)
        return BackendOptions(device=self.device, weights_dir=str(folder) if folder else None,
                              threads=SYNTHESIS_THREADS, commercial=self.commercial)

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> JobOptions:
        from revoice.voice_cli import consent_option
        offset = parse_subtitle_offset(args.subs_offset)
        executor, jobs, ray_address = executor_args(args)
        voices: dict[str, str] = {}
        for item in args.speaker_voice:
            speaker, sep, voice = item.partition("=")
            if not sep or not speaker or not voice:
                raise ValueError(f"--speaker-voice {item!r}: write it as SPEAKER=VOICE")
            voices[speaker] = voice
        settings = RenderSettings(
            sample_rate=args.sample_rate, loudness=args.loudness, true_peak_ceiling_dbtp=args.true_peak,
            seed=args.seed, voice_id=args.voice,
            fit=FitPolicy(min_ratio=args.min_ratio, max_ratio=args.max_ratio, lead_in_seconds=args.lead_in),
            emotion=emotion_option(getattr(args, "emotion", None)))
        weights, named_weights = weights_option(getattr(args, "weights", None))
        return cls(timeline=args.timeline, out=args.out, subtitles=args.subs, subtitle_offset=offset,
                   rate=args.rate, language=args.language, backend=args.backend, device=args.device,
                   speaker_voices=voices, settings=settings, shard=Shard.parse(args.shard),
                   also=tuple(args.also), takes=args.takes, qc=args.qc, dictionary=args.dictionary,
                   allow_overflow_seconds=args.allow_overflow,
                   bundle_media=bool(getattr(args, "bundle_media", False)),
                   weights=weights, named_weights=named_weights, convert=getattr(args, "convert", None),
                   profiles=str(getattr(args, "profiles", "off")),
                   group_speakers=bool(getattr(args, "group_speakers", False)),
                   match_voices=tuple(getattr(args, "match_voice", None) or ()),
                   consent=consent_option(args), executor=executor, jobs=jobs, ray_address=ray_address,
                   prune=bool(getattr(args, "prune", False)), commercial=bool(getattr(args, "commercial", False)))
