"""Packaging: one import namespace, ``revoice``, mapped from the design's top-level folders."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _config() -> dict[str, object]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]  # type: ignore[no-any-return]


def test_every_package_folder_is_installed_under_revoice() -> None:
    config = _config()
    folders = {str(name): Path(str(folder)) for name, folder in config["package-dir"].items()}  # type: ignore[attr-defined]
    wanted = set()
    for name, folder in folders.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            inside = init.parent.relative_to(ROOT / folder).parts
            wanted.add(".".join((name, *inside)))
    assert set(config["packages"]) == wanted  # type: ignore[arg-type]


@pytest.mark.parametrize("module, importable", [
    ("revoice.engine.model", True), ("revoice.otio_bridge.timeline", True), ("revoice.ui", True),
    ("engine", False), ("otio_bridge", False), ("ui", False),
])
def test_only_the_revoice_namespace_imports(tmp_path: Path, module: str, importable: bool) -> None:
    """Outside the checkout (``-I``: no current folder, no PYTHONPATH), only ``revoice.*`` is installed."""
    done = subprocess.run([sys.executable, "-I", "-c", f"import {module}"], cwd=tmp_path, capture_output=True,
                          text=True)
    assert (done.returncode == 0) is importable, done.stderr[-400:]
