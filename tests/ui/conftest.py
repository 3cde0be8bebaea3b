"""Fixtures for the panel tests: an offscreen QApplication, isolated settings, window factories."""

from __future__ import annotations

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"  # before anything imports Qt

from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("PyQt6.QtWidgets")

from panel_helpers import WindowFactory
from PyQt6.QtCore import QCoreApplication, QEventLoop
from PyQt6.QtWidgets import QApplication
from revoice.ui.app import create_app
from revoice.ui.settings import open_qsettings, use_settings_dir

SCREENSHOT_DIR_ENV = "REVOICE_SCREENSHOT_DIR"


@pytest.fixture(scope="session")
def qapp() -> QApplication:
    return create_app(["revoice-panel-tests"])


@pytest.fixture
def settings_dir(tmp_path: Path) -> Iterator[Path]:
    """Settings in a fresh folder, with voice profiles off (the panel's default is on).

    Building profiles matches voices for minutes per scene; tests that want them turn them on
    (test_panel_voices.py), the others render stock voices as before.
    """
    folder = tmp_path / "settings"
    use_settings_dir(folder)
    store = open_qsettings()
    store.setValue("voices/profiles", False)
    store.sync()
    yield folder
    use_settings_dir(None)


@pytest.fixture
def make_window(qapp: QApplication, settings_dir: Path, tmp_path: Path) -> Iterator[WindowFactory]:
    """``make_window(backend=None, work_dir=tmp/work, context=None)``: shown windows, closed (render threads
    joined) after. ``context`` hands the window loaded models (an EngineContext with the session's meters)."""
    from revoice.ui.window import RevoiceWindow

    made: list[RevoiceWindow] = []

    def make(backend: object = None, work_dir: Path | None = None, context: object = None) -> RevoiceWindow:
        window = RevoiceWindow(backend=backend, work_dir=work_dir or tmp_path / "work",  # type: ignore[arg-type]
                               context=context)  # type: ignore[arg-type]
        window.resize(1280, 800)
        window.show()
        made.append(window)
        return window

    yield make
    for window in made:
        window.close()
        window.deleteLater()
    QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)


@pytest.fixture
def screenshot_dir(tmp_path: Path) -> Path:
    """Where screenshots go: ``$REVOICE_SCREENSHOT_DIR`` (e.g. docs/screenshots) or a temp folder."""
    folder = Path(os.environ.get(SCREENSHOT_DIR_ENV) or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder
