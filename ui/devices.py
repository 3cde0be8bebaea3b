"""Compute devices for the device selector: CPU, plus CUDA GPUs when torch sees them.

Importing torch takes a second or two, so :class:`DeviceProbe` does it on a
background thread the first time the list is wanted and caches the result.
"""

from __future__ import annotations

import importlib
import importlib.util
import threading
from dataclasses import dataclass
from typing import Any

from PyQt6.QtCore import QObject, pyqtSignal

GIB = 1024**3


@dataclass(frozen=True)
class DeviceChoice:
    key: str
    """What goes to BackendOptions.device: ``cpu``, ``cuda``, ``cuda:1``."""
    label: str


CPU = DeviceChoice("cpu", "CPU")

_lock = threading.Lock()
_cached: list[DeviceChoice] | None = None


def list_devices() -> list[DeviceChoice]:
    """CPU first, then each CUDA device with its name and free memory (blocking; cached)."""
    global _cached
    with _lock:
        if _cached is None:
            _cached = _probe()
        return list(_cached)


def cached_devices() -> list[DeviceChoice] | None:
    with _lock:
        return list(_cached) if _cached is not None else None


def _probe() -> list[DeviceChoice]:
    choices = [CPU]
    if importlib.util.find_spec("torch") is None:
        return choices
    try:
        torch: Any = importlib.import_module("torch")
        if not torch.cuda.is_available():
            return choices
        for i in range(int(torch.cuda.device_count())):
            name = str(torch.cuda.get_device_name(i))
            try:
                free, total = torch.cuda.mem_get_info(i)
                memory = f" — {free / GIB:.1f} GiB free of {total / GIB:.0f} GiB"
            except Exception:
                memory = ""
            choices.append(DeviceChoice("cuda" if i == 0 else f"cuda:{i}", f"CUDA {i}: {name}{memory}"))
    except Exception:  # a broken torch install must not break the panel
        return choices
    return choices


class DeviceProbe(QObject):
    """Emits ``ready(list[DeviceChoice])`` on the UI thread once the devices are known."""

    ready = pyqtSignal(object)

    def start(self) -> None:
        found = cached_devices()
        if found is not None:
            self.ready.emit(found)
            return
        threading.Thread(target=self._probe_and_emit, name="revoice-devices", daemon=True).start()

    def _probe_and_emit(self) -> None:
        found = list_devices()
        try:
            self.ready.emit(found)
        except RuntimeError:  # the dialog that asked was closed meanwhile
            pass
