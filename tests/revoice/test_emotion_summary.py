"""What users read about a line's emotion: the CLI summary's column and the QC report's cell."""

from __future__ import annotations

import pytest
from revoice.engine.records import EmotionUse
from revoice.report.rows import _emotion_words
from revoice.summary import emotion_cell


@pytest.mark.parametrize(("use", "cell"), [
    (None, "-"),
    (EmotionUse(method="original", words="original take 100%", source="default", applied_by="dsp"), "take"),
    (EmotionUse(method="original", words="original take 100%", source="default",
                note="no voiced speech in the original take"), "take (flat)"),
    (EmotionUse(method="label", words='angry 0.9 ("angrily, voice shaking")', source="CLI", applied_by="dsp"),
     "angry 0.9"),
    (EmotionUse(method="label", words="sad 1", source="job file", applied_by="backend"), "sad 1 by voice"),
    (EmotionUse(method="neutral", words="neutral", source="CLI"), "neutral"),
])
def test_summary_column(use: EmotionUse | None, cell: str) -> None:
    assert emotion_cell(use) == cell


def test_report_cell_says_what_where_and_how() -> None:
    assert _emotion_words(None) is None
    followed = EmotionUse(method="original", words="original take 100%", source="default", applied_by="dsp",
                          contour_correlation=0.91)
    assert _emotion_words(followed) == "original take 100% · default · contour r 0.91"
    flat = EmotionUse(method="original", words="original take 100%", source="default",
                      note="no voiced speech in the original take")
    assert _emotion_words(flat) == "original take 100% · default · no voiced speech in the original take"
    assert _emotion_words(EmotionUse(method="label", words="angry 0.8", source="marker",
                                     applied_by="backend")) == "angry 0.8 · marker · by the voice"
