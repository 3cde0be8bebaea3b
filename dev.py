#!/usr/bin/env python3
"""Set up and run Revoice from a fresh clone with nothing but python3.

    python3 dev.py demo   # create .venv, install, revoice the embedded demo into out/
    python3 dev.py test   # create .venv, install, run the test suite
    python3 dev.py bench  # run the benchmarks in bench/ (JSON on stdout)

Installs are skipped when pyproject.toml has not changed since the last one.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".revoice-install-stamp"


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
    STAMP.write_text(wanted)


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "help"
    if command not in ("demo", "test", "bench"):
        print(__doc__)
        return 2
    ensure_installed()
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
