"""With QC on, the QC report on disk after a panel render is the full one (revoice.report's), not a panel sheet.

The run writes ``<stem>_qc.html`` with its JSON and CSV siblings through the
one writer; the panel must not write its own simpler table over it when the
run finishes. The meters are the test session's (``line_qc``: Whisper,
DistillMOS, the speaker encoder), handed to the window in its EngineContext.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from panel_helpers import WindowFactory, run_and_wait

from revoice.context import EngineContext

pytestmark = pytest.mark.slow


def test_with_qc_on_the_report_on_disk_is_the_full_report(make_window: WindowFactory, piper_backend: object,
                                                          line_qc: object, tmp_path: Path) -> None:
    window = make_window(context=EngineContext(voice=piper_backend, assessor=line_qc))  # type: ignore[arg-type]
    assert window.open_demo()
    project = window.project
    assert project is not None
    dialog = window.settings_dialog()  # QC on, as an editor turns it on
    dialog.qc.setChecked(True)
    window.apply_settings(dialog.result_settings())
    dialog.deleteLater()
    assert window.job_options([project.lines[0].line_id]).qc

    line_id = project.lines[5].line_id  # one line, one take: metering is seconds on a CPU
    window.select_lines([line_id])
    outcome = run_and_wait(window)
    assert outcome is not None and not outcome.failed  # type: ignore[attr-defined]
    assert window.assessor is not None  # the session's meters did the metering (nothing loaded)

    report = project.qc_report_path
    assert report in outcome.written  # type: ignore[attr-defined]  # the run wrote it ...
    assert window.action_qc.isEnabled()
    page = report.read_text(encoding="utf-8")
    # ... and it is still the full report: revoice.report's title, summary charts and the take's waveform
    assert f"<title>Revoice QC: {project.out.name}</title>" in page
    assert "<div class=charts>" in page and page.count("<svg") >= 2
    json_path, csv_path = report.with_suffix(".json"), report.with_suffix(".csv")
    assert json_path.is_file() and csv_path.is_file()
    rows = json.loads(json_path.read_text(encoding="utf-8"))
    assert [row["line_id"] for row in rows] == [line_id]
    assert rows[0]["wer"] is not None and rows[0]["mos"] is not None  # metered by the run
    assert line_id in csv_path.read_text(encoding="utf-8")
    assert f"id='{line_id}'" in page
