"""The embedded demo: a 23.976 fps timeline starting at 01:00:00:00 with its subtitles.

``demo.otio`` is made by ``python -m revoice.demo.make`` and shipped; the
subtitle times are timeline timecodes (01:00:01,000), as Resolve writes them.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def demo_files() -> tuple[Path, Path]:
    """Paths of the shipped demo timeline and subtitle file."""
    root = resources.files("revoice.demo")
    return Path(str(root / "demo.otio")), Path(str(root / "demo.srt"))
