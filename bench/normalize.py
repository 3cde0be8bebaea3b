"""Text normalization benchmark: :func:`revoice.engine.text.normalize` against hand-written cases.

``python -m bench.normalize [--lang en|zh] [--data-dir DIR]`` prints one JSON
object: per language the number of cases, how many pass (exact match of the
spoken form), the pass count per category and every failure. Every case must
pass; the exit status is 1 when one does not.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from revoice.engine.text.normalize import normalize

DATA_DIR = Path(__file__).parent / "data"
LANGUAGES = ("en", "zh")


def evaluate(cases: Sequence[dict[str, Any]], language: str) -> dict[str, Any]:
    """Run every case; returns counts, per-category counts and failures (JSON-ready)."""
    passed = 0
    categories: dict[str, dict[str, int]] = {}
    failures: list[dict[str, Any]] = []
    start = time.perf_counter()
    for case in cases:
        mode = case.get("abbreviations", "spell")
        got = normalize(case["text"], language=language, abbreviations=mode).normalized
        ok = got == case["expected"]
        passed += ok
        row = categories.setdefault(case["category"], {"cases": 0, "passed": 0})
        row["cases"] += 1
        row["passed"] += ok
        if not ok:
            failures.append({"category": case["category"], "text": case["text"], "expected": case["expected"],
                             "got": got})
    return {
        "cases": len(cases),
        "passed": passed,
        "all_passed": passed == len(cases),
        "ms_per_case": round(1000 * (time.perf_counter() - start) / max(1, len(cases)), 3),
        "categories": categories,
        "failures": failures,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.normalize", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lang", choices=LANGUAGES, action="append", help="language(s) to run (default: both)")
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR, help="folder with normalize_{en,zh}.json")
    args = parser.parse_args(argv)
    normalize("warm up 1", language="zh")  # loads cn2an once, outside the timing
    result: dict[str, Any] = {}
    for language in args.lang or LANGUAGES:
        data = json.loads((args.data_dir / f"normalize_{language}.json").read_text(encoding="utf-8"))
        result[language] = evaluate(data["cases"], language)
    result["all_passed"] = all(r["all_passed"] for r in result.values() if isinstance(r, dict))
    print(json.dumps(result, ensure_ascii=False, indent=1))
    return 0 if result["all_passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
