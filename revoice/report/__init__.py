"""QC report of a revoiced timeline: one row per line, written as HTML, JSON and CSV.

:func:`write_report` (:mod:`revoice.report.write`) is the one writer, for
``revoice run --qc``, ``revoice qc`` (:func:`qc_main`, :mod:`revoice.report.cli`),
the panel and the session. The rows come from the timeline's clips
(:mod:`revoice.report.rows`, via :mod:`revoice.otio_bridge.clip_metadata`), the page
from :mod:`revoice.report.page` with its drawings in :mod:`revoice.report.svg`, and
the Voices table (what speaks each character) from :mod:`revoice.report.voices`.
"""

from revoice.report.cli import qc_main
from revoice.report.page import diff_html, render_html
from revoice.report.rows import ROW_FIELDS, ReportLine, qc_rows, report_lines, rows_csv
from revoice.report.svg import waveform_svg
from revoice.report.voices import VOICE_KIND_WORDS, VoiceRow, VoiceSummary, read_profiles, voice_rows, voices_folder
from revoice.report.write import write_report

__all__ = [
    "ROW_FIELDS",
    "VOICE_KIND_WORDS",
    "ReportLine",
    "VoiceRow",
    "VoiceSummary",
    "diff_html",
    "qc_main",
    "qc_rows",
    "read_profiles",
    "render_html",
    "report_lines",
    "rows_csv",
    "voice_rows",
    "voices_folder",
    "waveform_svg",
    "write_report",
]
