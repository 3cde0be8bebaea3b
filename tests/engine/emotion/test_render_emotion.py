"""Emotion through the renderer with the real piper voice: labels move prosody their documented way,
the original take's contour is carried over, and every render stays exact to the sample."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from revoice.engine.dsp.loudness import integrated_loudness
from revoice.engine.emotion.labels import LABELS, PROSODY_TARGETS, Emotion
from revoice.engine.emotion.perform import TEXT_EDITED
from revoice.engine.emotion.prosody import analyse
from revoice.engine.emotion.styling import style_speech
from revoice.engine.emotion.transfer import contour_correlation, transfer_performance
from revoice.engine.model import DialogueLine, FrameRange, LineDuration, SourceAudio
from revoice.engine.render import RenderSettings, Revoicer
from revoice.engine.voices.base import SynthesisRequest, VoiceBackend

RATE = 48000
TEXT = "Nobody opens that door until I say so, do you understand me?"


def line(**changes: object) -> DialogueLine:
    base = DialogueLine(line_id="L0001", text=TEXT, speaker="MARA", language="en",
                        record=FrameRange(0, 25 * 7, 25.0), origin="test")
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def render(backend: VoiceBackend, tmp_path: Path, emotion: Emotion | None, the_line: DialogueLine | None = None,
           ) -> tuple[np.ndarray, object]:
    revoicer = Revoicer(backend=backend, settings=RenderSettings(emotion=emotion))
    rendered = revoicer.render_line(the_line or line(), out_dir=tmp_path / (emotion.words() if emotion else "auto"))
    audio, rate = sf.read(str(rendered.path), dtype="float32")
    assert rate == RATE and len(audio) == rendered.slot_samples  # exact to the sample
    return audio, rendered


def speech_of(audio: np.ndarray) -> np.ndarray:
    loud = np.flatnonzero(np.abs(audio) > 1e-4)
    return audio[loud[0] : loud[-1] + 1]


@pytest.fixture(scope="module")
def neutral(piper_backend: VoiceBackend, tmp_path_factory: pytest.TempPathFactory) -> dict[str, float]:
    audio, _ = render(piper_backend, tmp_path_factory.mktemp("neutral"), Emotion(source="test"))
    prosody = analyse(speech_of(audio), RATE)
    return {"median": prosody.median_semitones(), "range": prosody.range_semitones(),
            "voiced": float(prosody.voiced.mean()), "seconds": len(speech_of(audio)) / RATE,
            "lufs": integrated_loudness(audio, RATE)}


@pytest.mark.parametrize("label", [label for label in LABELS if label != "neutral"])
def test_each_label_moves_prosody_in_its_documented_direction(
        label: str, piper_backend: VoiceBackend, neutral: dict[str, float], tmp_path: Path) -> None:
    target = PROSODY_TARGETS[label]
    audio, rendered = render(piper_backend, tmp_path, Emotion(method="label", label=label, source="test"))
    prosody = analyse(speech_of(audio), RATE)
    lufs = integrated_loudness(audio, RATE)
    if target.energy_db:
        assert np.sign(lufs - neutral["lufs"]) == np.sign(target.energy_db)
    assert lufs - neutral["lufs"] == pytest.approx(target.energy_db, abs=0.6)
    seconds = len(speech_of(audio)) / RATE
    if target.rate_factor != 1.0:  # no original take: the length is the label's pace
        assert (seconds < neutral["seconds"]) == (target.rate_factor > 1.0)
    if label == "whisper":
        assert prosody.voiced.mean() < 0.3 * neutral["voiced"]  # the voicing is gone
    else:
        shift = prosody.median_semitones() - neutral["median"]
        assert shift == pytest.approx(target.f0_shift_semitones, abs=0.8)
        assert (prosody.range_semitones() > neutral["range"]) == (target.f0_range_factor > 1.0)
    report = rendered.report.emotion  # type: ignore[attr-defined]
    assert report.method == "label" and report.applied_by == "dsp" and report.energy_db == target.energy_db


def test_angry_and_happy_widen_range_and_raise_energy_sad_and_whisper_lower_them(
        piper_backend: VoiceBackend, tmp_path: Path) -> None:
    spoken = {}
    for label in ("angry", "happy", "sad", "whisper", "neutral"):
        audio, _ = render(piper_backend, tmp_path, Emotion(method="label", label=label, source="test"))
        prosody = analyse(speech_of(audio), RATE)
        spread = prosody.range_semitones() * prosody.voiced.mean()  # a whisper has no pitch range to speak of
        spoken[label] = (spread, integrated_loudness(audio, RATE))
    for up in ("angry", "happy"):
        assert spoken[up][0] > spoken["neutral"][0] and spoken[up][1] > spoken["neutral"][1]
    for down in ("sad", "whisper"):
        assert spoken[down][0] < spoken["neutral"][0] and spoken[down][1] < spoken["neutral"][1]


def performed_take(backend: VoiceBackend) -> np.ndarray:
    """The same words with a rise-fall contour imposed: a stand-in for an actor's reading of the line."""
    synthesis = backend.synthesize(SynthesisRequest(text=TEXT, voice_id=backend.voices()[0].voice_id))
    from revoice.engine.dsp.resample import resample
    from revoice.engine.emotion.prosody import impose_pitch as _impose_pitch

    audio = resample(synthesis.audio, synthesis.sample_rate, RATE).astype(np.float64)
    prosody = analyse(audio, RATE)
    frames = np.arange(prosody.f0_hz.size)
    wiggle = 5.0 * np.sin(2 * np.pi * frames / 90.0)
    return _impose_pitch(audio, RATE, np.where(prosody.voiced, prosody.median_semitones() + 3 + wiggle, np.nan))


