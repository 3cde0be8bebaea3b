"""The description lexicon: English and Chinese descriptions mapped to a label and an intensity."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from revoice.engine.emotion.labels import LABELS, parse_emotion
from revoice.engine.emotion.lexicon import (AFTER_MODIFIERS, LEXICON, MAX_GAP_UNITS, MODIFIERS, NEGATIONS, RULES,
                                            SUPPORT_BOOST, SUPPORT_CUES, DescriptionMatch, lexicon_markdown, main,
                                            match_description, normalise)

DOC = Path(__file__).resolve().parents[3] / "docs" / "emotion-lexicon.md"

DESCRIPTIONS: dict[str, dict[str, tuple[str, str]]] = {
    "neutral": {"en": ("flatly", "in a deadpan monotone"), "zh": ("语气平淡", "面无表情地说")},
    "happy": {"en": ("cheerfully", "laughing with delight"), "zh": ("开心地笑着", "兴高采烈")},
    "sad": {"en": ("tearful", "sobbing quietly"), "zh": ("悲伤地", "哭着说")},
    "angry": {"en": ("angrily", "through gritted teeth"), "zh": ("愤怒地", "怒吼")},
    "afraid": {"en": ("terrified", "trembling with fear"), "zh": ("害怕", "惊恐地颤抖")},
    "surprised": {"en": ("gasps in surprise", "stunned"), "zh": ("惊讶", "大吃一惊")},
    "disgusted": {"en": ("disgusted", "sneering"), "zh": ("厌恶地", "冷笑着说")},
    "calm": {"en": ("calmly", "in a soothing tone"), "zh": ("平静地", "心平气和")},
    "whisper": {"en": ("whispering", "under her breath"), "zh": ("低语", "小声耳语")},
}


def test_the_table_covers_every_label_and_no_more() -> None:
    assert set(DESCRIPTIONS) == set(LABELS) == set(LEXICON)
    assert set(SUPPORT_CUES) <= set(LABELS)


@pytest.mark.parametrize("which", [0, 1])
@pytest.mark.parametrize("language", ["en", "zh"])
@pytest.mark.parametrize("label", LABELS)
def test_every_label_is_reachable_in_both_languages(label: str, language: str, which: int) -> None:
    text = DESCRIPTIONS[label][language][which]
    match = match_description(text)
    assert match is not None, text
    assert match.label == label, match.words()
    assert 0.0 < match.intensity <= 1.0
    assert match.cues and all(cue in normalise(text) for cue in match.cues)


@pytest.mark.parametrize("label", LABELS)
def test_each_label_name_maps_to_itself(label: str) -> None:
    match = match_description(f"say it {label}")
    assert match is not None and match.label == label


def test_the_issues_english_example_is_a_shaking_anger() -> None:
    match = match_description("angrily, voice shaking")
    assert match == DescriptionMatch(label="angry", intensity=0.9, cues=("angrily", "voice shaking"))
    assert match.words() == 'angry 0.9 from "angrily" + "voice shaking"'


def test_the_issues_chinese_example_is_a_whisper_with_the_sadness_reported() -> None:
    """Rule 5: a whisper cue decides the label; the other emotion's words are reported as overruled."""
    match = match_description("悲伤地低语")
    assert match is not None
    assert (match.label, match.cues, match.overruled) == ("whisper", ("低语",), ("悲伤地",))
    assert 0.5 <= match.intensity <= 1.0
    assert match.words() == 'whisper 0.7 from "低语" (over "悲伤地")'


@pytest.mark.parametrize("text, label", [("trembling", "afraid"), ("颤抖着", "afraid"), ("loudly", "angry"),
                                         ("声音沙哑", "sad")])
def test_a_support_cue_alone_decides_its_own_label(text: str, label: str) -> None:
    match = match_description(text)
    assert match is not None and match.label == label


@pytest.mark.parametrize("plain, boosted", [("sadly", "sadly, trembling"), ("开心地笑着", "大声开心地笑着"),
                                            ("生气", "生气，声音颤抖")])
def test_a_support_cue_beside_an_emotion_strengthens_it(plain: str, boosted: str) -> None:
    before, after = match_description(plain), match_description(boosted)
    assert before is not None and after is not None
    assert after.label == before.label and after.intensity > before.intensity


@pytest.mark.parametrize("direction", ["stronger", "weaker"])
@pytest.mark.parametrize("base, stronger, weaker", [
    ("sad", "extremely sad", "slightly sad"),
    ("angrily", "very angrily", "a bit angrily"),
    ("afraid", "really afraid", "barely afraid"),
    ("calm", "completely calm", "somewhat calm"),
    ("难过", "非常难过", "有点难过"),
    ("生气", "生气极了", "略微生气"),
    ("害怕", "十分害怕", "稍微害怕"),
    ("开心", "特别开心", "不太开心"),
])
def test_modifiers_move_the_intensity_the_right_way(base: str, stronger: str, weaker: str, direction: str) -> None:
    plain = match_description(base)
    modified = match_description(stronger if direction == "stronger" else weaker)
    assert plain is not None and modified is not None
    assert modified.label == plain.label
    if direction == "stronger":
        assert modified.intensity > plain.intensity or modified.intensity == 1.0
    else:
        assert modified.intensity < plain.intensity


