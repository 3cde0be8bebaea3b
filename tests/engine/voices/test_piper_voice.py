"""The piper backend: determinism, duration control, alignments, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from backend_checks import heavy_modules_imported
from revoice.engine.voices.base import BackendOptions, Synthesis, SynthesisRequest, VoiceBackend
from revoice.engine.voices.piper_voice import SAMPLE_RATE, SPEC, PiperBackend, noise_buffer

TEXT = "The night was quiet, and nobody spoke."


def say(backend: PiperBackend, text: str = TEXT, *, seed: int = 0, scale: float = 1.0) -> Synthesis:
    return backend.synthesize(SynthesisRequest(text, "joe", "en-US", duration_scale=scale, seed=seed))


def test_import_is_lazy() -> None:
    assert heavy_modules_imported("revoice.engine.voices.piper_voice", ("piper", "onnx", "onnxruntime")) == []


def test_noise_buffer_is_prefix_stable() -> None:
    short = noise_buffer(7, 1, 1, 192, 50)
    long = noise_buffer(7, 1, 1, 192, 400)
    assert short.shape == (1, 192, 50) and short.dtype == np.float32
    assert np.array_equal(long[:, :, :50], short)
    assert not np.array_equal(noise_buffer(8, 1, 1, 192, 50), short)
    assert not np.array_equal(noise_buffer(7, 2, 1, 192, 50), short)


@pytest.mark.slow
def test_output_format_and_voices(piper_backend: PiperBackend) -> None:
    assert isinstance(piper_backend, VoiceBackend)
    assert piper_backend.spec is SPEC
    assert [v.voice_id for v in piper_backend.voices()] == ["joe"]
    out = say(piper_backend)
    assert out.sample_rate == SAMPLE_RATE == 22050
    assert out.audio.dtype == np.float32 and out.audio.ndim == 1
    assert 1.0 < out.seconds < 5.0
    assert 0.05 < float(np.max(np.abs(out.audio))) <= 1.0


@pytest.mark.slow
def test_same_request_is_byte_identical_across_calls_and_instances(piper_backend: PiperBackend) -> None:
    first = say(piper_backend, seed=3)
    again = say(piper_backend, seed=3)
    # A second instance whose first noise buffer is always too short: the
    # rerun path must give the very same audio.
    other = PiperBackend(BackendOptions(threads=2), noise_frames_per_id=0.0)
    third = say(other, seed=3)
    assert first.audio.tobytes() == again.audio.tobytes() == third.audio.tobytes()
    assert first.segments == again.segments == third.segments


@pytest.mark.slow
def test_different_seeds_differ(piper_backend: PiperBackend) -> None:
    a, b = say(piper_backend, seed=1), say(piper_backend, seed=2)
    assert len(a.audio) != len(b.audio) or not np.array_equal(a.audio, b.audio)


@pytest.mark.slow
def test_duration_follows_duration_scale(piper_backend: PiperBackend) -> None:
    lengths = [len(say(piper_backend, scale=s).audio) for s in (0.7, 1.0, 1.3)]
    assert lengths[0] < lengths[1] < lengths[2]
    assert len(say(piper_backend, scale=1.3).audio) == lengths[2]


@pytest.mark.slow
def test_segments_tile_audio(piper_backend: PiperBackend) -> None:
    out = say(piper_backend, "Wait here. Don't move, please!", seed=5)
    segs = out.segments
    assert segs[0].start == 0 and segs[-1].end == len(out.audio)
    assert all(a.end == b.start for a, b in zip(segs, segs[1:]))
    assert all(s.end >= s.start for s in segs)
    labels = [s.label for s in segs]
    assert labels[0] == "^" and labels[-1] == "$"
    assert {" ", ".", ",", "!"} <= set(labels)
    # Two sentences: ~0.2 s pause between them, labelled " ".
    pause = round(0.2 * SAMPLE_RATE)
    assert any(s.label == " " and s.end - s.start == pause for s in segs)


@pytest.mark.slow
@pytest.mark.parametrize("text", ["", "   ", "...", "?!"])
def test_unspeakable_text_is_refused(piper_backend: PiperBackend, text: str) -> None:
    with pytest.raises(ValueError, match="nothing to say"):
        say(piper_backend, text)


@pytest.mark.slow
def test_bad_requests_are_refused(piper_backend: PiperBackend) -> None:
    with pytest.raises(ValueError, match="voice"):
        piper_backend.synthesize(SynthesisRequest(TEXT, "nobody"))
    with pytest.raises(ValueError, match="English"):
        piper_backend.synthesize(SynthesisRequest(TEXT, "joe", language="zh"))
    with pytest.raises(ValueError, match="duration_scale"):
        say(piper_backend, scale=0.0)


def test_stage_directions_are_not_read_out() -> None:
    from revoice.engine.text.directions import speakable_text as spoken_text

    assert spoken_text("(whispering) Do you hear me? [pause] Yes. (laughs)") == "Do you hear me? Yes."
    assert spoken_text("Wait [pause] now") == "Wait, now"


def test_the_patched_model_is_cached_and_read_back_unchanged(tmp_path: Path) -> None:
    """The patched graph is written once to the cache (atomically) and read back byte for byte."""
    from revoice.engine.voices.base import BackendOptions
    from revoice.engine.voices.piper_voice import SPEC, _model_files, patched_model

    if SPEC.availability(BackendOptions()):
        pytest.skip("piper is not installed")
    model_file, _ = _model_files(BackendOptions())
    first = patched_model(model_file, cache_dir=tmp_path)
    cached = list(tmp_path.glob("*.onnx"))
    assert len(cached) == 1 and cached[0].read_bytes() == first
    assert patched_model(model_file, cache_dir=tmp_path) == first
    unwritable = tmp_path / "file"
    unwritable.write_text("not a folder")
    assert patched_model(model_file, cache_dir=unwritable / "sub") == first  # no cache: still loads