def test_transfer_carries_the_contour_and_keeps_the_length(piper_backend: VoiceBackend) -> None:
    take = performed_take(piper_backend)
    from revoice.engine.dsp.stretch import stretch_to_length
    from revoice.engine.fit import trimmed_speech

    plain = trimmed_speech(piper_backend.synthesize(SynthesisRequest(text=TEXT, voice_id="joe", seed=3)), RATE)
    fitted = stretch_to_length(plain, RATE, int(len(take) * 0.95))
    moved = transfer_performance(fitted, take, RATE)
    assert len(moved.audio) == len(fitted) and moved.aligned_by == "words"
    assert moved.correlation_before is not None and moved.correlation_after is not None
    assert moved.correlation_after > 0.8 and moved.correlation_after > moved.correlation_before + 0.15
    before = contour_correlation(fitted, take, RATE)
    after = contour_correlation(moved.audio, take, RATE)
    assert before is not None and after is not None and after > before + 0.15
    untouched = transfer_performance(fitted, take, RATE, strength=0.0)
    assert np.array_equal(untouched.audio, fitted.astype(np.float32))
    by_position = transfer_performance(fitted, take, RATE, same_words=False)
    assert by_position.aligned_by == "position" and len(by_position.audio) == len(fitted)


def test_transfer_without_voicing_changes_nothing_and_says_why() -> None:
    noise = np.random.default_rng(1).standard_normal(RATE).astype(np.float32) * 0.01
    result = transfer_performance(noise, noise, RATE)
    assert np.array_equal(result.audio, noise) and "no voiced speech" in result.note


def test_styling_is_deterministic_and_exact_length(piper_backend: VoiceBackend) -> None:
    from revoice.engine.fit import trimmed_speech

    speech = trimmed_speech(piper_backend.synthesize(SynthesisRequest(text=TEXT, voice_id="joe")), RATE)
    for label in ("angry", "whisper"):
        first = style_speech(speech, RATE, PROSODY_TARGETS[label], seed=4)
        assert len(first.audio) == len(speech)
        assert first.audio.tobytes() == style_speech(speech, RATE, PROSODY_TARGETS[label], seed=4).audio.tobytes()


def test_original_take_is_followed_by_default_with_onset_and_length_kept(
        piper_backend: VoiceBackend, tmp_path: Path) -> None:
    take = performed_take(piper_backend).astype(np.float32)
    slot = np.zeros(int(RATE * 7), np.float32)
    slot[int(0.8 * RATE) : int(0.8 * RATE) + len(take)] = take
    media = tmp_path / "take.wav"
    sf.write(str(media), slot, RATE, subtype="FLOAT")
    with_take = line(sources=(SourceAudio("take", "A1", media.as_uri(), media, 0.0, 7.0, 0.0),))
    followed, rendered = render(piper_backend, tmp_path, None, with_take)
    flat, neutral = render(piper_backend, tmp_path, Emotion(source="CLI"), with_take)
    report = rendered.report  # type: ignore[attr-defined]
    assert report.emotion.method == "original" and report.emotion.source == "default"
    assert report.emotion.applied_by == "dsp" and "words" in report.emotion.note
    assert neutral.report.emotion.method == "neutral"  # type: ignore[attr-defined]
    assert abs(report.onset_error_ms) < 30  # the onset is still the take's
    assert report.speech_start == neutral.report.speech_start  # type: ignore[attr-defined]
    followed_r = contour_correlation(speech_of(followed), take, RATE)
    flat_r = contour_correlation(speech_of(flat), take, RATE)
    assert followed_r is not None and flat_r is not None and followed_r > flat_r + 0.15
    edited = dataclasses.replace(with_take, metadata={TEXT_EDITED: True})
    revoicer = Revoicer(backend=piper_backend)
    assert revoicer.render_key(edited) != revoicer.render_key(with_take)  # aligned by position instead
    _, by_position = render(piper_backend, tmp_path / "edited", None, edited)
    assert "relative position" in by_position.report.emotion.note  # type: ignore[attr-defined]


def test_neutral_lines_keep_their_render_keys_and_line_requests_win(piper_backend: VoiceBackend) -> None:
    plain = Revoicer(backend=piper_backend)
    flat = Revoicer(backend=piper_backend, settings=RenderSettings(emotion=Emotion(source="CLI")))
    assert plain.render_key(line()) == flat.render_key(line())  # no original take: neutral either way
    angry = line(emotion=Emotion(method="label", label="angry", source="subtitle tag"))
    assert flat.emotion_for(angry).label == "angry"  # the line's own request beats the run's
    assert plain.render_key(angry) != plain.render_key(line())
    free = line(duration=LineDuration(mode="free", ratio=1.2))
    assert plain.render_key(free) != plain.render_key(line())


def test_free_duration_sets_the_speech_length(piper_backend: VoiceBackend, tmp_path: Path) -> None:
    natural, _ = render(piper_backend, tmp_path / "a", Emotion(source="t"))
    longer, _ = render(piper_backend, tmp_path / "b", Emotion(source="t"),
                       line(duration=LineDuration(mode="free", ratio=1.2)))
    assert len(speech_of(longer)) / len(speech_of(natural)) == pytest.approx(1.2, abs=0.05)
