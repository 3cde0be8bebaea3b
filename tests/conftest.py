"""Fixtures shared by every test package."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def shared_corpus() -> Path:
    """``../shared/corpus`` next to the repository (real test inputs); skips when absent."""
    corpus = Path(__file__).parents[1].parent / "shared" / "corpus"
    if not corpus.is_dir():
        pytest.skip(f"shared corpus not found at {corpus}")
    return corpus
