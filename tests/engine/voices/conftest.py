"""Fixtures for voice-backend tests: the piper model is loaded once per session."""

from __future__ import annotations

import pytest

from engine.voices.base import BackendOptions
from engine.voices.piper_voice import SPEC, PiperBackend


@pytest.fixture(scope="session")
def piper_backend() -> PiperBackend:
    """One loaded joe voice (about 2 s to load); skipped if piper is not installed."""
    reason = SPEC.availability(BackendOptions())
    if reason:
        pytest.skip(reason)
    return PiperBackend(BackendOptions(threads=2))
