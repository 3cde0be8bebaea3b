"""A Revoicer with a conversion plan: slot-exact WAVs, the onset of the unconverted render, its own render key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from revoice.engine.conversion.base import ConverterSpec, VoiceConverter
from revoice.engine.conversion.plan import ConversionPlan, ConversionTarget
from revoice.engine.model import AudioArray, DialogueLine, FrameRange
from revoice.engine.render import RenderSettings, Revoicer


class TimbreShifter:
    """Deterministic stand-in converter: a spectral tilt (first difference) that comes out 4 ms late."""

    def __init__(self) -> None:
        self.spec = ConverterSpec(name="timbre-shifter", display_name="test", sample_rate=24000, needs_gpu=False,
                                  licence="test", commercial_use=True, description="test",
                                  availability=lambda _o: None, factory=self._self, version="7")
        self.calls = 0

    def _self(self, _options: Any) -> VoiceConverter:
        return self

    def convert(self, *, audio: AudioArray, sample_rate: int, reference_audio: AudioArray,
                reference_sample_rate: int) -> AudioArray:
        self.calls += 1
        tilted = np.diff(audio, prepend=audio[:1]) * 4.0
        return np.roll(tilted, int(0.004 * sample_rate)).astype(np.float32)


def make_line(text: str = "The boat leaves at nine, so bring your coat.") -> DialogueLine:
    return DialogueLine(line_id="L0001", text=text, speaker="MARA", language="en",
                        record=FrameRange(240, 96, 24.0), timecode_start_frames=0, sources=(), origin="test")


@pytest.fixture(scope="module")
def plan_and_converter() -> tuple[ConversionPlan, TimbreShifter]:
    converter = TimbreShifter()
    reference = (0.2 * np.sin(2 * np.pi * 180 * np.arange(16000) / 16000)).astype(np.float32)
    target = ConversionTarget(converter=converter, reference_audio=reference, reference_sample_rate=16000)
    return ConversionPlan({"joe": target}), converter


def test_converted_line_is_slot_exact_with_the_unconverted_onset(
        piper_backend: Any, tmp_path: Path, plan_and_converter: tuple[ConversionPlan, TimbreShifter]) -> None:
    plan, converter = plan_and_converter
    voice = piper_backend.voices()[0].voice_id
    assert voice == "joe"
    line = make_line()
    plain = Revoicer(backend=piper_backend, settings=RenderSettings()).render_line(line, out_dir=tmp_path / "plain")
    converted_revoicer = Revoicer(backend=piper_backend, settings=RenderSettings(), conversion=plan)
    converted = converted_revoicer.render_line(line, out_dir=tmp_path / "converted")
    assert converter.calls == 1
    plain_audio, rate = sf.read(plain.path, dtype="float32")
    converted_audio, converted_rate = sf.read(converted.path, dtype="float32")
    slot = line.slot_samples(48000)
    assert rate == converted_rate == 48000 and len(plain_audio) == len(converted_audio) == slot == converted.slot_samples
    assert not np.allclose(plain_audio, converted_audio, atol=1e-3)  # it was converted
    assert plain.report.achieved_span is not None and converted.report.achieved_span is not None
    onset_ms = (converted.report.achieved_span[0] - plain.report.achieved_span[0]) * 1000 / 48000
    assert abs(onset_ms) <= 5.0, onset_ms
    assert converted.speech_start == plain.speech_start and converted.speech_end == plain.speech_end
    # its own key: a converted render never stands in for an unconverted one, and a rerun reuses it
    assert converted_revoicer.render_key(line) != Revoicer(backend=piper_backend).render_key(line)
    again = converted_revoicer.render_line(line, out_dir=tmp_path / "converted")
    assert again.path == converted.path and converter.calls == 1


def test_key_names_converter_version_and_reference(piper_backend: Any,
                                                    plan_and_converter: tuple[ConversionPlan, TimbreShifter]) -> None:
    plan, converter = plan_and_converter
    key = plan.key_for("joe")
    assert key is not None and key["converter"] == "timbre-shifter" and key["version"] == "7"
    assert plan.key_for("someone-else") is None
    other_reference = ConversionPlan({"joe": ConversionTarget(converter=converter,
                                                              reference_audio=np.ones(100, np.float32),
                                                              reference_sample_rate=16000)})
    line = make_line()
    assert (Revoicer(backend=piper_backend, conversion=plan).render_key(line)
            != Revoicer(backend=piper_backend, conversion=other_reference).render_key(line))
    unlisted = ConversionPlan({"nobody": plan.targets["joe"]})
    assert Revoicer(backend=piper_backend, conversion=unlisted).render_key(line) == Revoicer(
        backend=piper_backend).render_key(line)


def test_bad_reference_is_refused() -> None:
    with pytest.raises(ValueError, match="mono"):
        ConversionTarget(converter=TimbreShifter(), reference_audio=np.zeros((2, 10), np.float32),
                         reference_sample_rate=16000)
