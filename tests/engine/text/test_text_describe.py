"""revoice.engine.text.describe: what ``revoice text`` prints."""

from __future__ import annotations

import json
from pathlib import Path

from revoice.engine.text import describe


def test_mandarin_line() -> None:
    out = describe("（沉默片刻）你行不行？我得走了，3点见。", language="zh")
    json.dumps(out)  # JSON-ready
    assert out["normalized"] == "你行不行？我得走了，三点见。"
    assert out["pinyin"] == "ni3 xing2 bu4 xing2 wo3 dei3 zou3 le5 san1 dian3 jian4".split()
    assert out["pinyin_spoken"][4:6] == ["wo2", "dei2"]
    assert out["pieces"][0] == {"silence": 1.5, "reason": "（沉默片刻）"}
    assert out["directions"][0]["kind"] == "pause"
    assert [p["mark"] for p in out["pauses"]] == ["？", "，", "。"]
    assert [s["rule"] for s in out["steps"]] == ["zh.numbers"]
    assert {"word": "得", "pinyin": "dei3", "source": "rule"} in out["words"]


def test_english_line_has_no_pinyin() -> None:
    out = describe("(laughs) Dr. Smith owes me $20.", language="en")
    assert out["normalized"] == "Doctor Smith owes me twenty dollars."
    assert "pinyin" not in out
    assert out["directions"][0] == {"text": "(laughs)", "start": 0, "end": 8, "kind": "action", "seconds": 0.0}


def test_dictionary_path(tmp_path: Path) -> None:
    path = tmp_path / "project.toml"
    path.write_text('[words]\n"银行" = "yin2 xing2"\n', encoding="utf-8")
    assert describe("银行", language="zh", dictionary=path)["pinyin"] == ["yin2", "xing2"]
