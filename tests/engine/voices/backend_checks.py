"""Checks every voice backend's tests make: a cheap import, and the user's real model when it is installed."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Sequence

import pytest
from revoice.engine.voices.base import BackendOptions, BackendSpec, VoiceBackend
from revoice.engine.voices.registry import load_backend


def heavy_modules_imported(module: str, heavy: Sequence[str], *, weights_dir: str | None = None) -> list[str]:
    """Which of ``heavy`` a fresh Python has imported after importing ``module`` (a backend module, by its
    dotted name) and asking its ``SPEC`` for availability with ``weights_dir``; sorted, [] when the import is lazy."""
    options = "" if weights_dir is None else f"weights_dir={weights_dir!r}"
    code = (f"import sys, {module} as m; m.SPEC.availability(m.BackendOptions({options})); "
            f"print(sorted(k for k in {tuple(heavy)!r} if k in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    listed = ast.literal_eval(out.stdout.strip())
    assert isinstance(listed, list)
    return [str(name) for name in listed]


def installed_backend(spec: BackendSpec) -> VoiceBackend:
    """The user's installed model for ``spec``, loaded on CUDA; skips with the availability reason when absent."""
    reason = spec.availability(BackendOptions())
    if reason:
        pytest.skip(reason)
    return load_backend(spec, BackendOptions(device="cuda"))
