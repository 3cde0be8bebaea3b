"""The conversion stage keeps every line's length to the sample and its onset within 5 ms (three rates)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from conversion_fixtures import onset_difference_ms, speech_with_silence
from revoice.engine.conversion.base import ConversionError, ConverterSpec, VoiceConverter
from revoice.engine.conversion.stage import convert_speech, sounding_span
from revoice.engine.model import AudioArray

TEXT = "Six spoons of fresh snow peas, and three more for the kitchen."


class ShiftingConverter:
    """Deterministic stand-in: tilts the spectrum (first difference), adds a quiet hiss floor, comes out
    ``delay_ms`` late (early when negative) and ``extra`` samples longer; runs at ``model_rate``."""

    def __init__(self, *, model_rate: int = 16000, delay_ms: float = 0.0, extra: int = 0,
                 broken: str = "") -> None:
        self.spec = ConverterSpec(name="shifting", display_name="test", sample_rate=model_rate, needs_gpu=False,
                                  licence="test", commercial_use=True, description="test",
                                  availability=lambda _o: None, factory=self._self)
        self.delay_ms, self.extra, self.broken = delay_ms, extra, broken
        self.calls: list[tuple[int, int]] = []

    def _self(self, _options: Any) -> VoiceConverter:
        return self

    def convert(self, *, audio: AudioArray, sample_rate: int, reference_audio: AudioArray,
                reference_sample_rate: int) -> AudioArray:
        self.calls.append((sample_rate, reference_sample_rate))
        if self.broken == "nan":
            return np.full(len(audio), np.nan, np.float32)
        if self.broken == "silent":
            return np.zeros(len(audio), np.float32)
        tilted = np.diff(audio, prepend=audio[:1]) * 3.0
        hiss = np.random.default_rng(0).normal(0.0, 1e-4, len(audio))
        shift = int(round(self.delay_ms * sample_rate / 1000))
        moved = np.roll(tilted + hiss, shift)
        return np.concatenate([moved, np.zeros(self.extra)]).astype(np.float32)


@pytest.fixture(scope="module")
def reference(piper_backend: Any) -> AudioArray:
    return speech_with_silence(piper_backend, 22050, text="A different sentence for the reference voice.")


@pytest.mark.parametrize("delay_ms,extra", [(0.0, 0), (6.0, 0), (-4.0, 37), (30.0, -200)])
@pytest.mark.parametrize("model_rate", [16000, 44100])
@pytest.mark.parametrize("sample_rate", [22050, 24000, 48000])
def test_length_onset_and_silence_are_kept(piper_backend: Any, reference: AudioArray, sample_rate: int,
                                            model_rate: int, delay_ms: float, extra: int) -> None:
    speech = speech_with_silence(piper_backend, sample_rate, text=TEXT)
    converter = ShiftingConverter(model_rate=model_rate, delay_ms=delay_ms, extra=max(extra, 0))
    if extra < 0:  # a converter that returns too little
        original = converter.convert
        converter.convert = lambda **kw: original(**kw)[:extra]  # type: ignore[method-assign]
    converted = convert_speech(speech, sample_rate, converter=converter, reference_audio=reference,
                               reference_sample_rate=22050)
    assert converted.dtype == np.float32 and converted.shape == speech.shape
    assert np.all(np.isfinite(converted))
    for difference in onset_difference_ms(speech, converted, sample_rate):
        assert abs(difference) <= 5.0, difference
    span = sounding_span(speech, sample_rate)
    assert span is not None
    lead = span[0] - int(0.01 * sample_rate)
    assert np.array_equal(converted[:lead], speech[:lead])  # leading silence: the input's own samples
    assert np.array_equal(converted[span[1] + int(0.01 * sample_rate):], speech[span[1] + int(0.01 * sample_rate):])
    assert not np.allclose(converted[span[0]:span[1]], speech[span[0]:span[1]], atol=1e-3)  # it was converted
    assert np.sqrt(np.mean(converted[span[0]:span[1]] ** 2)) > 1e-3
    assert converter.calls == [(model_rate, model_rate)]


def test_speech_from_the_first_sample(piper_backend: Any, reference: AudioArray) -> None:
    speech = speech_with_silence(piper_backend, 24000, text=TEXT, lead_s=0.0, tail_s=0.0)
    converted = convert_speech(speech, 24000, converter=ShiftingConverter(delay_ms=8.0), reference_audio=reference,
                               reference_sample_rate=22050)
    assert len(converted) == len(speech)
    assert all(abs(d) <= 5.0 for d in onset_difference_ms(speech, converted, 24000))


def test_silence_is_returned_untouched(reference: AudioArray) -> None:
    converter = ShiftingConverter()
    silence = np.zeros(4800, np.float32)
    out = convert_speech(silence, 48000, converter=converter, reference_audio=reference, reference_sample_rate=22050)
    assert np.array_equal(out, silence) and out is not silence and converter.calls == []


@pytest.mark.parametrize("broken,words", [("nan", "non-finite"), ("silent", "silence")])
def test_unusable_converter_output_fails_the_line(piper_backend: Any, reference: AudioArray, broken: str,
                                                   words: str) -> None:
    speech = speech_with_silence(piper_backend, 48000, text="Short.")
    with pytest.raises(ConversionError, match=words) as caught:
        convert_speech(speech, 48000, converter=ShiftingConverter(broken=broken), reference_audio=reference,
                       reference_sample_rate=22050)
    assert "shifting" in str(caught.value) and "\n" not in str(caught.value)
    assert isinstance(caught.value, ValueError)  # the renderer fails that line and goes on


def test_bad_input_is_one_clear_line(reference: AudioArray) -> None:
    with pytest.raises(ValueError, match="mono"):
        convert_speech(np.zeros((2, 100), np.float32), 48000, converter=ShiftingConverter(),
                       reference_audio=reference, reference_sample_rate=22050)
    with pytest.raises(ValueError, match="empty"):
        convert_speech(np.ones(100, np.float32), 48000, converter=ShiftingConverter(),
                       reference_audio=np.zeros(0, np.float32), reference_sample_rate=22050)
