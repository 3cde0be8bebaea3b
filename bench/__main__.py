"""``python -m bench`` lists the benchmarks; ``python -m bench NAME [--help | options]`` runs one.

Each benchmark module has a ``main(argv) -> int`` that prints one JSON object on
stdout and its progress on stderr.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

BENCHMARKS = {
    "sync": ("bench.sync", "fit synthesized lines to target lengths (revoice vs atempo) and to real-speech cues"),
}
"""Name -> (module, one-line description)."""


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "list"):
        print("usage: python -m bench NAME [options]   (python -m bench NAME --help)\n\nbenchmarks:")
        for name, (_module, description) in BENCHMARKS.items():
            print(f"  {name:10s} {description}")
        return 0
    name, rest = args[0], args[1:]
    if name not in BENCHMARKS:
        print(f"unknown benchmark {name!r}; known: {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    module = importlib.import_module(BENCHMARKS[name][0])
    result: int = module.main(rest)
    return result


if __name__ == "__main__":
    sys.exit(main())
