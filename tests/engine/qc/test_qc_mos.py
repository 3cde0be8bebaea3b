"""DistillMOS from the weights shipped in its wheel (slow: torch model)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from revoice.engine.qc.mos import DistillMosMeter

pytestmark = pytest.mark.slow


def test_clean_speech_scores_far_above_white_noise(distillmos_meter: DistillMosMeter, shared_corpus: Path) -> None:
    speech, rate = sf.read(str(shared_corpus / "voices" / "en_nature_ref.wav"), dtype="float32")
    noise = (0.1 * np.random.default_rng(0).standard_normal(len(speech))).astype(np.float32)
    clean = distillmos_meter.score(speech, int(rate))
    assert 3.5 <= clean <= 5.0
    assert clean - distillmos_meter.score(noise, int(rate)) >= 1.5


def test_score_is_level_independent_and_rejects_empty(distillmos_meter: DistillMosMeter, shared_corpus: Path) -> None:
    speech, rate = sf.read(str(shared_corpus / "voices" / "en_nature_ref.wav"), dtype="float32")
    speech = speech[: 2 * int(rate)]
    assert distillmos_meter.score(speech * 0.1, int(rate)) == pytest.approx(distillmos_meter.score(speech, int(rate)), abs=0.05)
    with pytest.raises(ValueError):
        distillmos_meter.score(np.zeros(0, dtype=np.float32), int(rate))
