"""Audio preview through QtMultimedia, when it loads here.

Qt Multimedia needs system audio libraries (PulseAudio, ALSA, CoreAudio,
WASAPI); on machines without them importing it fails. :func:`playback_problem`
then returns a sentence for a tooltip and the panel keeps working silently.
"""

from __future__ import annotations

import importlib
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from PyQt6.QtCore import QObject, QUrl, pyqtSignal


@lru_cache(maxsize=1)
def _multimedia() -> tuple[Any, str | None]:
    """(the QtMultimedia module or None, why not)."""
    try:
        module = importlib.import_module("PyQt6.QtMultimedia")
    except Exception as exc:  # ImportError or a missing shared library
        return None, (f"Playback is unavailable: Qt Multimedia could not load ({exc}). "
                      "Install the system audio libraries (e.g. libpulse0) to enable it.")
    return module, None


def playback_problem() -> str | None:
    """None when playback works, else why not (for tooltips)."""
    return _multimedia()[1]


class AudioPlayer(QObject):
    """Plays a WAV file or an array (written to a private temp folder); one sound at a time."""

    positionChanged = pyqtSignal(float)
    """Seconds into the current sound."""
    stateChanged = pyqtSignal(bool)
    """True while playing."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        module, _ = _multimedia()
        self._player: Any = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._current = ""
        if module is None:
            return
        self._output = module.QAudioOutput(self)
        self._player = module.QMediaPlayer(self)
        self._player.setAudioOutput(self._output)
        self._player.positionChanged.connect(lambda ms: self.positionChanged.emit(ms / 1000.0))
        playing = module.QMediaPlayer.PlaybackState.PlayingState
        self._player.playbackStateChanged.connect(lambda state: self.stateChanged.emit(state == playing))

    @property
    def available(self) -> bool:
        return self._player is not None

    @property
    def current(self) -> str:
        """What is loaded: a label given to ``play_*``."""
        return self._current

    @property
    def source(self) -> Path | None:
        """The file loaded to play (None: nothing, or playback unavailable)."""
        if self._player is None:
            return None
        url = self._player.source()
        return Path(url.toLocalFile()) if url.isLocalFile() else None

    def is_playing(self) -> bool:
        if self._player is None:
            return False
        module, _ = _multimedia()
        return bool(self._player.playbackState() == module.QMediaPlayer.PlaybackState.PlayingState)

    def play_file(self, path: Path, label: str = "") -> bool:
        if self._player is None or not path.is_file():
            return False
        self._player.stop()
        self._player.setSource(QUrl.fromLocalFile(str(path)))
        self._current = label or str(path)
        self._player.play()
        return True

    def play_array(self, audio: npt.NDArray[np.float32], sample_rate: int, label: str) -> bool:
        if self._player is None:
            return False
        import soundfile as sf

        if self._tmp is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="revoice-preview-")
        path = Path(self._tmp.name) / "original.wav"
        self._player.stop()
        self._player.setSource(QUrl())
        sf.write(str(path), np.asarray(audio, dtype=np.float32), sample_rate, subtype="PCM_24")
        return self.play_file(path, label)

    def stop(self) -> None:
        if self._player is not None:
            self._player.stop()

    def close(self) -> None:
        self.stop()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
