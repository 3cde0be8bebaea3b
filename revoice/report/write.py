"""Write the QC report of a revoiced timeline: ``<stem>_qc.html``, ``<stem>_qc.json`` and ``<stem>_qc.csv``.

The one writer of the report, for ``revoice run --qc``, ``revoice qc``, the
panel and the session; all three files appear atomically, named by
:class:`revoice.layout.OutputLayout`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from revoice.engine.files import write_text_atomic
from revoice.layout import OutputLayout
from revoice.report.page import render_html
from revoice.report.rows import meter_line, report_lines, rows_csv
from revoice.report.voices import VoiceSummary, read_profiles, voice_rows

if TYPE_CHECKING:
    from revoice.engine.qc.assess import LineQc


def write_report(timeline_path: str | Path, out_dir: str | Path | None = None, *,
                 measure: LineQc | None = None, voices: Sequence[VoiceSummary] | None = None,
                 voices_dir: Path | None = None) -> list[Path]:
    """Write ``<stem>_qc.html``, ``<stem>_qc.json`` and ``<stem>_qc.csv`` for a revoiced timeline.

    ``out_dir`` defaults to the timeline's folder. With ``measure`` every line
    without stored QC numbers is metered now (nothing is written back into
    the timeline), and so is every line spoken by a voice profile that
    ``measure`` knows (:meth:`LineQc.character_profile`) whose stored
    numbers lack the voice similarity (rendered before profiles were
    compared). The page's Voices table shows ``voices`` (the panel's), else
    what the timeline's clips say spoke each character, with strength and
    consent from the profiles in ``voices_dir`` (default: ``<stem>_voices``
    beside the timeline). Returns the three paths (HTML, JSON, CSV).
    """
    from revoice.otio_bridge.timeline import read_timeline

    path = Path(timeline_path)
    timeline = read_timeline(path)
    out = Path(out_dir) if out_dir is not None else path.absolute().parent
    out.mkdir(parents=True, exist_ok=True)
    entries = report_lines(timeline, path.absolute().parent)
    if measure is not None:
        for entry in entries:
            if entry.rendered is None:
                continue
            unmeasured_profile = (entry.row["voice_similarity"] is None
                                  and measure.character_profile(entry.rendered) is not None)
            if not entry.row["metered"] or unmeasured_profile:
                meter_line(entry, measure)
    rows = [entry.row for entry in entries]
    layout = OutputLayout(path)
    files = layout.in_folder(out)
    write_text_atomic(files.qc_json, json.dumps(rows, indent=1, ensure_ascii=False))
    write_text_atomic(files.qc_csv, rows_csv(rows))
    if voices is None:
        profiles, _ = read_profiles(voices_dir if voices_dir is not None else layout.voices_dir)
        voices = voice_rows(entries, profiles)
    page = render_html(entries, title=f"Revoice QC: {path.name}", out_dir=out, media_dir=files.qc_media_dir,
                       source=str(path), voices=voices)
    write_text_atomic(files.qc_html, page)
    return [files.qc_html, files.qc_json, files.qc_csv]
