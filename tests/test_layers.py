"""The layers import only downwards: engine <- otio_bridge <- app (revoice.*) <- ui."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
APP_FOLDERS = ("revoice",)


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports, at the top or inside functions (relative imports resolved are not used)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
    return found


def _modules(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def _offenders(folder: str, allowed: tuple[str, ...], forbidden: tuple[str, ...]) -> list[str]:
    bad = []
    for path in _modules(folder):
        for name in sorted(_imports(path)):
            if name.startswith(forbidden) and not name.startswith(allowed):
                bad.append(f"{path.relative_to(ROOT)} imports {name}")
    return bad


def test_engine_imports_nothing_above_it() -> None:
    assert _offenders("engine", (), ("revoice.otio_bridge", "revoice.ui", "revoice.session", "revoice.context",
                                     "revoice.casting", "revoice.report", "revoice.service", "revoice.job",
                                     "revoice.options", "revoice.cli", "revoice.layout", "revoice.outcome",
                                     "revoice.summary", "revoice.voice_cli", "revoice.takes",
                                     "otio_bridge", "ui", "engine")) == []


def test_bridge_imports_only_the_engines_records_and_file_helpers() -> None:
    allowed = ("revoice.otio_bridge", "revoice.engine.model", "revoice.engine.records", "revoice.engine.language",
               "revoice.engine.emotion.labels",
               "revoice.engine.formats", "revoice.engine.files")
    assert _offenders("otio_bridge", allowed, ("revoice", "engine", "ui")) == []


@pytest.mark.parametrize("folder", APP_FOLDERS)
def test_app_layer_never_imports_the_panel(folder: str) -> None:
    """Only ``revoice panel`` (the CLI's launcher) opens the panel's entry point."""
    launcher = "revoice/cli.py imports revoice.ui.app"
    assert [bad for bad in _offenders(folder, (), ("revoice.ui", "PyQt6")) if bad != launcher] == []


def test_the_old_top_level_names_are_gone() -> None:
    for folder in ("engine", "otio_bridge", "ui", "revoice", "tests", "bench"):
        assert _offenders(folder, (), ("engine.", "otio_bridge.", "ui.")) == [], folder