def test_modifiers_multiply_and_the_intensity_stays_within_one() -> None:
    once, twice = match_description("very sad"), match_description("very very sad")
    assert once is not None and twice is not None
    assert (once.intensity, twice.intensity) == (0.875, 1.0)
    assert match_description("extremely extremely furious") == DescriptionMatch("angry", 1.0, ("furious",))


def test_a_modifier_does_not_reach_over_punctuation_or_far_words() -> None:
    assert match_description("very tired today, sad") == match_description("sad")
    assert match_description("very much a long way from sad") == match_description("sad")


@pytest.mark.parametrize("text", ["not angry", "not very angry", "never afraid", "without anger", "不生气",
                                  "一点也不害怕", "并不难过", "没有生气"])
def test_a_negated_cue_alone_is_no_match(text: str) -> None:
    assert match_description(text) is None


@pytest.mark.parametrize("text, label", [("not angry, just sad", "sad"), ("calm, not angry", "calm"),
                                         ("不生气，但很难过", "sad"), ("不害怕，很平静", "calm")])
def test_negation_skips_only_its_own_cue(text: str, label: str) -> None:
    match = match_description(text)
    assert match is not None and match.label == label
    assert not any(word in match.cues for word in ("angry", "生气", "害怕"))


@pytest.mark.parametrize("text", ["", "   ", "hello there", "she is made of stone", "a crusade", "你好",
                                  "very", "非常", "not"])
def test_text_with_nothing_known_is_no_match(text: str) -> None:
    assert match_description(text) is None


def test_words_match_whole_english_words_and_chinese_longest_first() -> None:
    assert match_description("madly madness") is None
    assert match_description("不高兴") == DescriptionMatch("sad", 0.5, ("不高兴",))
    assert match_description("冷笑") == DescriptionMatch("disgusted", 0.7, ("冷笑",))


def test_full_width_and_upper_case_are_normalised() -> None:
    assert match_description("ＡＮＧＲＩＬＹ，ｖｏｉｃｅ ｓｈａｋｉｎｇ") == match_description("angrily, voice shaking")
    assert normalise("  Isn’t   ＳＡＤ ") == "isn't sad"
    assert match_description("Isn’t SAD") is None


def test_the_strongest_label_wins_and_the_others_are_reported() -> None:
    match = match_description("quietly, but furiously, yelling")
    assert match is not None
    assert (match.label, match.cues, match.overruled) == ("angry", ("furiously", "yelling"), ("quietly",))


def test_no_phrase_is_listed_twice() -> None:
    phrases = [phrase for table in (LEXICON, SUPPORT_CUES) for groups in table.values()
               for _, words in groups for phrase in words]
    phrases += [*MODIFIERS, *AFTER_MODIFIERS, *NEGATIONS]
    assert sorted({p for p in phrases if phrases.count(p) > 1}) == []
    assert all(p == normalise(p) and p for p in phrases)


def test_base_intensities_and_factors_are_in_range() -> None:
    for table in (LEXICON, SUPPORT_CUES):
        assert all(0.0 < base <= 1.0 for groups in table.values() for base, _ in groups)
    assert all(0.0 < factor <= 2.0 for factor in (*MODIFIERS.values(), *AFTER_MODIFIERS.values()))


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("abnotsdgry ,，。不生气悲伤低语很非常有点怒吼")), max_size=40))
def test_any_text_gives_none_or_a_valid_match(text: str) -> None:
    match = match_description(text)
    if match is not None:
        assert match.label in LABELS and 0.0 <= match.intensity <= 1.0
        assert match.cues and all(cue in normalise(text) for cue in match.cues)


def test_parse_emotion_keeps_the_description() -> None:
    emotion = parse_emotion("angrily, voice shaking", source="CLI")
    assert (emotion.method, emotion.label, emotion.description, emotion.source) == (
        "label", "angry", "angrily, voice shaking", "CLI")
    assert emotion.intensity >= 0.7
    assert parse_emotion("悲伤地低语", source="subtitle tag").label == "whisper"


def test_parse_emotion_refuses_unknown_words_in_one_line() -> None:
    with pytest.raises(ValueError, match="cannot read the emotion 'hello there'") as caught:
        parse_emotion("hello there", source="CLI")
    assert "\n" not in str(caught.value)


def test_the_documented_lexicon_is_the_code() -> None:
    """docs/emotion-lexicon.md is generated: `python -m revoice.engine.emotion.lexicon --markdown`."""
    assert DOC.read_text(encoding="utf-8") == lexicon_markdown()


def test_the_written_rules_quote_the_constants() -> None:
    assert f"at most {MAX_GAP_UNITS} unknown words" in RULES
    assert f"adds {SUPPORT_BOOST:g} to the winner's intensity" in RULES


def test_the_command_line_prints_the_doc_or_a_match(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--markdown"]) == 0
    assert capsys.readouterr().out == lexicon_markdown()
    assert main(["angrily,", "voice", "shaking"]) == 0
    assert capsys.readouterr().out.strip() == 'angry 0.9 from "angrily" + "voice shaking"'
    assert main(["hello"]) == 1
    assert main([]) == 2
