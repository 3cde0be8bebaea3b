"""Benchmark: a whole reel through the CLI: first run, unchanged rerun, one-line edits, processes, Ray, memory.

``python -m bench reel [--lines 300] [--quick] [--english-only] [--no-original] [--with-qc] [--with-profiles]
[--no-shards] [--no-ray] [--json-out FILE]``

The reel is generated: ``--lines`` cues over 6 speakers (MARA, JONAH, TESS in
English; LIN, WEI, MEI in Mandarin), alternating, each cue 2-6 s with 0.5-1.5 s
between them, texts from two fixed sentence banks. Half the speakers (MARA,
JONAH, LIN) have original dialogue audio under their cues, cut at pauses from
``../shared/corpus/voices`` (the words differ from the cue: this measures speed,
not sync); the others have none. ``--english-only --no-original`` is the
issue's own measurement (English lines, three speakers, no original audio).
Everything is a whole ``revoice`` process, timed from outside (wall seconds)
with its peak RSS (``ru_maxrss`` of the child):

* ``first``: a fresh output with the CLI's defaults (``--executor auto``: worker
  processes on every CPU), QC off, profiles off (``--with-qc`` and
  ``--with-profiles`` add those first runs); RTF = wall / seconds of speech;
* ``one_process``: the same with ``--jobs 1``: the 1-process time, and the WAVs
  every other run is compared with (sha256 of each);
* ``rerun``: the same command again (nothing changed): speed-up over ``first``;
* ``edit_cold``: one cue's text changed in the subtitles, the CLI run again;
* ``edit_warm``: the same edit through an open :class:`revoice.session.Session`
  whose :class:`revoice.context.EngineContext` already rendered the reel and
  loaded its voices (the panel's and the service's path), in this process;
* ``shards2`` (``--shard 1/2`` and ``2/2`` at once) and ``ray`` (``--executor
  ray``, when Ray is installed): fresh outputs, speed-up over one process and
  sha256 identity of every WAV with it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from bench.common import log, speech_runs

FPS = 24.0
RATE = 48000
SPEAKERS = (("MARA", "en", True), ("LIN", "zh", True), ("TESS", "en", False),
            ("WEI", "zh", False), ("JONAH", "en", True), ("MEI", "zh", False))
ENGLISH = (
    "Give me the keys. I'll open it myself.", "We were never supposed to come back here.",
    "Quiet. Did you hear that?", "The shipment arrives at dawn, and nobody touches it until I say so.",
    "Sixty-two dollars and forty cents. That's all we have left.", "Don't look at me like that.",
    "If the bridge is out, we take the river road.", "She said she would call before midnight.",
    "I counted every window in that building twice.", "Nobody leaves until the lights come back on.",
    "You kept the letter all these years?", "The train was late again, and the station was empty.",
)
MANDARIN = (
    "把钥匙给我，我自己来开。", "我们本来不该再回到这里。", "安静，你听见了吗？", "货物天亮就到，没我的话谁也不许碰。",
    "一共六十二块四毛，我们只剩这些了。", "别那样看着我。", "如果桥断了，我们就走河边的路。", "她说午夜前会打电话来。",
    "那栋楼的每一扇窗户我都数过两遍。", "灯不亮，谁也不许走。",
)


EDITED = "Give me the keys. I will open the door myself."
"""The one-line edit: the first cue's new text."""
EDITED_WARM = "Give me the keys. I will open the gate myself."
"""The warm edit's text (not :data:`EDITED`, which the cold edit rendered already)."""


def _corpus_dir() -> Path:
    return Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "voices"


def corpus_pieces() -> list[np.ndarray]:
    """Speech stretches of 1.5-5 s cut at pauses from the corpus voices (48 kHz); [] without ../shared."""
    from revoice.engine.dsp.resample import resample

    pieces: list[np.ndarray] = []
    for path in sorted(_corpus_dir().glob("*")) if _corpus_dir().is_dir() else []:
        if path.suffix not in (".wav", ".flac"):
            continue
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
        audio = resample(np.ascontiguousarray(data.mean(axis=1)), int(rate), RATE)
        for start, end in speech_runs(audio, RATE):
            if 1.0 <= end - start <= 5.0:
                pieces.append(audio[int(start * RATE) : int(end * RATE)])
    return pieces


