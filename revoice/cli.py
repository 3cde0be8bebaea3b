"""``revoice``: the command line for editors.

Exit codes: 0 all lines rendered; 1 output written but some lines failed;
2 bad input or options (nothing written), or a file that cannot be written (full disk,
read-only folder; finished lines are kept); 3 no voice backend fits;
130 cancelled by Ctrl+C, 143 stopped by SIGTERM (finished lines are kept and reused by the next run);
70 an internal error (a bug): one line naming the crash report written with its traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import TextIO

from revoice.privacy import offline_environment

EXIT_OK, EXIT_LINES_FAILED, EXIT_BAD_INPUT, EXIT_NO_BACKEND, EXIT_CANCELLED = 0, 1, 2, 3, 130
EXIT_TERMINATED = 143
EXIT_INTERNAL_ERROR = 70
"""sysexits' EX_SOFTWARE: Revoice itself failed (the traceback is in the crash report, not on the terminal)."""
"""SIGTERM (128 + 15, what shells and job schedulers expect): stopped like Ctrl+C, finished lines kept."""
KEPT = "; finished lines are kept and reused by the next run"

RUN_HELP = """\
Revoice the dialogue of a timeline.

Reads TIMELINE (.otio, .otioz, FCP7 .xml or .edl) and the dialogue lines from
--subs (SRT, WebVTT, ASS) or, without it, from the timeline's markers. Each
line is spoken by the voice of its speaker, fitted to its slot to the sample,
normalized to the loudness preset, and written as a 48 kHz / 24-bit Broadcast
WAV. The result is a new timeline (--out) holding the original untouched plus
one audio track per speaker named "Revoice - <speaker>". Import it in Resolve
(File > Import > Timeline) or Premiere (File > Import).

Speakers come from "NAME:" prefixes, WebVTT <v Name> voice spans or ASS Name
fields. Lines that cannot be used are listed with the reason; nothing is
skipped silently. Input files are never modified.

A job file (YAML or JSON, docs/job-format.md) holds the timeline, subtitles,
output and, per line, new text, emotion and duration: write one from a
timeline with --write-job reel.yaml, edit it, then run it with --job reel.yaml.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="revoice", description="Local AI re-voicing for film and video editors.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="revoice a timeline's dialogue", description=RUN_HELP,
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("timeline", type=Path, nargs="?",
                     help="the timeline: .otio, .otioz, .xml (FCP7) or .edl (not with --job)")
    run.add_argument("--job", type=Path, metavar="FILE",
                     help="run a job file (.yaml/.yml/.json): its timeline, subtitles, output and per-line text, "
                          "emotion and duration (docs/job-format.md); --out and --emotion given here win")
    _add_run_options(run, out_required=True)

    demo = sub.add_parser("demo", help="revoice the embedded demo scene (23.976 fps, 01:00:00:00)",
                          formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_run_options(demo, out_required=False)

    sub.add_parser("qc", help="quality report of a revoiced timeline: revoice qc OUT.otio [--json]",
                   add_help=False)
    sub.add_parser("panel", help="open the desktop panel: revoice panel [TIMELINE [SUBS]] [--demo]",
                   add_help=False)
    sub.add_parser("verify", help="check audio for Revoice's watermark and provenance: revoice verify FILE|FOLDER",
                   add_help=False)

    voices = sub.add_parser("voices", help="list voice backends, voices, languages, licences and commercial use")
    voices.add_argument("--json", action="store_true", help="print JSON instead of a table")
    voices.add_argument("--device", default="cpu", help="device to check backends against (cpu, cuda)")
    voices.add_argument("--weights", action="append", default=[], metavar="BACKEND=DIR",
                        help="weights folder for one backend, e.g. f5=/models/F5TTS_v1_Base (repeatable)")
    from revoice.voice_cli import add_voice_parser

    add_voice_parser(sub)
    text = sub.add_parser("text", help="show how a line will be spoken: normalized text, pinyin, pauses")
    text.add_argument("text", help="the line, e.g. '你行不行？' or 'Dr. Smith paid $5.'")
    text.add_argument("--lang", default="en", choices=("en", "zh"), help="language of the line (default en)")
    text.add_argument("--dictionary", type=Path, help="pronunciation dictionary (.json or .toml)")
    text.add_argument("--abbreviations", default="spell", choices=("spell", "expand", "keep"),
                      help="acronyms: spell (F B I, default), expand, or keep as written")
    text.add_argument("--json", action="store_true", help="print everything as JSON")
    from revoice.service.command import add_serve_parser

    add_serve_parser(sub)
    return parser


def _add_run_options(parser: argparse.ArgumentParser, *, out_required: bool) -> None:
    from revoice.options import EMOTION_FORMS

    if not out_required:
        parser.set_defaults(timeline=None)
    parser.add_argument("--subs", type=Path, help="subtitle file with the lines (.srt, .vtt, .ass)")
    parser.add_argument("--out", type=Path, default=None if out_required else Path("out/demo_revoiced.otio"),
                        help="new timeline to write: .otio (default), .otioz bundle or .xml (FCP7)"
                             + ("; required unless the job file names one" if out_required else ""))
    parser.add_argument("--subs-offset", default="auto", metavar="auto|zero|timeline|SECONDS",
                        help="subtitle times count from 0 (zero), from the timeline's start timecode "
                             "(timeline), or from SECONDS; auto detects the obvious case (default)")
    parser.add_argument("--rate", type=float, help="frame rate for EDLs, which do not store one (e.g. 25)")
    parser.add_argument("--language", default="auto",
                        help="language of the lines: en, zh, or auto (default: Mandarin for lines "
                             "with Chinese characters, English otherwise)")
    parser.add_argument("--loudness", default="ebu-r128",
                        help="ebu-r128 (-23 LUFS), atsc-a85 (-24 LKFS), netflix (-27 LKFS) or match "
                             "(match each original line; falls back to ebu-r128)")
    parser.add_argument("--true-peak", type=float, default=-2.0, metavar="DBTP",
                        help="true-peak ceiling in dBTP, 4x oversampled (default -2.0)")
    parser.add_argument("--sample-rate", type=int, default=48000, help="output rate in Hz (default 48000)")
    parser.add_argument("--backend", help="voice backend name (see 'revoice voices'); default: best fit")
    parser.add_argument("--weights", action="append", metavar="DIR|NAME=DIR",
                        help="local weights folder for a --backend that clones from your own model files "
                             "(f5, indextts2, cosyvoice), or NAME=DIR for one backend or voice converter "
                             "(openvoice=DIR; repeatable); nothing is downloaded")
    parser.add_argument("--convert", nargs="?", const="auto", metavar="NAME|auto|off",
                        help="convert each voice profile's voice to the actor's own timbre with a voice converter "
                             "(timing kept to the sample): auto picks the first that fits (see 'revoice voices'); "
                             "the profiles become kind 'convert'; off renders them as tints")
    parser.add_argument("--commercial", action="store_true",
                        help="refuse voices and converters whose weights do not allow commercial use "
                             "(see the commercial-use column of 'revoice voices')")
    parser.add_argument("--voice", help="voice id for all speakers (default: the backend's first)")
    parser.add_argument("--speaker-voice", action="append", default=[], metavar="SPEAKER=VOICE",
                        help="voice for one speaker; repeat for more")
    parser.add_argument("--seed", type=int, default=0, help="seed; same inputs and seed give identical WAVs")
    parser.add_argument("--min-ratio", type=float, default=0.8,
                        help="flag lines needing speech faster than this ratio of natural (default 0.8)")
    parser.add_argument("--max-ratio", type=float, default=1.25,
                        help="never slow speech beyond this ratio of natural (default 1.25)")
    parser.add_argument("--lead-in", type=float, default=0.0, metavar="SECONDS",
                        help="silence before the speech inside each slot (default 0)")
    parser.add_argument("--allow-overflow", type=float, default=0.0, metavar="SECONDS",
                        help="let a line too long for its slot run on into the free gap after it, by at "
                             "most SECONDS, stopping 0.25 s before the next line (default 0: off)")
    parser.add_argument("--dictionary", type=Path,
                        help="pronunciation dictionary (.json/.toml: word -> pinyin) for names and brands")
    parser.add_argument("--takes", type=int, default=1,
                        help="render N takes per line; with QC the best one is placed and the others "
                             "are listed in the timeline for a one-click swap (default 1)")
    parser.add_argument("--qc", action=argparse.BooleanOptionalAction, default=False,
                        help="meter every take (words heard, voice, naturalness, loudness, sync) and "
                             "write a QC report next to --out")
    parser.add_argument("--shard", default="1/1", metavar="I/N",
                        help="render only shard I of N (for several processes or machines writing "
                             "to the same output folder); the timeline is written once all are done")
    parser.add_argument("--jobs", type=int, metavar="N",
                        help="render N lines at once in worker processes, one math thread each (same WAVs "
                             "as one process; default: this machine's CPUs for a run with 8 or more lines to "
                             "render; 1 renders in this process only)")
    parser.add_argument("--executor", choices=["auto", "local", "processes", "ray"],
                        help="where lines render: local (this process), processes (--jobs N on this machine) "
                             "or ray (Ray workers; pip install 'revoice[ray]'); default auto: processes on this "
                             "machine's CPUs when 8 or more lines need rendering and the run is not a --shard")
    parser.add_argument("--ray-address", metavar="ADDRESS",
                        help="with --executor ray: a running cluster, e.g. ray://HOST:10001 "
                             "(default: a local cluster for this run)")
    parser.add_argument("--prune", action="store_true",
                        help="once the timeline is written, delete the renders in its media folder that no line "
                             "uses any more (after edits, deleted cues, fewer takes); without it they are listed")
    parser.add_argument("--also", action="append", default=[], choices=["otioz", "xml"],
                        help="also export an .otioz bundle or an FCP7 XML next to --out")
    parser.add_argument("--bundle-media", action="store_true",
                        help="put the timeline's other local media (not only Revoice's WAVs) into an .otioz")
    parser.add_argument("--profiles", default="auto", metavar="auto|off|DIR",
                        help="voice profiles per character: auto builds them from the original dialogue "
                             "(kept in <out stem>_voices and reused), off uses stock voices, DIR uses and keeps "
                             "the profiles in DIR (see 'revoice voice'); default auto")
    parser.add_argument("--group-speakers", action="store_true",
                        help="regroup all lines by the voice of their original audio (SPEAKER 1, 2, ...); "
                             "lines without a speaker name are always grouped when profiles are on")
    parser.add_argument("--match-voice", action="append", default=[], metavar="BACKEND:VOICE",
                        help="base voice that voice matching may choose (repeat; default: every available voice)")
    parser.add_argument("--emotion", metavar="EMOTION",
                        help=f"how the lines feel: {EMOTION_FORMS}. Default: the original take's performance "
                             "where original audio exists, else neutral; a line's own emotion (subtitle tag, "
                             "job file) wins")
    parser.add_argument("--write-job", type=Path, metavar="FILE",
                        help="write a job file (.yaml/.yml/.json) listing every line (id, text, speaker, emotion) "
                             "to edit and run with --job, then stop without rendering")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    from revoice.voice_cli import add_consent_options

    add_consent_options(parser)  # --consent granted --by NAME [--consent-scope TEXT]


def main(argv: Sequence[str] | None = None) -> int:
    """Run one ``revoice`` command (``argv`` without the program name); the exit code (module docstring).

    Errors become one line on stderr, never a traceback: bad options and files (2), a file that cannot be
    written, e.g. a full disk or a read-only folder (2, naming the path), Ctrl+C (130) and SIGTERM (143),
    both keeping finished lines. Output cut short by its reader (``revoice run ... | head``) ends quietly
    with the command's own code.
    """
    offline_environment()  # before anything loads onnxruntime or the hub: no telemetry, no network
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["panel"]:
        try:
            from revoice.ui.app import main as panel_main
        except ImportError as exc:
            print(f"revoice: the panel needs PyQt6 ({exc}); install it with: pip install 'revoice[ui]'",
                  file=sys.stderr)
            return EXIT_BAD_INPUT
        return panel_main(arguments[1:])
    renders = bool({"run", "demo"} & set(arguments[:1]))
    # `serve` keeps its own SIGTERM handling (uvicorn's clean shutdown)
    with _sigterm_as_interrupt(enabled=arguments[:1] != ["serve"]):
        try:
            return _command(arguments)
        except KeyboardInterrupt as exc:
            terminated = isinstance(exc, Terminated)
            _say(f"revoice: {'stopped (SIGTERM)' if terminated else 'cancelled'}{KEPT if renders else ''}")
            return EXIT_TERMINATED if terminated else EXIT_CANCELLED
        except BrokenPipeError:  # the reader went away while we printed (`revoice voices | head -1`)
            _quiet_stdout()
            return EXIT_OK
        except OSError as exc:
            from revoice.options import describe_os_error

            _say(f"revoice: {describe_os_error(exc)}{KEPT if renders else ''}")
            return EXIT_BAD_INPUT
        except Exception as exc:  # noqa: BLE001 - a bug: one line for the editor, the traceback in a file
            report = _crash_report(arguments, exc)
            _say(f"revoice: internal error ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); "
                 f"this is a bug in Revoice: please send {report}{KEPT if renders else ''}")
            return EXIT_INTERNAL_ERROR


def _crash_report(arguments: Sequence[str], exc: BaseException) -> str:
    """Write the traceback of ``exc`` to ``~/.cache/revoice/crashes/`` (else the temp folder); the file's path."""
    import datetime
    import tempfile
    import traceback

    text = (f"revoice {' '.join(arguments)}\n{datetime.datetime.now(datetime.UTC).isoformat()}\n\n"
            + "".join(traceback.format_exception(exc)))
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%d-%H%M%S")
    for folder in (Path.home() / ".cache" / "revoice" / "crashes", Path(tempfile.gettempdir())):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            handle, name = tempfile.mkstemp(prefix=f"revoice-crash-{stamp}-", suffix=".txt", dir=folder)
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(text)
            return name
        except OSError:
            continue
    return "(no crash report could be written)"


