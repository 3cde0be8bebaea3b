"""``revoice verify FILE|FOLDER ...``: is this audio Revoice's, and what made it?

For each audio file (a folder: the audio files in it; ``--recursive``: and
below) it prints whether Revoice's inaudible watermark is in it, with the
detector's score (:mod:`revoice.engine.dsp.watermark`: marked at 7.0 and above,
unmarked audio scores about 4-6), and the provenance a WAV carries
(:class:`revoice.engine.dsp.bwf.Provenance` in its iXML chunk, else its bext
fields). The mark survives MP3 encoding and mixing under music, so an
exported mix or an MP3 of a line can be checked too; the provenance only
survives in Revoice's own WAVs.

Exit codes: 0 every checked file is marked; 1 some are not; 2 bad input (a
path that does not exist, a folder without audio files, a file that cannot be
read).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from revoice.engine.watermark import WatermarkCheck

EXIT_ALL_MARKED, EXIT_SOME_UNMARKED, EXIT_BAD_INPUT = 0, 1, 2
AUDIO_SUFFIXES = (".wav", ".wave", ".bwf", ".flac", ".aif", ".aiff", ".mp3", ".m4a", ".aac", ".ogg", ".opus")
"""The files a folder is searched for (case-insensitive)."""


def verify_main(argv: Sequence[str] | None = None) -> int:
    """``revoice verify PATH... [--json] [--recursive]``: one verdict per file and a summary; see the module."""
    parser = argparse.ArgumentParser(
        prog="revoice verify",
        description="Check audio files for Revoice's inaudible watermark and print the provenance they carry.")
    parser.add_argument("paths", nargs="+", type=Path, metavar="FILE|FOLDER",
                        help="audio files, or folders of them (WAV, FLAC, AIFF, MP3, M4A, OGG)")
    parser.add_argument("--recursive", action="store_true", help="also look in the folders' sub-folders")
    parser.add_argument("--json", action="store_true", help="print one JSON record per file instead of text")
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))

    files, problems = collect_files(args.paths, recursive=args.recursive)
    for problem in problems:
        print(f"revoice verify: {problem}", file=sys.stderr)
    if not files:
        if not problems:
            print("revoice verify: no audio files to check", file=sys.stderr)
        return EXIT_BAD_INPUT
    from revoice.engine.watermark import check_file

    checks = [check_file(path) for path in files]
    if args.json:
        print(json.dumps([check_json(check) for check in checks], indent=1, ensure_ascii=False))
    else:
        for check in checks:
            print("\n".join(describe(check)))
        print(summary(checks))
    if problems or any(check.error for check in checks):
        return EXIT_BAD_INPUT
    return EXIT_ALL_MARKED if all(check.marked for check in checks) else EXIT_SOME_UNMARKED


def collect_files(paths: Sequence[Path], *, recursive: bool) -> tuple[list[Path], list[str]]:
    """The audio files named or found in ``paths`` (sorted within each folder, no duplicates), and problems."""
    files: list[Path] = []
    problems: list[str] = []
    for path in paths:
        if path.is_dir():
            pattern = "**/*" if recursive else "*"
            found = sorted(p for p in path.glob(pattern) if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)
            if not found:
                problems.append(f"{path}: no audio files in this folder ({', '.join(AUDIO_SUFFIXES)})")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            problems.append(f"{path}: no such file or folder")
    unique = list(dict.fromkeys(files))
    return unique, problems


def describe(check: WatermarkCheck) -> list[str]:
    """The text lines for one file: the verdict, then what made it."""
    name = str(check.path)
    if check.detection is None:
        return [f"{name}: cannot read ({check.error})"]
    detection = check.detection
    verdict = "marked" if detection.present else "NOT marked"
    lines = [f"{name}: {verdict} (score {detection.score:.1f}, threshold {detection.threshold:.1f}, "
             f"{detection.analysed_seconds:.1f} s checked)"]
    provenance = check.provenance
    if provenance is not None:
        voice = f"{provenance.backend}/{provenance.voice}"
        lines.append(f"  made by {provenance.tool} {provenance.version}".rstrip()
                     + (" (AI-generated speech)" if provenance.ai_generated else "")
                     + f", voice {voice} ({provenance.voice_kind or 'stock'})"
                     + (f", line {provenance.line_id}" if provenance.line_id else ""))
        if provenance.voice_profile:
            base = f" over {provenance.base_voice}" if provenance.base_voice else ""
            key = f", profile key {provenance.voice_profile_key[:12]}" if provenance.voice_profile_key else ""
            lines.append(f"  voice profile {provenance.voice_profile}{base}{key}")
            consent = consent_words(provenance.consent, provenance.consent_by, provenance.consent_date,
                                    provenance.consent_scope)
            lines.append(f"  consent at render time: {consent}")
        if provenance.render_key:
            lines.append(f"  render key {provenance.render_key}")
        if provenance.watermark and not detection.present:
            lines.append(f"  the file says it was marked ({provenance.watermark}) but the mark is not found: "
                         "the audio was changed after it was rendered")
        elif not provenance.watermark:
            lines.append("  rendered with the watermark off")
    elif check.bext is not None and (check.bext.originator or check.bext.description):
        lines.append(f"  bext: originator {check.bext.originator or '-'}, "
                     f"description {check.bext.description[:80] or '-'}")
        if check.bext.coding_history:
            lines.append(f"  coding history: {check.bext.coding_history.splitlines()[-1]}")
    else:
        lines.append("  no provenance in the file")
    return lines


def consent_words(status: str | None, by: str | None, date: str | None, scope: str | None) -> str:
    """``granted by A. Editor on 2026-11-21 for this production``; ``unknown`` when nothing was recorded."""
    from revoice.engine.characters.profile import Consent

    return Consent(status=status or "unknown", by=by or "", date=date or "", scope=scope or "").words


def summary(checks: Sequence[WatermarkCheck]) -> str:
    """``3 files: 2 marked, 1 not marked`` (and how many could not be read)."""
    marked = sum(1 for c in checks if c.marked)
    unreadable = sum(1 for c in checks if c.detection is None)
    unmarked = len(checks) - marked - unreadable
    text = f"{len(checks)} file{'s' if len(checks) != 1 else ''}: {marked} marked, {unmarked} not marked"
    return text + (f", {unreadable} unreadable" if unreadable else "")


def check_json(check: WatermarkCheck) -> dict[str, Any]:
    """One file's verdict as JSON: path, marked, score, threshold, offset and seconds checked, provenance,
    bext fields and error."""
    detection = check.detection
    return {
        "path": str(check.path),
        "marked": check.marked,
        "score": None if detection is None else detection.score,
        "threshold": None if detection is None else detection.threshold,
        "offset_seconds": None if detection is None else detection.offset_seconds,
        "analysed_seconds": None if detection is None else round(detection.analysed_seconds, 3),
        "provenance": None if check.provenance is None else {
            name: value for name, value in dataclasses.asdict(check.provenance).items() if value not in (None, "")},
        "bext": None if check.bext is None else {
            "description": check.bext.description, "originator": check.bext.originator,
            "originator_reference": check.bext.originator_reference, "coding_history": check.bext.coding_history},
        "error": check.error,
    }
