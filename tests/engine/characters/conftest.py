"""Fixtures shared by the characters' tests."""

from __future__ import annotations

from typing import Any

import pytest
from revoice.engine.voices.base import BackendOptions


@pytest.fixture(scope="session")
def kokoro() -> Any:
    from revoice.engine.voices.kokoro_voice import SPEC, KokoroBackend

    reason = SPEC.availability(BackendOptions())
    if reason:
        pytest.skip(reason)
    return KokoroBackend(BackendOptions(threads=1))
