"""Normalization and error rates used to score ASR transcripts."""

from __future__ import annotations

import pytest
from revoice.engine.qc.text_norm import (
    cer,
    chinese_integer,
    edit_distance,
    error_counts,
    integer_words,
    normalize_text,
    wer,
)


@pytest.mark.parametrize(
    ("reference", "hypothesis"),
    [
        ("Some call me nature, others call me mother nature.", "Some call me Nature. Others call me Mother Nature!"),
        ("I don't know.", "I do not know"),
        ("I don\u2019t know.", "i don't know"),
        ("We're late; they'll wait, won't they?", "we are late they will wait will not they"),
        ("You can't go.", "you cannot go"),
        ("We have 14 minutes.", "We have fourteen minutes."),
        ("It cost $1,250.", "it cost one thousand two hundred fifty dollars"),
        ("Up 3.5% on the 21st", "up three point five percent on the twenty first"),
        ("twenty-five", "25"),
        ("  spaced\tout\n words ", "spaced out words"),
        ("It's John's car.", "its johns car"),
    ],
)
def test_equivalent_spellings_have_zero_wer(reference: str, hypothesis: str) -> None:
    assert wer(reference, hypothesis) == 0.0, (normalize_text(reference), normalize_text(hypothesis))


def test_wer_counts_substitutions_deletions_insertions_over_reference_words() -> None:
    assert wer("a b c d", "a x c") == pytest.approx(2 / 4)
    assert wer("a b", "a b c d") == pytest.approx(1.0)
    assert wer("", "") == 0.0 and wer("", "words") == 1.0
    assert edit_distance(list("kitten"), list("sitting")) == 3


def test_number_words() -> None:
    assert integer_words(0) == "zero"
    assert integer_words(1205) == "one thousand two hundred five"
    assert integer_words(2_000_019) == "two million nineteen"
    assert normalize_text("the 3rd and 40th") == "the third and fortieth"


def test_mandarin_cer_ignores_punctuation_and_reads_digits() -> None:
    reference = "对，这就是我，万人敬仰的太乙真人。"
    assert cer(reference, "对这就是我万人敬仰的太乙真人") == 0.0
    assert cer(reference, "对,这就是我万人仅仰的太以真人。") == pytest.approx(2 / 14)
    assert cer("我有25本书", "我有二十五本书") == 0.0
    assert [chinese_integer(n) for n in (10, 105, 100_000, 10_010)] == ["十", "一百零五", "十万", "一万零一十"]


def test_error_counts_pool_like_the_rates() -> None:
    assert error_counts("Keep your voice down, the guards are outside.", "keep your voice down the gods are outside",
                        language="en") == (1, 8)
    assert error_counts("你行不行？", "你行不行", language="zh") == (0, 4)
    assert error_counts("你行不行？", "你形不行", language="zh-CN") == (1, 4)
    edits, words = error_counts("Twenty past nine.", "20 past nine", language="en")
    assert edits / words == wer("Twenty past nine.", "20 past nine")
