"""LineQc flags deliberately broken takes and passes clean ones (real WAVs, real meters)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from revoice.engine.dsp.bwf import read_wav, write_bwf
from revoice.engine.model import DialogueLine, FrameRange, RenderedLine
from revoice.engine.qc.assess import LineQc
from revoice.engine.qc.scoring import (
    FLAG_PENALTY,
    QcThresholds,
    clipped_samples,
    qc_score,
    references,
    spoken_text,
    thresholds_dict,
)
from revoice.engine.records import RenderReport
from revoice.engine.render import Revoicer, sidecar_path

CLEAN = "I told you never to call me at this number again."
CAT = "The cat sat on the mat."


def line_of(text: str, seconds: float, line_id: str = "L0001") -> DialogueLine:
    return DialogueLine(line_id=line_id, text=text, speaker="JOE", language="en",
                        record=FrameRange(0, int(round(seconds * 24)), 24.0), timecode_start_frames=86400)


def replaced(rendered: RenderedLine, audio: np.ndarray[Any, np.dtype[np.float32]], path: Path) -> RenderedLine:
    """``rendered`` with its audio swapped for ``audio`` (a slot-long WAV written at ``path``)."""
    write_bwf(path, audio, rendered.sample_rate, time_reference_samples=0)
    return dataclasses.replace(rendered, path=path)


# -- no models -------------------------------------------------------------------------------


def test_score_formula() -> None:
    meters = ("asr", "similarity", "mos")
    perfect = {"error_metric": "wer", "wer": 0.0, "similarity": 1.0, "mos": 5.0, "flags": []}
    assert qc_score(perfect, meters) == pytest.approx(1.0)
    assert qc_score({**perfect, "flags": ["a", "b"]}, meters) == pytest.approx(1.0 - 2 * FLAG_PENALTY)
    middling = {"error_metric": "wer", "wer": 0.2, "similarity": 0.8, "mos": 3.0, "flags": []}
    assert qc_score(middling, meters) == pytest.approx(0.5 * 0.8 + 0.25 * 0.8 + 0.25 * 0.5)
    assert qc_score({**middling, "wer": 3.0, "similarity": -0.4, "mos": 0.2}, meters) == pytest.approx(0.0)
    assert qc_score({"error_metric": "cer", "cer": 0.1, "flags": []}, ("asr",)) == pytest.approx(0.9)
    assert qc_score({"flags": []}, ()) == 0.0
    silent = {"error_metric": "wer", "wer": 1.0, "similarity": None, "mos": None, "flags": ["silent"]}
    assert qc_score(silent, meters) == pytest.approx(-FLAG_PENALTY)


def test_clipping_detector_sees_plateaus_not_sines() -> None:
    t = np.arange(48000) / 48000
    sine = (0.8 * np.sin(2 * np.pi * 110 * t)).astype(np.float32)
    quantized = np.round(sine * 2**23) / 2**23
    assert clipped_samples(quantized) == 0
    clipped = np.clip(sine, -0.3, 0.3) * 3.0
    assert clipped_samples(clipped) > 1000
    assert clipped_samples(np.zeros(100)) == 0


def test_thresholds_text_and_meters() -> None:
    limits = QcThresholds()
    assert limits.max_wer == 0.10 and limits.min_mos == 3.0
    assert limits.similarity_floor("piper", "joe") == limits.similarity_floors["piper:joe"]
    assert limits.similarity_floor("other", "voice") == limits.min_similarity
    assert json.loads(json.dumps(thresholds_dict(limits)))["max_wer"] == 0.10
    assert spoken_text("Give me the keys. [laughs] I'll open it.") == "Give me the keys. I'll open it."
    assert references("我得走了，明天下午3点再来找你。", "zh")[0] == "我得走了，明天下午3点再来找你。"
    with pytest.raises(ValueError):
        LineQc(meters=("asr", "vibes"))
    assert LineQc(meters=())._asr is None


def test_level_and_sync_checks_run_without_models(tmp_path: Path) -> None:
    sr = 48000
    t = np.arange(2 * sr) / sr
    tone = (0.05 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    wav = tmp_path / "tone.wav"
    write_bwf(wav, tone, sr, time_reference_samples=0)
    rendered = RenderedLine(line_id="L1", path=wav, sample_rate=sr, slot_samples=len(tone), speech_start=0,
                            speech_end=len(tone), backend="piper", voice_id="joe",
                            report=RenderReport.from_json({"loudness_target_lufs": -23.0, "length_error_samples": 0,
                                                           "stretch_ratio": 1.4, "ratio": 1.0}))
    metrics = LineQc(meters=())(line_of("A tone.", 2.0), rendered)
    assert metrics["wer"] is None and metrics["mos"] is None and metrics["similarity"] is None
    assert any(f.startswith("loudness") for f in metrics["flags"])
    assert any(f.startswith("stretch 1.40x") for f in metrics["flags"])
    assert json.loads(json.dumps(metrics)) == metrics


# -- real takes, real meters ----------------------------------------------------------------


@pytest.fixture(scope="module")
def clean_take(piper_backend: Any, tmp_path_factory: pytest.TempPathFactory) -> tuple[DialogueLine, RenderedLine]:
    line = line_of(CLEAN, 4.0)
    return line, Revoicer(backend=piper_backend).render_line(line, out_dir=tmp_path_factory.mktemp("clean"))


@pytest.fixture(scope="module")
def cat_take(piper_backend: Any, tmp_path_factory: pytest.TempPathFactory) -> tuple[DialogueLine, RenderedLine]:
    line = line_of(CAT, 2.5, "L0002")
    return line, Revoicer(backend=piper_backend).render_line(line, out_dir=tmp_path_factory.mktemp("cat"))


@pytest.mark.slow
def test_clean_take_passes(line_qc: LineQc, clean_take: tuple[DialogueLine, RenderedLine]) -> None:
    line, rendered = clean_take
    metrics = line_qc(line, rendered)
    assert metrics["flags"] == [], metrics
    assert metrics["wer"] <= 0.10
    assert metrics["similarity_to"] == "voice profile"
    assert metrics["similarity"] >= metrics["similarity_floor"]
    assert metrics["mos"] >= 3.0
    assert metrics["loudness_lufs"] == pytest.approx(-23.0, abs=0.5)
    assert metrics["true_peak_dbtp"] <= -2.0 and metrics["clipped_samples"] == 0
    assert metrics["length_error_samples"] == 0 and metrics["stretch_ratio"] is not None
    assert metrics["score"] >= 0.75
    assert json.loads(json.dumps(metrics)) == metrics


@pytest.mark.slow
def test_wrong_text_is_flagged(line_qc: LineQc, cat_take: tuple[DialogueLine, RenderedLine]) -> None:
    line, rendered = cat_take
    assert line_qc(line, rendered)["wer"] <= 0.10
    wrong = dataclasses.replace(line, text="Nobody in this town remembers what happened that winter.")
    metrics = line_qc(wrong, rendered)
    assert "cat" in metrics["asr_text"].lower()
    assert metrics["wer"] > 0.5
    assert any(f.startswith("wer ") and "ASR heard" in f for f in metrics["flags"])


@pytest.mark.slow
def test_white_noise_is_flagged(line_qc: LineQc, clean_take: tuple[DialogueLine, RenderedLine],
                                tmp_path: Path) -> None:
    line, rendered = clean_take
    noise = (0.1 * np.random.default_rng(1).standard_normal(rendered.slot_samples)).astype(np.float32)
    metrics = line_qc(line, replaced(rendered, noise, tmp_path / "noise.wav"))
    kinds = {f.split()[0] for f in metrics["flags"]}
    assert "wer" in kinds
    assert kinds & {"silent:", "mos", "similarity", "little"}
    assert metrics["score"] < line_qc(line, rendered)["score"] - 0.5


@pytest.mark.slow
def test_naturalness_of_a_one_word_take_is_reported_not_flagged(line_qc: LineQc, piper_backend: Any,
                                                               tmp_path: Path) -> None:
    """DistillMOS is unreliable under a second of speech: clean one-word takes score below the floor."""
    line = line_of("No.", 1.0, "L0003")
    rendered = Revoicer(backend=piper_backend).render_line(line, out_dir=tmp_path)
    metrics = line_qc(line, rendered)
    assert metrics["speech_seconds"] < line_qc.thresholds.min_mos_speech_s
    assert metrics["mos"] is not None and not any(f.startswith("mos") for f in metrics["flags"])
    strict = dataclasses.replace(line_qc.thresholds, min_mos_speech_s=0.0, min_mos=metrics["mos"] + 0.01)
    assert any(f.startswith("mos") for f in LineQc(meters=("mos",), thresholds=strict,
                                                   mos=line_qc.mos)(line, rendered)["flags"])


@pytest.mark.slow
def test_clipped_take_is_flagged(line_qc: LineQc, clean_take: tuple[DialogueLine, RenderedLine],
                                 tmp_path: Path) -> None:
    line, rendered = clean_take
    audio, _ = read_wav(rendered.path)
    peak = float(np.max(np.abs(audio)))
    clipped = (np.clip(audio, -0.3 * peak, 0.3 * peak) * (0.95 / (0.3 * peak))).astype(np.float32)
    metrics = line_qc(line, replaced(rendered, clipped, tmp_path / "clipped.wav"))
    assert metrics["clipped_samples"] > 500
    assert any(f.startswith("clipped:") for f in metrics["flags"])
    assert any(f.startswith("true peak") for f in metrics["flags"])


@pytest.mark.slow
def test_silent_take_is_flagged(line_qc: LineQc, clean_take: tuple[DialogueLine, RenderedLine],
                                tmp_path: Path) -> None:
    line, rendered = clean_take
    metrics = line_qc(line, replaced(rendered, np.zeros(rendered.slot_samples, np.float32), tmp_path / "s.wav"))
    assert "silent: no speech detected in the render" in metrics["flags"]
    assert metrics["asr_text"] == "" and metrics["wer"] == 1.0
    assert metrics["mos"] is None and metrics["similarity"] is None
    assert metrics["score"] < 0.0


@pytest.mark.slow
def test_wrong_speaker_is_flagged(line_qc: LineQc, clean_take: tuple[DialogueLine, RenderedLine],
                                  shared_corpus: Path, tmp_path: Path) -> None:
    """A real human reading the line's text, passed off as piper's 'joe': text fine, voice wrong."""
    from revoice.engine.dsp.resample import resample

    line, rendered = clean_take
    human, rate = read_wav(shared_corpus / "voices" / "en_nature_ref.wav")
    human = resample(human, rate, rendered.sample_rate)
    slot = np.zeros(len(human) + rendered.sample_rate // 2, dtype=np.float32)
    slot[rendered.sample_rate // 4 : rendered.sample_rate // 4 + len(human)] = human
    take = dataclasses.replace(replaced(rendered, slot, tmp_path / "human.wav"), slot_samples=len(slot),
                               speech_start=rendered.sample_rate // 4,
                               speech_end=rendered.sample_rate // 4 + len(human))
    text = dataclasses.replace(line, text="Some call me nature. Others call me Mother Nature.")
    metrics = line_qc(text, take)
    assert metrics["wer"] <= 0.10
    assert metrics["voice_similarity"] < 0.55
    assert any(f.startswith("similarity ") and "voice profile" in f for f in metrics["flags"])


@pytest.mark.slow
def test_renderer_keeps_the_best_of_several_takes(line_qc: LineQc, piper_backend: Any, tmp_path: Path) -> None:
    line = line_of("Nobody in this town remembers what happened that winter.", 4.0)
    result = Revoicer(backend=piper_backend).render([line], out_dir=tmp_path, takes=2, assess=line_qc)
    chosen = result.rendered[0]
    takes = chosen.report.takes or ()
    assert [t.take for t in takes] == [1, 2]
    assert chosen.report.qc is not None and chosen.report.qc.score == max(t.score for t in takes)
    assert all(t.qc is not None and t.qc.asr_text for t in takes)
    stored = json.loads(sidecar_path(chosen.path).read_text(encoding="utf-8"))
    assert stored["report"]["qc"]["score"] == chosen.report.qc.score


@pytest.mark.slow
def test_ge2e_second_opinion_is_reported_not_flagged(piper_backend: Any, speaker_similarity: Any,
                                                     clean_take: tuple[DialogueLine, RenderedLine]) -> None:
    pytest.importorskip("resemblyzer")
    line, rendered = clean_take
    qc = LineQc(meters=("similarity", "ge2e"), backends=[piper_backend], speaker=speaker_similarity)
    metrics = qc(line, rendered)
    assert metrics["voice_similarity_ge2e"] >= 0.7
    assert metrics["similarity_ge2e"] == metrics["voice_similarity_ge2e"]
    assert metrics["wer"] is None and metrics["flags"] == []
