"""Panel settings persisted in QSettings (organization "Revoice", application "Revoice Panel").

Tests and portable installs point the store at a folder with
:func:`use_settings_dir` (or the ``REVOICE_SETTINGS_DIR`` environment
variable, read by :func:`revoice.ui.app.main`); it then lives in one INI file there.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from PyQt6.QtCore import QSettings

ORGANIZATION = "Revoice"
APPLICATION = "Revoice Panel"
SETTINGS_DIR_ENV = "REVOICE_SETTINGS_DIR"
MAX_RECENT = 8

LOUDNESS_CHOICES: tuple[tuple[str, str], ...] = (
    ("ebu-r128", "EBU R 128  (-23 LUFS)"),
    ("atsc-a85", "ATSC A/85  (-24 LKFS)"),
    ("netflix", "Netflix dialogue  (-27 LKFS)"),
    ("match", "Match each original line"),
)

MAX_TAKES = 5
"""Most takes per line the panel offers (the engine allows more; five is plenty to choose from)."""

_settings_dir: Path | None = None


def use_settings_dir(path: Path | None) -> None:
    """Keep settings in ``path/Revoice Panel.ini`` (None: the platform's usual place)."""
    global _settings_dir
    _settings_dir = path
    if path is not None:
        path.mkdir(parents=True, exist_ok=True)


def settings_dir_from_env() -> None:
    """Honour ``REVOICE_SETTINGS_DIR`` if it is set."""
    value = os.environ.get(SETTINGS_DIR_ENV)
    if value:
        use_settings_dir(Path(value))


def open_qsettings() -> QSettings:
    if _settings_dir is not None:
        return QSettings(str(_settings_dir / f"{APPLICATION}.ini"), QSettings.Format.IniFormat)
    return QSettings(ORGANIZATION, APPLICATION)


@dataclass(frozen=True)
class RecentEntry:
    timeline: Path
    subtitles: Path | None = None

    def label(self) -> str:
        subs = f"  +  {self.subtitles.name}" if self.subtitles else ""
        return f"{self.timeline.name}{subs}"


@dataclass(frozen=True)
class PanelSettings:
    """Everything the panel remembers between sessions."""

    loudness: str = "ebu-r128"
    true_peak_dbtp: float = -2.0
    min_ratio: float = 0.8
    max_ratio: float = 1.25
    device: str = "cpu"
    takes: int = 1
    """Takes rendered per line (1..MAX_TAKES); the editor picks one in the preview."""
    qc: bool = False
    """Meter every take (ASR word error, voice similarity, MOS); loading the meters takes seconds."""
    voice_profiles: bool = True
    """Build a voice profile per character from the original dialogue under the lines, when the timeline has
    it (``revoice run --profiles auto``); off: every character speaks with a stock voice."""
    commercial: bool = False
    """Commercial use only (``revoice run --commercial``): a voice whose weights' licence does not allow commercial
    use is refused with its reason instead of rendering."""
    convert: str = ""
    """Voice conversion (``revoice run --convert``): "" each profile as its file says, "auto" (the first
    converter that fits), "off" (convert profiles speak as tints), or a converter's name; the converter's
    weights come from its environment variable (``REVOICE_OPENVOICE_WEIGHTS``...)."""
    speaker_voices: dict[str, str] = field(default_factory=dict)
    recent: tuple[RecentEntry, ...] = ()
    last_dir: str = ""

    def with_recent(self, entry: RecentEntry) -> PanelSettings:
        kept = [e for e in self.recent if e.timeline != entry.timeline]
        return replace(self, recent=tuple([entry, *kept][:MAX_RECENT]))


def _float(store: QSettings, key: str, default: float) -> float:
    value: Any = store.value(key, default)
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def _str(store: QSettings, key: str, default: str) -> str:
    value: Any = store.value(key, default)
    return value if isinstance(value, str) else default


def _int(store: QSettings, key: str, default: int, low: int, high: int) -> int:
    value: Any = store.value(key, default)
    try:
        number = int(value)
    except (TypeError, ValueError):
        return default
    return min(max(number, low), high)


def _bool(store: QSettings, key: str, default: bool) -> bool:
    value: Any = store.value(key, default)
    if isinstance(value, bool):
        return value
    if isinstance(value, str):  # INI files store "true" / "false"
        return value.strip().lower() in ("true", "1", "yes", "on")
    return default


def _json(store: QSettings, key: str) -> Any:
    try:
        return json.loads(_str(store, key, "null"))
    except ValueError:
        return None


def load_settings(store: QSettings | None = None) -> PanelSettings:
    store = store or open_qsettings()
    defaults = PanelSettings()
    voices = _json(store, "voices/by_speaker")
    recent_raw = _json(store, "files/recent")
    recent: list[RecentEntry] = []
    if isinstance(recent_raw, list):
        for item in recent_raw:
            if isinstance(item, dict) and isinstance(item.get("timeline"), str):
                subs = item.get("subtitles")
                recent.append(RecentEntry(Path(item["timeline"]), Path(subs) if isinstance(subs, str) else None))
    loudness = _str(store, "render/loudness", defaults.loudness)
    if loudness not in {key for key, _ in LOUDNESS_CHOICES}:
        loudness = defaults.loudness
    return PanelSettings(
        loudness=loudness,
        true_peak_dbtp=_float(store, "render/true_peak_dbtp", defaults.true_peak_dbtp),
        min_ratio=_float(store, "render/min_ratio", defaults.min_ratio),
        max_ratio=_float(store, "render/max_ratio", defaults.max_ratio),
        device=_str(store, "render/device", defaults.device),
        takes=_int(store, "render/takes", defaults.takes, 1, MAX_TAKES),
        qc=_bool(store, "render/qc", defaults.qc),
        voice_profiles=_bool(store, "voices/profiles", defaults.voice_profiles),
        commercial=_bool(store, "voices/commercial", defaults.commercial),
        convert=_str(store, "voices/convert", defaults.convert),
        speaker_voices={str(k): str(v) for k, v in voices.items()} if isinstance(voices, dict) else {},
        recent=tuple(recent[:MAX_RECENT]),
        last_dir=_str(store, "files/last_dir", ""),
    )


def save_settings(settings: PanelSettings, store: QSettings | None = None) -> None:
    store = store or open_qsettings()
    store.setValue("render/loudness", settings.loudness)
    store.setValue("render/true_peak_dbtp", settings.true_peak_dbtp)
    store.setValue("render/min_ratio", settings.min_ratio)
    store.setValue("render/max_ratio", settings.max_ratio)
    store.setValue("render/device", settings.device)
    store.setValue("render/takes", settings.takes)
    store.setValue("render/qc", settings.qc)
    store.setValue("voices/profiles", settings.voice_profiles)
    store.setValue("voices/commercial", settings.commercial)
    store.setValue("voices/convert", settings.convert)
    store.setValue("voices/by_speaker", json.dumps(settings.speaker_voices, sort_keys=True))
    store.setValue("files/recent", json.dumps([
        {"timeline": str(e.timeline), "subtitles": str(e.subtitles) if e.subtitles else None}
        for e in settings.recent]))
    store.setValue("files/last_dir", settings.last_dir)
    store.sync()
