"""revoice.engine.text.normalize: numbers, dates, money, units, phones, acronyms, mixed zh/en, steps."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from revoice.engine.text import PronunciationDictionary, normalize
from revoice.engine.text.normalize import language_spans

BENCH_DATA = Path(__file__).parents[3] / "bench" / "data"


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("I have 3 cats.", "I have three cats."),
        ("He finished 22nd.", "He finished twenty-second."),
        ("Pi is 3.14.", "Pi is three point one four."),
        ("Wait 3-5 days.", "Wait three to five days."),
        ("It was 1999.", "It was nineteen ninety-nine."),
        ("Born on May 5, 1990.", "Born on May fifth, nineteen ninety."),
        ("The train leaves at 7:05 pm.", "The train leaves at seven oh five p m."),
        ("That's $3.99.", "That's three dollars and ninety-nine cents."),
        ("It's 50% off.", "It's fifty percent off."),
        ("Drive at 60 mph.", "Drive at sixty miles per hour."),
        ("Call (555) 123-4567.", "Call five five five, one two three, four five six seven."),
        ("Dr. Smith and the FBI.", "Doctor Smith and the F B I."),
    ],
)
def test_english(text: str, spoken: str) -> None:
    assert normalize(text, language="en").normalized == spoken


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("我有2个苹果。", "我有两个苹果。"),
        ("他是第2名。", "他是第二名。"),
        ("圆周率是3.14。", "圆周率是三点一四。"),
        ("需要3-5天。", "需要三到五天。"),
        ("我1998年出生。", "我一九九八年出生。"),
        ("2024年5月1日放假。", "二零二四年五月一日放假。"),
        ("下午3:30开会。", "下午三点三十分开会。"),
        ("一共¥12.50。", "一共十二元五角。"),
        ("增长了3.5%。", "增长了百分之三点五。"),
        ("夜里-3°C。", "夜里零下三摄氏度。"),
        ("我的手机是13812345678。", "我的手机是幺三八 幺二三四 五六七八。"),
        ("我们的CEO来了。", "我们的C E O来了。"),
        ("我用iPhone 15拍的。", "我用iPhone 十五拍的。"),
        ("他说 I have 3 cats 然后走了。", "他说 I have three cats 然后走了。"),
    ],
)
def test_mandarin(text: str, spoken: str) -> None:
    assert normalize(text, language="zh").normalized == spoken


def test_abbreviation_modes() -> None:
    assert normalize("The FBI called.", language="en", abbreviations="expand").normalized == \
        "The Federal Bureau of Investigation called."
    assert normalize("The FBI called Dr. Who.", language="en", abbreviations="keep").normalized == \
        "The FBI called Dr. Who."
    assert normalize("我们的CEO来了。", language="zh", abbreviations="expand").normalized == "我们的首席执行官来了。"
    assert normalize("NASA called.", language="en").normalized == "NASA called."
    with pytest.raises(ValueError, match="abbreviations"):
        normalize("x", language="en", abbreviations="shout")  # type: ignore[arg-type]


def test_steps_show_the_pipeline() -> None:
    result = normalize("Dr. Smith paid $5.", language="en")
    assert [s.rule for s in result.steps] == ["en.abbreviations", "en.money"]
    assert result.steps[0] == ("en.abbreviations", "Dr. Smith paid $5.", "Doctor Smith paid $5.")
    assert result.steps[-1].after == result.normalized
    assert result.original == "Dr. Smith paid $5."
    assert normalize("没有数字。", language="zh-CN").steps == ()
    assert result.to_json()["steps"][1]["rule"] == "en.money"


def test_language_tags_and_errors() -> None:
    assert normalize("3个", language="cmn").language == "zh"
    assert normalize("3 cats", language="en-GB").normalized == "three cats"
    with pytest.raises(ValueError, match="not 'fr'"):
        normalize("3 chats", language="fr")


def test_language_spans() -> None:
    assert language_spans("他说 I have 3 cats 然后", "zh") == [("zh", "他说 "), ("en", "I have 3 cats"), ("zh", " 然后")]
    assert language_spans("She said 我有3个 ok", "en") == [("en", "She said "), ("zh", "我有3个"), ("en", " ok")]


def test_dictionary_entries_are_spoken_as_written_and_protected() -> None:
    dictionary = PronunciationDictionary.from_data(
        {"words": {"R2-D2": {"say": "artoo detoo"}, "Apollo 13": {"phonemes": "əpˈɑlO θɜɹtˈin"}, "A股": "A gu"}})
    result = normalize("R2-D2 saw Apollo 13 at 5.", language="en", dictionary=dictionary)
    assert result.normalized == "artoo detoo saw Apollo 13 at five."
    assert result.steps[0].rule == "dictionary"
    assert normalize("买了3手A股", language="zh", dictionary=dictionary).normalized == "买了三手A gu"


@pytest.mark.parametrize("language", ["en", "zh"])
def test_benchmark_cases_all_pass(language: str) -> None:
    data = json.loads((BENCH_DATA / f"normalize_{language}.json").read_text(encoding="utf-8"))
    assert len(data["cases"]) >= 60
    failures = [
        (c["text"], c["expected"], got)
        for c in data["cases"]
        if (got := normalize(c["text"], language=language,
                             abbreviations=c.get("abbreviations", "spell")).normalized) != c["expected"]
    ]
    assert failures == []
