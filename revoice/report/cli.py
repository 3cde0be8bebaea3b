"""``revoice qc``: the QC report of a revoiced timeline from the command line.

Lines rendered without QC can be metered on the way (a
:class:`revoice.engine.qc.assess.LineQc`) unless told ``--stored-only``. Lines
spoken by a character's voice profile are compared with the profile (the
actor's reference speech): the job's profiles are read from ``<stem>_voices``
beside the timeline (where ``revoice run`` keeps them) or ``--voices DIR``
(for a run with ``--profiles DIR``; the folder is not recorded in the timeline).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from revoice.report.voices import read_profiles, voices_folder
from revoice.report.write import write_report


def qc_main(argv: Sequence[str] | None = None) -> int:
    """``revoice qc OUT.otio [--json] [--out-dir DIR] [--stored-only] [--device cpu] [--voices DIR]``.

    Writes the report next to the timeline (or in ``--out-dir``) and prints
    the paths, or the rows as JSON with ``--json``. Lines rendered without QC
    (and profile-voiced lines without a voice similarity) are metered now
    unless ``--stored-only``, profile voices against the profiles in
    ``--voices`` (default :func:`voices_folder`). Exit codes: 0 report
    written, 2 bad input.
    """
    parser = argparse.ArgumentParser(
        prog="revoice qc", description="Quality report of a revoiced timeline: HTML, JSON and CSV per line.")
    parser.add_argument("timeline", type=Path, help="a timeline written by revoice run (.otio, .otioz, .xml)")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON on stdout")
    parser.add_argument("--out-dir", type=Path, help="folder for the report (default: the timeline's folder)")
    parser.add_argument("--stored-only", action="store_true",
                        help="report only numbers stored at render time; do not meter unmetered lines")
    parser.add_argument("--device", default="cpu", help="device for the meters (cpu, cuda)")
    parser.add_argument("--voices", type=Path, metavar="DIR",
                        help="the job's voice profiles, to compare lines spoken by them with the actor "
                             "(default: <timeline stem>_voices beside the timeline; give the --profiles DIR of the run)")
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))

    from revoice.otio_bridge.errors import InputError

    measure = None
    voices = args.voices if args.voices is not None else voices_folder(args.timeline)
    known: set[str] = set()
    if not args.stored_only:
        from revoice.engine.qc.assess import LineQc

        profiles, problems = read_profiles(voices)
        for problem in problems:
            print(f"revoice qc: {problem}", file=sys.stderr)
        if args.voices is not None and not voices.is_dir():
            print(f"revoice qc: {voices}: no such folder of voice profiles", file=sys.stderr)
        known = {p.name for p in profiles}
        measure = LineQc(device=args.device, profiles=profiles)
    try:
        paths = write_report(args.timeline, args.out_dir, measure=measure, voices_dir=voices)
    except InputError as exc:
        print(f"revoice qc: {exc}", file=sys.stderr)
        return 2
    except RuntimeError as exc:  # a meter's packages are missing
        print(f"revoice qc: cannot meter ({exc}); reporting stored numbers only", file=sys.stderr)
        paths = write_report(args.timeline, args.out_dir, voices_dir=voices)
        measure = None
    rows_json = paths[1].read_text(encoding="utf-8")
    rows = json.loads(rows_json)
    if args.json:
        print(rows_json)
    else:
        flagged = sum(1 for r in rows if r["flags"])
        print(f"{len(rows)} lines, {flagged} flagged")
        for path in paths:
            print(path)
    missing = sorted({str(r["voice"]) for r in rows if r["voice_kind"] != "stock" and r["voice_similarity"] is None
                      and r["voice"] not in known})
    if missing and measure is not None:
        print(f"revoice qc: voice profile(s) {', '.join(missing)} not found in {voices}: their lines get no voice "
              "similarity (give the run's --profiles folder with --voices DIR)", file=sys.stderr)
    return 0