def _command(arguments: list[str]) -> int:
    if arguments[:1] == ["qc"]:
        from revoice.report import qc_main

        return qc_main(arguments[1:])
    if arguments[:1] == ["verify"]:
        from revoice.verify import verify_main

        return verify_main(arguments[1:])
    args = build_parser().parse_args(arguments)
    if args.command == "voices":
        return _voices(args)
    if args.command == "text":
        return _text(args)
    if args.command == "voice":
        from revoice.voice_cli import voice_main

        return voice_main(args)
    if args.command == "serve":
        from revoice.service.command import serve_main

        return serve_main(args)
    return _job(args)


def _job(args: argparse.Namespace) -> int:
    """``revoice run`` and ``revoice demo``: the summary on stdout, the exit code from the lines' outcome."""
    from revoice.job import JobError, JobOptions
    from revoice.job_cli import open_session, read_job_option, write_job_option
    from revoice.options import describe_os_error
    from revoice.otio_bridge.errors import InputError

    job = None
    if args.command == "run":
        try:
            job = read_job_option(args)
        except (ValueError, InputError) as exc:
            print(f"revoice: {exc}", file=sys.stderr)
            return EXIT_BAD_INPUT
    if args.command == "demo":
        from revoice.demo import demo_files

        try:
            demo = demo_files(args.out.parent / "demo_scene")
        except OSError as exc:
            print(f"revoice: cannot write the demo timeline next to {args.out} ({exc})", file=sys.stderr)
            return EXIT_BAD_INPUT
        if demo.warning:
            print(f"revoice: {demo.warning}", file=sys.stderr)
        args.timeline, default_subs = demo
        args.subs = args.subs or default_subs
    if args.write_job is not None:
        return write_job_option(args)
    try:
        options = JobOptions.from_args(args)
        if job is not None:
            from revoice.jobfile import apply_job

            options = apply_job(job, options)
    except ValueError as exc:
        print(f"revoice: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    bar = ProgressBar(sys.stderr, enabled=not args.quiet)
    try:
        outcome = open_session(options, job).render(options, progress=bar.update)
    except JobError as exc:
        bar.clear()
        _say(f"revoice: {exc}")
        return exc.exit_code
    except OSError as exc:  # a write that failed mid-run: full disk, folder made read-only, quota
        bar.clear()
        _say(f"revoice: {describe_os_error(exc, folder=options.out.absolute().parent)}{KEPT}")
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:  # Ctrl+C or SIGTERM: main() says so once the bar is gone
        bar.clear()
        raise
    bar.clear()
    code = EXIT_LINES_FAILED if outcome.failed else EXIT_OK
    _print_out(json.dumps(outcome.summary_json(), indent=1) if args.json else outcome.summary_table())
    return code


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread where Ctrl+C raises KeyboardInterrupt, so the same cleanup runs."""


@contextlib.contextmanager
def _sigterm_as_interrupt(*, enabled: bool = True) -> Iterator[None]:
    """While inside, SIGTERM raises :class:`Terminated` (main thread only); the old handler comes back after."""
    if not enabled or threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: FrameType | None) -> None:
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _print_out(text: str) -> None:
    """Print ``text`` on stdout; a reader that went away (``| head``) silences the rest instead of failing."""
    try:
        print(text)
        sys.stdout.flush()
    except BrokenPipeError:
        _quiet_stdout()


def _say(message: str) -> None:
    """One line on stderr (nothing when stderr's reader went away)."""
    try:
        print(message, file=sys.stderr)
    except BrokenPipeError:
        pass


def _quiet_stdout() -> None:
    """Point stdout at the null device, so the interpreter's last flush at exit cannot fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, io.UnsupportedOperation):  # not a real file (tests capturing output)
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - lives until the process exits
    finally:
        os.close(devnull)


def _text(args: argparse.Namespace) -> int:
    from revoice.engine.text import DictionaryError, describe

    try:
        out = describe(args.text, language=args.lang, dictionary=args.dictionary, abbreviations=args.abbreviations)
    except DictionaryError as exc:
        print(f"revoice: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.json:
        print(json.dumps(out, ensure_ascii=False, indent=1))
    else:
        print(out["normalized"])
        if "pinyin" in out:
            print(" ".join(out["pinyin"]))
    return EXIT_OK


def _voices(args: argparse.Namespace) -> int:
    from revoice.engine.voices.base import BackendOptions
    from revoice.engine.voices.registry import describe_backends, discover_backends
    from revoice.engine.conversion.registry import describe_converters, discover_converters
    from revoice.report.voices import commercial_words, converter_note

    weights: dict[str, str] = {}
    for item in args.weights:
        name, sep, folder = item.partition("=")
        if not sep or not name or not folder:
            print(f"revoice voices: --weights wants BACKEND=DIR, got {item!r}", file=sys.stderr)
            return EXIT_BAD_INPUT
        weights[name.strip()] = folder
    specs = discover_backends()
    converter_specs = discover_converters()
    unknown = sorted(set(weights) - {spec.name for spec in specs} - {spec.name for spec in converter_specs})
    if unknown:
        print(f"revoice voices: --weights for unknown backend(s) {', '.join(unknown)}; "
              f"backends: {', '.join(spec.name for spec in specs)}; "
              f"converters: {', '.join(spec.name for spec in converter_specs) or 'none'}", file=sys.stderr)
        return EXIT_BAD_INPUT
    rows = [row for spec in specs for row in describe_backends(
        [spec], BackendOptions(device=args.device, weights_dir=weights.get(spec.name)))]
    converters = [{**row, "kind": "converter"} for spec in converter_specs for row in describe_converters(
        [spec], BackendOptions(device=args.device, weights_dir=weights.get(spec.name)))]
    if args.json:  # backends, then voice converters (their rows say "kind": "converter")
        print(json.dumps(rows + converters, indent=1))
        return EXIT_OK
    for row in rows:
        state = "available" if row["available"] else f"unavailable: {row['reason']}"
        print(f"{row['name']}  ({row['display_name']})  {state}")
        print(f"  languages: {', '.join(row['languages'])}   sample rate: {row['sample_rate']} Hz   "
              f"native duration control: {'yes' if row['native_duration_control'] else 'no'}   "
              f"needs GPU: {'yes' if row['needs_gpu'] else 'no'}")
        print(f"  emotion control: {', '.join(row.get('emotion_control') or ()) or 'none (Revoice DSP)'}   licence: {row['licence']}")
        print(f"  commercial use: {commercial_words(row['commercial_use'], row['commercial_note'])}")
        for voice in row["voices"]:
            print(f"  voice {voice['voice_id']}: {', '.join(voice['languages'])}  {voice.get('description', '')}")
        if row.get("variants"):
            print(f"  variants (distinct default voices, --speaker-voice): {', '.join(row['variants'])}")
    for row in converters:
        state = "available" if row["available"] else f"unavailable: {row['reason']}"
        print(f"{row['name']}  (voice converter: {row['display_name']})  {state}")
        print(f"  sample rate: {row['sample_rate']} Hz   needs GPU: {'yes' if row['needs_gpu'] else 'no'}   "
              f"licence: {row['licence']}")
        print(f"  commercial use: {commercial_words(row['commercial_use'], converter_note(row))}")
        print(f"  {row['description']} Use: revoice run --convert {row['name']} --weights {row['name']}=DIR")
    return EXIT_OK


class ProgressBar:
    """A one-line progress bar on a terminal; silent when the stream is not a TTY."""

    def __init__(self, stream: TextIO, *, enabled: bool = True) -> None:
        self.stream = stream
        self.enabled = enabled and stream.isatty()
        self.started = time.monotonic()
        self.shown = False

    def update(self, done: int, total: int, label: str) -> None:
        if not self.enabled or total <= 0:
            return
        width = 30
        filled = int(width * done / total)
        elapsed = time.monotonic() - self.started
        eta = f"{elapsed / done * (total - done):4.0f}s left" if done else ""
        self.stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {label[:40]:<40} {eta}")
        self.stream.flush()
        self.shown = True

    def clear(self) -> None:
        if self.shown:
            self.stream.write("\r" + " " * 100 + "\r")
            self.stream.flush()
            self.shown = False


if __name__ == "__main__":
    raise SystemExit(main())
