"""revoice.engine.text.pinyin: polyphones in context, the editor's dictionary, tone sandhi."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from revoice.engine.text import PronunciationDictionary, apply_sandhi, to_pinyin
from revoice.engine.text.pinyin import to_pinyin_words

BENCH_DATA = Path(__file__).parents[3] / "bench" / "data"


@pytest.mark.parametrize(
    ("text", "pinyin"),
    [
        ("银行", "yin2 hang2"),
        ("你行不行", "ni3 xing2 bu4 xing2"),
        ("银行行长", "yin2 hang2 hang2 zhang3"),
        ("银行长期", "yin2 hang2 chang2 qi1"),
        ("我得走了", "wo3 dei3 zou3 le5"),
        ("他跑得很快", "ta1 pao3 de5 hen3 kuai4"),
        ("他得了第一名", "ta1 de2 le5 di4 yi1 ming2"),
        ("慢慢地走", "man4 man4 de5 zou3"),
        ("这块地", "zhe4 kuai4 di4"),
        ("孩子睡着了", "hai2 zi5 shui4 zhao2 le5"),
        ("他看着我", "ta1 kan4 zhe5 wo3"),
        ("明天还我钱", "ming2 tian1 huan2 wo3 qian2"),
        ("他还没来", "ta1 hai2 mei2 lai2"),
        ("我们重新开始", "wo3 men5 chong2 xin1 kai1 shi3"),
        ("很重要", "hen3 zhong4 yao4"),
        ("孩子长大了", "hai2 zi5 zhang3 da4 le5"),
        ("这条河很长", "zhe4 tiao2 he2 hen3 chang2"),
        ("音乐很快乐", "yin1 yue4 hen3 kuai4 le4"),
        ("妈妈教我做饭", "ma1 ma5 jiao1 wo3 zuo4 fan4"),
        ("出差", "chu1 chai1"),
        ("奶奶在和面", "nai3 nai5 zai4 huo2 mian4"),
        ("受不了", "shou4 bu4 liao3"),
        ("他流了很多血", "ta1 liu2 le5 hen3 duo1 xie3"),
        ("睡了一觉", "shui4 le5 yi1 jiao4"),
    ],
)
def test_polyphones(text: str, pinyin: str) -> None:
    assert to_pinyin(text) == pinyin.split()


def test_one_syllable_per_han_character_and_others_skipped() -> None:
    assert to_pinyin("Hi，我用iPhone拍的！") == ["wo3", "yong4", "pai1", "de5"]
    assert to_pinyin("no Chinese here") == []
    assert to_pinyin("一不") == ["yi1", "bu4"]  # citation tones; sandhi is separate


def test_dictionary_comes_first() -> None:
    dictionary = PronunciationDictionary.from_data({"words": {"银行": "yin2 xing2", "重阳": "chóng yáng"}})
    assert to_pinyin("他在银行工作", dictionary=dictionary) == ["ta1", "zai4", "yin2", "xing2", "gong1", "zuo4"]
    assert to_pinyin("重阳节", dictionary=dictionary)[:2] == ["chong2", "yang2"]
    words = to_pinyin_words("他在银行工作", dictionary=dictionary)
    assert [w.source for w in words if w.text == "银行"] == ["dictionary"]


def test_sandhi() -> None:
    assert apply_sandhi("你好", ["ni3", "hao3"]) == ["ni2", "hao3"]
    assert apply_sandhi("我也很好", ["wo3", "ye3", "hen3", "hao3"]) == ["wo2", "ye2", "hen2", "hao3"]
    assert apply_sandhi("不要", ["bu4", "yao4"]) == ["bu2", "yao4"]
    assert apply_sandhi("不好", ["bu4", "hao3"]) == ["bu4", "hao3"]
    assert apply_sandhi("一个", ["yi1", "ge4"]) == ["yi2", "ge4"]
    assert apply_sandhi("一起", ["yi1", "qi3"]) == ["yi4", "qi3"]
    assert apply_sandhi("看一看", ["kan4", "yi1", "kan4"]) == ["kan4", "yi5", "kan4"]
    assert apply_sandhi("第一", ["di4", "yi1"]) == ["di4", "yi1"]
    assert apply_sandhi("十一", ["shi2", "yi1"]) == ["shi2", "yi1"]
    # punctuation ends a phrase: no sandhi across it
    assert apply_sandhi("好，好", ["hao3", "hao3"]) == ["hao3", "hao3"]
    with pytest.raises(ValueError, match="syllables"):
        apply_sandhi("你好", ["ni3"])


def test_benchmark_polyphones_meet_target() -> None:
    data = json.loads((BENCH_DATA / "polyphones_zh.json").read_text(encoding="utf-8"))
    assert len(data["sentences"]) >= 60
    total = right = 0
    for item in data["sentences"]:
        expected = [s.split("|") for s in item["pinyin"].split()]
        got = to_pinyin(item["text"])
        assert len(got) == len(expected), item["text"]
        for char, options, syllable in zip([c for c in item["text"] if "\u4e00" <= c <= "\u9fff"], expected, got):
            if char in data["polyphones"]:
                total += 1
                right += syllable in options
    assert right / total >= 0.97
