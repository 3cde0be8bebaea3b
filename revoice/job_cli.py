"""``revoice run --job FILE`` and ``--write-job FILE``: the job file on the command line (docs/job-format.md).

:func:`read_job_option` reads ``--job`` into the parsed arguments (its timeline, subtitles and output);
:func:`open_session` opens the run's session and holds the job against its lines; :func:`write_job_option`
writes a job from a timeline's lines and renders nothing. Messages are the CLI's one line (exit 2).
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from revoice.otio_bridge.errors import InputError

if TYPE_CHECKING:
    from revoice.jobfile import ReelJob
    from revoice.options import JobOptions
    from revoice.session import Session

EXIT_OK, EXIT_BAD_INPUT = 0, 2


def read_job_option(args: argparse.Namespace) -> ReelJob | None:
    """``revoice run``'s job file (``--job``), with the timeline, subtitles and output it names put in ``args``.

    Without ``--job`` a TIMELINE is required. ValueError or InputError: the one line the CLI prints.
    """
    if args.job is None:
        if args.timeline is None:
            raise ValueError("run: give a TIMELINE, or --job FILE (a job file names its timeline)")
        if args.out is None and args.write_job is None:
            raise ValueError("--out: required (the new timeline to write, e.g. --out out/reel1_revoiced.otio)")
        return None
    if args.timeline is not None or args.subs is not None:
        raise ValueError(f"--job {args.job}: the job file names the timeline and subtitles; give no TIMELINE or "
                         "--subs with it (edit them in the job)")
    if args.write_job is not None:
        raise ValueError("--write-job writes a job from a TIMELINE; it does not go with --job")
    from revoice.jobfile import read_job

    job = read_job(args.job)
    args.timeline, args.subs = job.timeline, job.subtitles
    args.out = args.out or job.out
    if args.out is None:
        raise ValueError(f"--out: required, as {args.job} names no 'out' (the new timeline to write)")
    return job


def open_session(options: JobOptions, job: ReelJob | None) -> Session:
    """The job's session, its lines checked against the job file and its speaker references made into profiles."""
    from revoice.jobfile import check_job_lines, reference_profiles
    from revoice.options import JobError
    from revoice.session import Session

    session = Session.for_job(options)
    if job is None:
        return session
    try:
        check_job_lines(job, session.lines)
        if any(entry.speaker_reference is not None for entry in job.lines):
            if options.profiles == "off":
                session.warnings.append("the job's speaker_reference recordings are not used: --profiles off")
            elif options.profiles == "auto" and not any(s.available for line in session.lines for s in line.sources):
                session.warnings.append("the job's speaker_reference recordings are not used: with no original "
                                        "dialogue on the timeline, voice profiles need --profiles DIR")
            else:
                session.warnings.extend(reference_profiles(job, session.lines, voices_dir=options.voices_dir,
                                                           embedder=session.context.speaker_embedder))
    except InputError as exc:
        raise JobError(str(exc)) from exc
    return session


def write_job_option(args: argparse.Namespace) -> int:
    """``--write-job FILE``: the timeline's lines as a job file to edit; nothing is rendered."""
    from revoice.jobfile import JOB_SUFFIXES, job_from_lines, write_job
    from revoice.options import JobError, emotion_option, parse_subtitle_offset
    from revoice.session import read_lines

    try:
        if args.write_job.suffix.lower() not in JOB_SUFFIXES:
            raise ValueError(f"--write-job {args.write_job}: a job file ends in {', '.join(JOB_SUFFIXES)}")
        if args.write_job.exists():
            raise ValueError(f"--write-job {args.write_job}: the file exists; choose another name or remove it "
                             "(a job file holds edits that must not be lost)")
        emotion = emotion_option(args.emotion)
        opened = read_lines(args.timeline, subtitles=args.subs, subtitle_offset=parse_subtitle_offset(args.subs_offset),
                            rate=args.rate, language=args.language)
        job = job_from_lines(opened.lines, timeline=args.timeline, subtitles=args.subs, out=args.out, emotion=emotion)
        write_job(args.write_job, job)
    except (ValueError, JobError) as exc:
        print(f"revoice: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    from revoice.cli import _print_out

    _print_out(f"revoice: wrote {args.write_job} ({len(job.lines)} lines); edit it and run "
               f"'revoice run --job {args.write_job}'")
    return EXIT_OK
