"""The plugin files the installer copies: which files of ``plugin/resolve`` and ``plugin/premiere`` go, and
the UXP plugin's packaged ``.ccx`` and identity. Reads the checkout only; places nothing.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

LEFT_OUT_OF_PLUGINS = frozenset({"tests", "test", "node_modules", "dist", "harness", "tools", "__pycache__"})
"""Names never copied from plugin/resolve or plugin/premiere (nor dot-names, stand-ins, tests, ``*.md``)."""


@dataclass(frozen=True, kw_only=True)
class PluginIdentity:
    """A UXP plugin's ``id`` and ``name`` (its manifest.json)."""

    plugin_id: str
    name: str


def _left_out(name: str) -> bool:
    squashed = name.lower().replace("_", "").replace("-", "")
    return (name.startswith(".") or name in LEFT_OUT_OF_PLUGINS or "standin" in squashed
            or name.endswith((".pyc", ".md")) or name == "conftest.py" or name.startswith("test_"))


def plugin_files(folder: Path) -> list[Path]:
    """The files of a plugin folder to install, relative to it: no tests, stand-ins, dist, dot-files or docs."""
    if not folder.is_dir():
        return []
    found: list[Path] = []
    for entry in sorted(folder.iterdir()):
        if _left_out(entry.name):
            continue
        if entry.is_dir():
            found += [entry.name / inner for inner in plugin_files(entry)]
        elif entry.is_file():
            found.append(Path(entry.name))
    return found


def uxp_plugin_root(premiere: Path) -> Path:
    """The folder of the UXP plugin's manifest.json: ``plugin/premiere`` or its ``src``, else ``plugin/premiere``."""
    for candidate in (premiere, premiere / "src"):
        if (candidate / "manifest.json").is_file():
            return candidate
    return premiere


def built_plugin_package(premiere: Path) -> Path | None:
    """The packaged UXP plugin, ``dist/revoice.ccx`` (else the only ``dist/*.ccx``), or None."""
    named = premiere / "dist" / "revoice.ccx"
    if named.is_file():
        return named
    packages = sorted((premiere / "dist").glob("*.ccx"))
    return packages[0] if len(packages) == 1 else None


def plugin_identity(package: Path) -> PluginIdentity | None:
    """The ``id`` and ``name`` of a UXP plugin's manifest.json, in a ``.ccx`` (a zip) or a plugin folder."""
    try:
        if package.is_dir():
            text = (package / "manifest.json").read_text(encoding="utf-8")
        else:
            with zipfile.ZipFile(package) as archive:
                text = archive.read("manifest.json").decode("utf-8")
        manifest = json.loads(text)
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return None
    if not isinstance(manifest, dict) or not manifest.get("id"):
        return None
    return PluginIdentity(plugin_id=str(manifest["id"]), name=str(manifest.get("name") or manifest["id"]))
