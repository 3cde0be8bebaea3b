"""Helpers for the panel tests (event-loop waits, dialog dismissal)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

os.environ["QT_QPA_PLATFORM"] = "offscreen"

from PyQt6.QtCore import QCoreApplication, QEventLoop, Qt, QTimer
from PyQt6.QtTest import QTest
from PyQt6.QtWidgets import QApplication, QMessageBox, QWidget

if TYPE_CHECKING:
    from ui.window import RevoiceWindow

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