def build_reel(folder: Path, lines: int, *, english_only: bool = False,
               originals: bool = True) -> tuple[Path, Path, float]:
    """Write ``reel.otio``, ``reel.srt`` and the original dialogue WAV into ``folder``; (timeline, subs, speech s).

    ``english_only``: MARA, TESS and JONAH only; ``originals`` False: no original dialogue under any cue
    (with both, the issue's own measurement: English lines, three speakers, no original audio).
    """
    import opentimelineio as otio
    from revoice.otio_bridge.media import url_for_path

    speakers = [s for s in SPEAKERS if s[1] == "en" or not english_only]
    pieces = corpus_pieces() if originals else []
    cues: list[tuple[float, float, str, str]] = []
    at = 2.0
    for index in range(lines):
        name, language, _ = speakers[index % len(speakers)]
        bank = ENGLISH if language == "en" else MANDARIN
        text = bank[(index // len(speakers)) % len(bank)]
        length = 2.0 + (index * 7 % 9) / 2.0  # 2-6 s
        cues.append((at, at + length, name, text))
        at += length + 0.5 + (index % 3) / 2.0
    total = at + 2.0
    dialogue = np.zeros(int(total * RATE), dtype=np.float32)
    track = otio.schema.Track(name="A1 Dialogue", kind=otio.schema.TrackKind.Audio)
    media = folder / "reel_dialogue.wav"
    cursor = 0
    for index, (start, end, name, _) in enumerate(cues):
        if not pieces or not speakers[index % len(speakers)][2]:
            continue
        piece = pieces[index % len(pieces)][: int((end - start - 0.3) * RATE)]
        offset = int((start + 0.25) * RATE)
        dialogue[offset : offset + len(piece)] = piece
        first, last = math.floor(start * FPS), math.ceil(end * FPS)
        if first > cursor:
            track.append(otio.schema.Gap(source_range=_range(0, first - cursor)))
        track.append(otio.schema.Clip(
            name=f"{name}_{index:03d}", source_range=_range(first, last - first),
            media_reference=otio.schema.ExternalReference(target_url=url_for_path(media),
                                                          available_range=_range(0, math.ceil(total * FPS)))))
        cursor = last
    sf.write(str(media), dialogue, RATE, subtype="PCM_24")
    timeline = otio.schema.Timeline(name="Revoice bench reel")
    picture = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    picture.append(otio.schema.Gap(source_range=_range(0, math.ceil(total * FPS))))
    timeline.tracks.extend([picture, track])
    timeline_path = folder / "reel.otio"
    otio.adapters.write_to_file(timeline, str(timeline_path))
    subs = folder / "reel.srt"
    subs.write_text("".join(f"{i}\n{_srt_time(s)} --> {_srt_time(e)}\n{name}: {text}\n\n"
                            for i, (s, e, name, text) in enumerate(cues, start=1)), encoding="utf-8")
    return timeline_path, subs, sum(e - s for s, e, _, _ in cues)


def _range(start: int, duration: int) -> Any:
    import opentimelineio as otio

    return otio.opentime.TimeRange(otio.opentime.RationalTime(start, FPS), otio.opentime.RationalTime(duration, FPS))


def _srt_time(seconds: float) -> str:
    ms = int(round(seconds * 1000))
    return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"


def run_cli(args: Sequence[str], *, parallel: Sequence[Sequence[str]] = ()) -> dict[str, Any]:
    """Run ``revoice ARGS`` (and, at the same time, the ``parallel`` commands); wall s, peak RSS MB, exit codes."""
    command = [sys.executable, "-m", "revoice.cli", "run"]
    # as on an editor's machine: Python keeps compiled modules (some sandboxes turn that off for everything)
    env = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
    started = time.perf_counter()
    procs = [subprocess.Popen([*command, *a, "--quiet"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
             for a in (args, *parallel)]
    codes, errors = [], []
    for proc in procs:
        _, err = proc.communicate()
        codes.append(proc.returncode)
        if proc.returncode:
            errors.append(err.decode(errors="replace").strip().splitlines()[-1:])
    wall = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"seconds": round(wall, 2), "peak_rss_mb_so_far": round(peak, 1), "exit": codes, "errors": errors}


def fingerprint(out: Path) -> dict[str, str]:
    """sha256 of every WAV beside the written timeline (by file name) and of the timeline's clips' metadata."""
    media = out.parent / f"{out.stem}_media"
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(media.glob("*.wav"))}


def warm_edit(timeline: Path, subs: Path, out: Path, line_text: tuple[str, str]) -> dict[str, Any]:
    """A one-line edit through an open Session with a warm EngineContext (the panel's / service's path)."""
    from revoice.context import EngineContext
    from revoice.options import JobOptions
    from revoice.session import Session

    options = JobOptions(timeline=timeline, subtitles=subs, out=out, profiles="off")
    context = EngineContext()
    session = Session.for_job(options, context=context)
    session.render(options)  # every line is already on disk: nothing loads
    context.warm()  # what the service does after each job and the panel after opening: load the voices
    edited = JobOptions(timeline=timeline, subtitles=subs, out=out, profiles="off",
                        text_overrides={line_text[0]: line_text[1]})
    started = time.perf_counter()
    result = session.render(edited)
    seconds = time.perf_counter() - started
    fresh = len(result.batch.rendered) - result.batch.cached if hasattr(result, "batch") else None
    return {"seconds": round(seconds, 3), "rendered_again": fresh}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench reel", description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, default=300)
    parser.add_argument("--quick", action="store_true", help="40 lines")
    parser.add_argument("--english-only", action="store_true", help="MARA, TESS and JONAH only")
    parser.add_argument("--no-original", action="store_true", help="no original dialogue under the cues")
    parser.add_argument("--with-qc", action="store_true", help="also a first run with --qc")
    parser.add_argument("--with-profiles", action="store_true", help="also a first run with --profiles auto")
    parser.add_argument("--no-ray", action="store_true")
    parser.add_argument("--no-shards", action="store_true", help="leave out the two-shard run")
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args(argv)
    lines = 40 if args.quick else args.lines
    result: dict[str, Any] = {"benchmark": "reel", "lines": lines, "cpus": os.cpu_count(),
                              "english_only": args.english_only, "original_audio": not args.no_original}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        timeline, subs, speech = build_reel(folder, lines, english_only=args.english_only,
                                            originals=not args.no_original)
        result["speech_seconds"] = round(speech, 1)
        base = [str(timeline), "--subs", str(subs), "--profiles", "off"]
        first_out = folder / "first" / "reel_out.otio"
        log(f"reel: {lines} lines, {speech:.0f} s of speech; first run (the CLI's default: --executor auto)")
        first = run_cli([*base, "--out", str(first_out), "--no-qc"])
        result["first"] = {**first, "rtf": round(first["seconds"] / speech, 4)}
        log("one process (--jobs 1)")
        one = folder / "one" / "reel_out.otio"
        alone = run_cli([*base, "--out", str(one), "--no-qc", "--jobs", "1"])
        reference = fingerprint(one)  # before the edits below change one line's WAV
        result["one_process"] = {**alone, "rtf": round(alone["seconds"] / speech, 4)}
        result["first"]["speedup_over_one_process"] = round(alone["seconds"] / max(first["seconds"], 1e-6), 2)
        result["first"]["identical_to_one_process"] = fingerprint(first_out) == reference and bool(reference)
        rerun = run_cli([*base, "--out", str(one), "--no-qc"])
        result["rerun"] = {**rerun, "speedup": round(first["seconds"] / max(rerun["seconds"], 1e-6), 1)}
        edited = folder / "edited.srt"
        text = subs.read_text(encoding="utf-8")
        edited.write_text(text.replace(f"{SPEAKERS[0][0]}: {ENGLISH[0]}", f"{SPEAKERS[0][0]}: {EDITED}", 1),
                          encoding="utf-8")
        result["edit_cold"] = run_cli([str(timeline), "--subs", str(edited), "--profiles", "off",
                                       "--out", str(one), "--no-qc"])
        try:
            result["edit_warm"] = warm_edit(timeline, subs, one, ("L0001", EDITED_WARM))
        except Exception as exc:  # the bench reports what failed instead of stopping
            result["edit_warm"] = {"error": f"{type(exc).__name__}: {exc}"}
        variants: dict[str, tuple[list[str], list[list[str]]]] = {}
        if not args.no_shards:
            variants["shards2"] = (
                [*base, "--out", str(folder / "shards" / "reel_out.otio"), "--no-qc", "--shard", "1/2"],
                [[*base, "--out", str(folder / "shards" / "reel_out.otio"), "--no-qc", "--shard", "2/2"]])
        if not args.no_ray:
            variants["ray"] = ([*base, "--out", str(folder / "ray" / "reel_out.otio"), "--no-qc",
                                "--executor", "ray"], [])
        for name, (command, parallel) in variants.items():
            log(f"{name}")
            run = run_cli(command, parallel=parallel)
            out = Path(command[command.index("--out") + 1])
            prints = fingerprint(out)
            run["speedup_over_one_process"] = round(alone["seconds"] / max(run["seconds"], 1e-6), 2)
            run["identical_to_one_process"] = prints == reference and bool(prints)
            result[name] = run
        if args.with_qc:
            result["first_qc"] = run_cli([*base, "--out", str(folder / "qc" / "reel_out.otio"), "--qc"])
            result["first_qc"]["rtf"] = round(result["first_qc"]["seconds"] / speech, 4)
        if args.with_profiles:
            result["first_profiles"] = run_cli([str(timeline), "--subs", str(subs), "--profiles", "auto",
                                                "--out", str(folder / "prof" / "reel_out.otio"), "--no-qc"])
            result["first_profiles"]["rtf"] = round(result["first_profiles"]["seconds"] / speech, 4)
        result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)
    text_out = json.dumps(result, indent=1, ensure_ascii=False)
    if args.json_out:
        args.json_out.write_text(text_out + "\n", encoding="utf-8")
    print(text_out)
    return 0
