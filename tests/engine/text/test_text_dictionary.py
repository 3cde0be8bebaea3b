"""revoice.engine.text.dictionary: loading JSON/TOML, clear errors, matching."""

from __future__ import annotations

from pathlib import Path

import pytest
from revoice.engine.text import DictionaryError, PronunciationDictionary


def test_json_and_toml_load_the_same(tmp_path: Path) -> None:
    json_file = tmp_path / "words.json"
    json_file.write_text(
        '{"version": 1, "words": {"银行": "yin2 hang2", "重庆": "chóng qìng", '
        '"Nguyen": "/wˈɪn/", "Revoice": {"say": "ree voice", "note": "product"}}}', encoding="utf-8")
    toml_file = tmp_path / "words.toml"
    toml_file.write_text(
        '[words]\n"银行" = "yin2 hang2"\n"重庆" = "chóng qìng"\nNguyen = { phonemes = "wˈɪn" }\n'
        'Revoice = { say = "ree voice", note = "product" }\n', encoding="utf-8")
    a, b = PronunciationDictionary.load(json_file), PronunciationDictionary.load(toml_file)
    assert a.entries == b.entries
    assert a.lookup("银行") is not None and a.lookup("银行").pinyin == ("yin2", "hang2")  # type: ignore[union-attr]
    assert a.lookup("重庆").pinyin == ("chong2", "qing4")  # type: ignore[union-attr]
    assert a.lookup("nguyen").phonemes == "wˈɪn"  # type: ignore[union-attr]
    assert a.lookup("REVOICE").say == "ree voice"  # type: ignore[union-attr]
    assert len(a) == 4 and a.source == str(json_file)


def test_errors_name_the_file_and_every_bad_entry(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"words": {"银行": "yin2", "长城": "chang2 cheng", "ABC": {"say": "a", "phonemes": "b"},'
                   ' "hello": 5, "行": "xyz2"}}', encoding="utf-8")
    with pytest.raises(DictionaryError) as caught:
        PronunciationDictionary.load(bad)
    message = str(caught.value)
    assert message.count(str(bad)) == 5
    assert "entry '银行': pinyin 'yin2' has 1 syllable(s) for 2 Chinese character(s)" in message
    assert "entry '长城'" in message and "no tone" in message
    assert "entry 'ABC': give exactly one of pinyin, say, phonemes" in message
    assert "entry 'hello': expected text or a table" in message
    assert "entry '行'" in message and "not a Mandarin syllable" in message


def test_file_level_errors(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text("{oops", encoding="utf-8")
    with pytest.raises(DictionaryError, match=r"a\.json: invalid JSON at line 1"):
        PronunciationDictionary.load(tmp_path / "a.json")
    (tmp_path / "a.yaml").write_text("x: y", encoding="utf-8")
    with pytest.raises(DictionaryError, match="json or .toml"):
        PronunciationDictionary.load(tmp_path / "a.yaml")
    with pytest.raises(DictionaryError, match="cannot read"):
        PronunciationDictionary.load(tmp_path / "missing.toml")
    (tmp_path / "b.json").write_text('{"words": {"Tom": "tom"}, "version": 2}', encoding="utf-8")
    with pytest.raises(DictionaryError, match="unsupported version 2"):
        PronunciationDictionary.load(tmp_path / "b.json")
    (tmp_path / "c.json").write_text('{"words": {"Tom": "tom", "TOM": "tam"}}', encoding="utf-8")
    with pytest.raises(DictionaryError, match="duplicates 'Tom'"):
        PronunciationDictionary.load(tmp_path / "c.json")


def test_find_matches_whole_latin_words_and_han_anywhere() -> None:
    d = PronunciationDictionary.from_data({"Tom": "tahm", "银行": "yin2 hang2", "银行卡": "yin2 hang2 ka3"})
    found = [(m.start, m.end, m.entry.word) for m in d.find("Tomorrow tom 我的银行卡和银行")]
    assert found == [(9, 12, "Tom"), (15, 18, "银行卡"), (19, 21, "银行")]
