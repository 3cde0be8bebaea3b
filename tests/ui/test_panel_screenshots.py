"""Screenshots of the panel's main states (docs/screenshots when REVOICE_SCREENSHOT_DIR points there).

    REVOICE_SCREENSHOT_DIR=docs/screenshots pytest tests/ui/test_panel_screenshots.py tests/ui/test_panel_takes.py

(``line_with_takes.png``, two metered takes in the chooser, comes from test_panel_takes.py.)
``emotion.png``: the Emotion column with every source (subtitle tag, panel, default with and without
original audio) and a line's emotion control after an A/B against neutral.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from panel_helpers import WindowFactory, dismiss_dialogs, settle
from PyQt6.QtCore import QCoreApplication, QEvent
from PyQt6.QtGui import QImage
from PyQt6.QtTest import QSignalSpy

NAMES = ("empty", "loaded", "rendering", "line_selected", "error_dialog")


def saved(path: Path, min_width: int = 300) -> None:
    image = QImage(str(path))
    assert not image.isNull() and image.width() >= min_width, path


@pytest.mark.slow
def test_screenshots(make_window: WindowFactory, piper_backend: object, screenshot_dir: Path,
                     shared_corpus: Path) -> None:
    window = make_window(backend=piper_backend)
    settle()
    window.grab().save(str(screenshot_dir / "empty.png"))

    assert window.open_demo()
    assert window.project is not None
    settle()
    window.grab().save(str(screenshot_dir / "loaded.png"))

    ids = [line.line_id for line in window.project.lines[4:7]]
    window.select_lines(ids)
    grabbed: list[str] = []

    def grab_second_line(line_id: str, state: str, _message: str) -> None:
        if state == "rendering" and line_id != ids[0] and not grabbed:
            grabbed.append(line_id)
            QCoreApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest.value)
            window.grab().save(str(screenshot_dir / "rendering.png"))

    window.controller.lineChanged.connect(grab_second_line)
    spy = QSignalSpy(window.runFinished)
    window.action_revoice.trigger()
    assert spy.wait(60_000)
    assert grabbed

    window.select_lines([ids[0]])
    assert window.preview.revoiced_view.has_audio
    settle()
    window.grab().save(str(screenshot_dir / "line_selected.png"))

    seen: list[str] = []
    dismiss_dialogs(seen, screenshot=screenshot_dir / "error_dialog.png")
    assert not window.open_files(window.project.timeline_path, shared_corpus / "subtitles" / "invalid_format1.srt")
    assert seen

    for name in NAMES:
        saved(screenshot_dir / f"{name}.png")


@pytest.mark.slow
def test_emotion_screenshot(make_window: WindowFactory, piper_backend: object, screenshot_dir: Path,
                            tmp_path: Path) -> None:
    from test_panel_emotion import choose, open_emotion_scene

    window = make_window(backend=piper_backend)
    open_emotion_scene(window, tmp_path / "scene")
    window.select_lines(["L0003"])
    choose(window, "happy", 60)
    window.select_lines(["L0001", "L0002", "L0003", "L0004", "L0008"])
    spy = QSignalSpy(window.runFinished)
    window.action_revoice.trigger()
    assert spy.wait(120_000)
    window.select_lines(["L0002"])
    ab = QSignalSpy(window.abFinished)
    assert window.compare_with_neutral()
    assert ab.wait(120_000) and list(ab[0]) == ["L0002", True]
    settle()
    window.grab().save(str(screenshot_dir / "emotion.png"))
    saved(screenshot_dir / "emotion.png")
