"""``python -m bench`` lists the benchmarks; ``python -m bench NAME [--help | options]`` runs one.

A benchmark is any module ``bench/NAME.py`` with a top-level ``main(argv) -> int``
that prints one JSON object on stdout and its progress on stderr. Listing reads
the modules' source (first docstring line) without importing them.
"""

from __future__ import annotations

import ast
import importlib
import sys
from collections.abc import Sequence
from pathlib import Path

from revoice.privacy import offline_environment

HELPERS = {"__init__", "__main__", "common"}


def benchmarks() -> dict[str, str]:
    """Benchmark name -> one-line description, for every ``bench/*.py`` defining ``main``."""
    found: dict[str, str] = {}
    for path in sorted(Path(__file__).parent.glob("*.py")):
        if path.stem in HELPERS or path.stem.startswith("_"):
            continue
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (OSError, SyntaxError, ValueError):
            continue
        if any(isinstance(node, ast.FunctionDef) and node.name == "main" for node in tree.body):
            doc = ast.get_docstring(tree) or ""
            found[path.stem] = doc.strip().split("\n")[0]
    return found


def main(argv: Sequence[str] | None = None) -> int:
    offline_environment()  # before a benchmark loads any model: no telemetry, no network
    args = list(sys.argv[1:] if argv is None else argv)
    known = benchmarks()
    if not args or args[0] in ("-h", "--help", "list"):
        print("usage: python -m bench NAME [options]   (python -m bench NAME --help)\n\nbenchmarks:")
        for name, description in known.items():
            print(f"  {name:12s} {description}")
        return 0
    name, rest = args[0], args[1:]
    if name not in known:
        print(f"unknown benchmark {name!r}; known: {', '.join(known)}", file=sys.stderr)
        return 2
    module = importlib.import_module(f"bench.{name}")
    result: int = module.main(rest)
    return result


if __name__ == "__main__":
    sys.exit(main())
