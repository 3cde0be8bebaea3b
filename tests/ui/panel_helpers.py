"""Helpers for the panel tests (event-loop waits, dialog dismissal, running a render, reading an export)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

os.environ["QT_QPA_PLATFORM"] = "offscreen"

import opentimelineio as otio
from PyQt6.QtCore import QCoreApplication, QEventLoop, Qt, QTimer
from PyQt6.QtTest import QSignalSpy, QTest
from PyQt6.QtWidgets import QApplication, QMessageBox, QWidget

if TYPE_CHECKING:
    from revoice.ui.window import RevoiceWindow

WindowFactory = Callable[..., "RevoiceWindow"]


def wait_until(predicate: Callable[[], bool], timeout: float = 30.0) -> bool:
    """Run the event loop until ``predicate()`` holds or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
        QCoreApplication.sendPostedEvents()
        loop = QEventLoop()
        QTimer.singleShot(5, loop.quit)
        loop.exec()
    return True


def settle() -> None:
    """Let pending layout requests run so a grab shows the final geometry."""
    QCoreApplication.sendPostedEvents()
    QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)


def dismiss_dialogs(seen: list[str], screenshot: Path | None = None, attempts: int = 1000) -> None:
    """Close the next modal QMessageBox as soon as it shows, recording its text (and a screenshot)."""

    def check(left: int) -> None:
        box = QApplication.activeModalWidget()
        if isinstance(box, QMessageBox):
            seen.append(f"{box.windowTitle()}\n{box.text()}\n{box.informativeText()}")
            if screenshot is not None:
                box.grab().save(str(screenshot))
            box.done(int(QMessageBox.StandardButton.Ok.value))
        elif left > 0:
            QTimer.singleShot(10, lambda: check(left - 1))

    QTimer.singleShot(0, lambda: check(attempts))


def activate(widget: QWidget) -> None:
    """Make ``widget``'s window the active one, so its shortcuts fire."""
    widget.activateWindow()
    assert QTest.qWaitForWindowActive(widget, 5000)  # type: ignore[call-overload]  # PyQt6 stubs: static


def key_click(widget: QWidget, key: Qt.Key,
              modifier: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:
    QTest.keyClick(widget, key, modifier)  # type: ignore[call-overload]  # PyQt6 stubs: static


RUN_TIMEOUT_MS = 60_000


def run_and_wait(window: RevoiceWindow, *, by_key: bool = False) -> object:
    """Revoice the selection (the action, or Ctrl+R) and wait for the run; its JobOutcome (None: failed)."""
    spy = QSignalSpy(window.runFinished)
    if by_key:
        activate(window)
        key_click(window.table, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    else:
        window.action_revoice.trigger()
    assert window.controller.running
    assert len(spy) == 1 or spy.wait(RUN_TIMEOUT_MS), "the render did not finish"
    assert not window.controller.running
    return spy[0][0]


def revoice_tracks(path: Path) -> dict[str, list[otio.schema.Clip]]:
    timeline = otio.adapters.read_from_file(str(path))
    return {track.name: [item for item in track if isinstance(item, otio.schema.Clip)]
            for track in timeline.audio_tracks() if track.name.startswith("Revoice - ")}


def opened(make_window: WindowFactory, backend: object, work_dir: Path | None = None) -> RevoiceWindow:
    window = make_window(backend=backend, work_dir=work_dir)
    assert window.open_demo()
    return window


def two_speakers_lines(window: RevoiceWindow) -> list[str]:
    """The first line of each of the first two speakers (so the export has two Revoice tracks)."""
    assert window.project is not None
    first: dict[str, str] = {}
    for line in window.project.lines:
        first.setdefault(line.speaker, line.line_id)
    return sorted(first.values())[:2]
