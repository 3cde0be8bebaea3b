"""Fixtures shared by every test package."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from engine.voices.piper_voice import PiperBackend


@pytest.fixture(scope="session")
def shared_corpus() -> Path:
    """``../shared/corpus`` next to the repository (real test inputs); skips when absent."""
    corpus = Path(__file__).parents[1].parent / "shared" / "corpus"
    if not corpus.is_dir():
        pytest.skip(f"shared corpus not found at {corpus}")
    return corpus


@pytest.fixture(scope="session")
def piper_backend() -> PiperBackend:
    """The offline default voice, loaded once per test session (about 2 s)."""
    from engine.voices.base import BackendOptions
    from engine.voices.piper_voice import SPEC, PiperBackend

    reason = SPEC.availability(BackendOptions())
    if reason:
        pytest.skip(reason)
    return PiperBackend(BackendOptions(threads=2))
