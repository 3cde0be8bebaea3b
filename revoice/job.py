"""One whole job, as ``revoice run`` does it: open the timeline, render every line, write.

A thin wrapper over :class:`revoice.session.Session` for callers that do one
job and exit (the CLI, batch scripts, a render-farm shard)::

    outcome = run_job(JobOptions(timeline=..., out=..., subtitles=...), progress=bar.update)

Progress and cancel are callbacks; nothing here prints. Bad input raises
:class:`JobError` with the one-line message and exit code the CLI shows.
"""

from __future__ import annotations

from collections.abc import Callable

from revoice.context import EngineContext
from revoice.engine.render import Progress
from revoice.options import JobError, JobOptions, Shard
from revoice.outcome import JobOutcome
from revoice.session import JobProgress, Session

__all__ = ["EngineContext", "JobError", "JobOptions", "JobOutcome", "JobProgress", "Shard", "run_job"]


def run_job(options: JobOptions, *, context: EngineContext | None = None, progress: JobProgress | None = None,
            should_cancel: Callable[[], bool] | None = None,
            on_line: Callable[[Progress], None] | None = None) -> JobOutcome:
    """Read, render (this shard's lines) and write. Raises JobError on bad input.

    ``context`` holds models loaded by earlier runs (the panel keeps one); without
    it a fresh one loads what this job needs on ``options.device``.
    """
    return Session.for_job(options, context=context).render(options, progress=progress, on_line=on_line,
                                                            should_cancel=should_cancel)
