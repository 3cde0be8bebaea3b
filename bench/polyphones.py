"""Mandarin polyphone benchmark: :func:`revoice.engine.text.pinyin.to_pinyin` against hand-written pinyin.

``python -m bench.polyphones [--data FILE] [--errors]`` prints one JSON object:
per-character accuracy on the polyphones (行 长 还 重 为 了 得 地 着 乐 教 差 和
数 好 便 觉 少 血), accuracy over all characters, a per-polyphone table and,
with ``--errors``, every miss; ``by_set`` splits the ``dev`` sentences (used
while writing the rules) from the ``heldout`` ones (scored before any change). The data (``bench/data/polyphones_zh.json``)
accepts ``a|b`` where both readings are standard.
"""

from __future__ import annotations

import argparse
import importlib
import json
import re
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from revoice.engine.text.pinyin import to_pinyin

Converter = Callable[[str], list[str]]

DATA = Path(__file__).parent / "data" / "polyphones_zh.json"
TARGET = 0.97


def _citation(text: str, syllables: list[str]) -> list[str]:
    han = re.findall(r"[\u3400-\u9fff]", text)
    return ["yi1" if c == "一" else "bu4" if c == "不" else s for c, s in zip(han, syllables)]


def pypinyin_baseline(text: str) -> list[str]:
    """pypinyin alone on the whole sentence (its own phrase segmentation)."""
    from pypinyin import Style, lazy_pinyin

    han = "".join(re.findall(r"[\u3400-\u9fff]", text))
    return _citation(text, [str(s) for s in lazy_pinyin(han, style=Style.TONE3, neutral_tone_with_five=True)])


def misaki_baseline(text: str) -> list[str]:
    """What misaki's Mandarin G2P reads: jieba words, pypinyin per word."""
    from pypinyin import Style, lazy_pinyin

    jieba: Any = importlib.import_module("jieba")
    out: list[str] = []
    for run in re.findall(r"[\u3400-\u9fff]+", text):
        for word in jieba.lcut(run):
            out.extend(str(s) for s in lazy_pinyin(word, style=Style.TONE3, neutral_tone_with_five=True))
    return _citation(text, out)


def evaluate(data: dict[str, Any], convert: Converter = to_pinyin) -> dict[str, Any]:
    """Score every sentence with ``convert``; returns the JSON-ready result (without timing)."""
    polyphones = str(data["polyphones"])
    per_char: dict[str, list[int]] = {c: [0, 0] for c in polyphones}
    total = correct = poly_total = poly_correct = sentences_ok = 0
    errors: list[dict[str, Any]] = []
    for item in data["sentences"]:
        text = str(item["text"])
        expected = [s.split("|") for s in str(item["pinyin"]).split()]
        han = re.findall(r"[\u3400-\u9fff]", text)
        got = convert(text)
        if len(got) != len(expected) or len(han) != len(expected):
            raise ValueError(f"{text!r}: {len(got)} syllables from to_pinyin, {len(expected)} expected")
        sentence_ok = True
        for index, (char, options, syllable) in enumerate(zip(han, expected, got)):
            hit = syllable in options
            total += 1
            correct += hit
            if char in per_char:
                per_char[char][0] += 1
                per_char[char][1] += hit
                poly_total += 1
                poly_correct += hit
            if not hit:
                sentence_ok = False
                errors.append({"text": text, "index": index, "char": char, "expected": "|".join(options),
                               "got": syllable, "polyphone": char in per_char})
        sentences_ok += sentence_ok
    return {
        "sentences": len(data["sentences"]),
        "sentences_all_correct": sentences_ok,
        "polyphone_chars": poly_total,
        "polyphone_accuracy": round(poly_correct / poly_total, 4) if poly_total else None,
        "polyphone_target": TARGET,
        "polyphone_target_met": bool(poly_total and poly_correct / poly_total >= TARGET),
        "chars": total,
        "overall_accuracy": round(correct / total, 4) if total else None,
        "per_polyphone": {c: {"count": n, "accuracy": round(ok / n, 4) if n else None}
                          for c, (n, ok) in per_char.items()},
        "errors": errors,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.polyphones", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DATA, help="sentences with expected pinyin (JSON)")
    parser.add_argument("--errors", action="store_true", help="list every miss (default: polyphone misses only)")
    args = parser.parse_args(argv)
    data = json.loads(args.data.read_text(encoding="utf-8"))
    start = time.perf_counter()
    to_pinyin("预热")  # jieba builds its word list once; keep it out of the timing
    warm = time.perf_counter()
    result = evaluate(data)
    sets = sorted({str(item.get("set", "all")) for item in data["sentences"]})
    if len(sets) > 1:
        result["by_set"] = {}
        for name in sets:
            part = evaluate({**data, "sentences": [i for i in data["sentences"] if str(i.get("set", "all")) == name]})
            result["by_set"][name] = {k: part[k] for k in ("sentences", "polyphone_chars", "polyphone_accuracy",
                                                          "chars", "overall_accuracy")}
    result["baselines"] = {}
    for name, convert in (("pypinyin", pypinyin_baseline), ("misaki_zh_legacy", misaki_baseline)):
        part = evaluate(data, convert)
        result["baselines"][name] = {k: part[k] for k in ("polyphone_accuracy", "overall_accuracy")}
    result["seconds_per_sentence"] = round((time.perf_counter() - warm) / max(1, result["sentences"]), 5)
    result["load_seconds"] = round(warm - start, 3)
    if not args.errors:
        result["errors"] = [e for e in result["errors"] if e["polyphone"]]
    print(json.dumps(result, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
