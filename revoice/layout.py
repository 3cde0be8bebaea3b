"""Where a revoiced timeline's files go: one record, beside the output timeline.

For ``--out scene_revoiced.otio``::

    scene_revoiced.otio            the new timeline (and .otioz / .xml with --also)
    scene_revoiced_media/          the WAVs and their sidecar JSON (resume, shards, takes)
    scene_revoiced_voices/         the characters' voice profiles (or the --profiles folder)
    scene_revoiced_qc.html|json|csv  the QC report; its audio clips in scene_revoiced_qc_media/
    scene_revoiced_panel.json      the panel's text edits and take picks

The CLI, the panel, the QC report and the service all ask this record; no
one else builds these names.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

TIMELINE_SUFFIXES = (".otio", ".otioz", ".xml")
"""What a revoiced timeline can be written as."""


@dataclass(frozen=True)
class OutputLayout:
    """The files of one revoiced timeline ``out``; ``profiles_folder`` overrides where profiles live."""

    out: Path
    profiles_folder: Path | None = None

    def _beside(self, suffix: str) -> Path:
        return self.out.with_name(f"{self.out.stem}{suffix}")

    @property
    def media_dir(self) -> Path:
        """The rendered WAVs and their sidecars: ``<stem>_media``."""
        return self._beside("_media")

    @property
    def voices_dir(self) -> Path:
        """The characters' voice profiles: the ``--profiles`` folder, else ``<stem>_voices``."""
        return self.profiles_folder if self.profiles_folder is not None else self._beside("_voices")

    @property
    def qc_html(self) -> Path:
        return self._beside("_qc.html")

    @property
    def qc_json(self) -> Path:
        return self._beside("_qc.json")

    @property
    def qc_csv(self) -> Path:
        return self._beside("_qc.csv")

    @property
    def qc_media_dir(self) -> Path:
        """Short audio clips the QC report's players link to."""
        return self._beside("_qc_media")

    @property
    def panel_state(self) -> Path:
        """The panel's own state for this timeline (text edits, take picks)."""
        return self._beside("_panel.json")

    def timeline_targets(self, also: tuple[str, ...] = ()) -> list[Path]:
        """``out`` plus one file per extra format in ``also`` (``"otioz"``, ``"xml"``), no repeats."""
        extra = [self.out.with_suffix("." + kind) for kind in also if self.out.suffix != "." + kind]
        return [self.out, *dict.fromkeys(extra)]

    def in_folder(self, folder: Path) -> OutputLayout:
        """The same names with every file written into ``folder`` (the QC report's ``out_dir``)."""
        return OutputLayout(folder / self.out.name, self.profiles_folder)
