"""Fastest speech rate of the stock voices, and the time and memory an impossible line costs.

``python -m bench speech_rate`` measures how many words (piper, English) and Han
characters (kokoro, Mandarin) per second each voice speaks at its natural rate
(``duration_scale`` 1.0) and at its fastest (``FitPolicy.min_duration_scale``),
on prose, short function words and one word repeated. The fastest real text
sets ``engine.fit.FASTEST_WORDS_PER_SECOND`` / ``FASTEST_CHARACTERS_PER_SECOND``
(twice it), the bound under which ``check_text_can_fit`` refuses a line before
synthesis.

``--impossible WORDS`` also renders one WORDS-word cue into a 2 s slot with piper
in a fresh process, with the check (the line fails before synthesis) and, with
``--unchecked``, without it (the old behaviour: every word synthesized before
the fitter refuses it), and reports each run's peak RSS (``ru_maxrss``) and
seconds. The unchecked run of 1500 words needs over 20 GB: try 200 first.

Prints one JSON object; progress goes to stderr. A run on the stock voices is kept
in bench/data/speech_rate.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from typing import Any

from bench.common import log

ENGLISH = {
    "prose": "The quick brown fox jumps over the lazy dog while the farmer watches from the porch and wonders "
             "why it never rains in the summer.",
    "short words": "I am so up to it and we go in or out if he is at it so do I go on to it or not",
    "function words": "it is in to of on at by up so if we he me my no do go or an as us",
    "one word repeated": " ".join(["to"] * 30),
}
MANDARIN = {
    "prose": "今天天气很好，我们一起去公园散步吧。他说明天还要早起去上班，所以不能太晚回家。",
    "one character repeated": "的" * 40,
}
REAL = ("prose", "short words", "function words")
"""The texts that set the bound (a repeated word is slurred by the model, not spoken)."""

_IMPOSSIBLE = """
import json, resource, sys, time
from pathlib import Path
import revoice.engine.render as render
from revoice.engine.model import DialogueLine, FrameRange
from revoice.engine.voices.base import BackendOptions
from revoice.engine.voices.piper_voice import PiperBackend
words, unchecked, folder = int(sys.argv[1]), sys.argv[2] == "1", Path(sys.argv[3])
if unchecked:
    render.check_text_can_fit = lambda *args, **kwargs: None
backend = PiperBackend(BackendOptions(threads=2))
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
text = " ".join(["Give me the keys, I will open it myself."] * (words // 9 + 1)).split()[:words]
line = DialogueLine(line_id="L0001", text=" ".join(text), speaker="MARA", language="en",
                    record=FrameRange(0, 50, 25.0), origin="bench")
started = time.perf_counter()
result = render.Revoicer(backend=backend).render([line], out_dir=folder)
seconds = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"words": words, "checked": not unchecked, "failed": [f.reason for f in result.failed],
                  "seconds": round(seconds, 3), "peak_rss_mb": round(peak / 1024, 1),
                  "rss_before_render_mb": round(before / 1024, 1)}))
"""


def measure_rates() -> dict[str, Any]:
    """Words (characters) per second of every stock voice on each text, natural and fastest."""
    from revoice.engine.fit import FitPolicy, trimmed_speech
    from revoice.engine.voices.base import BackendOptions, SynthesisRequest
    from revoice.engine.voices.registry import discover_backends, load_backend

    fastest_scale = FitPolicy().min_duration_scale
    specs = {spec.name: spec for spec in discover_backends()}
    rows: list[dict[str, Any]] = []
    for name, texts, language in (("piper", ENGLISH, "en"), ("kokoro", MANDARIN, "zh")):
        spec = specs.get(name)
        reason = spec.availability(BackendOptions()) if spec is not None else "not installed"
        if spec is None or reason:
            log(f"{name}: skipped ({reason})")
            continue
        backend = load_backend(spec, BackendOptions(threads=1))
        for voice in [info.voice_id for info in backend.voices()]:
            for label, text in texts.items():
                units = len(text.split()) if language == "en" else sum(1 for c in text if "\u4e00" <= c <= "\u9fff")
                for scale in (1.0, fastest_scale):
                    synthesis = backend.synthesize(SynthesisRequest(text=text, voice_id=voice, language=language,
                                                                    duration_scale=scale, seed=1))
                    seconds = len(trimmed_speech(synthesis, 48000)) / 48000
                    rows.append({"backend": name, "voice": voice, "text": label, "units": units,
                                 "unit": "word" if language == "en" else "character", "duration_scale": scale,
                                 "seconds": round(seconds, 3), "per_second": round(units / seconds, 2)})
                    log(f"{name} {voice} {label} x{scale}: {rows[-1]['per_second']} /s")
    return {"rows": rows, "fastest_real": _fastest(rows)}


def _fastest(rows: list[dict[str, Any]]) -> dict[str, float]:
    """The fastest rate on real text, per unit and duration scale."""
    best: dict[str, float] = {}
    for row in rows:
        if row["text"] in REAL or row["unit"] == "character":
            name = f"{row['unit']}s_per_second_at_{row['duration_scale']}"
            best[name] = max(best.get(name, 0.0), row["per_second"])
    return best


def impossible_line(words: int, *, unchecked: bool, folder: str) -> dict[str, Any]:
    """Render a ``words``-word cue in a 2 s slot in a fresh process; its peak RSS and time."""
    done = subprocess.run([sys.executable, "-c", _IMPOSSIBLE, str(words), "1" if unchecked else "0", folder],
                          capture_output=True, text=True, env={**os.environ, "ORT_DISABLE_TELEMETRY": "1"})
    if done.returncode != 0:
        return {"words": words, "checked": not unchecked, "error": done.stderr.strip().splitlines()[-1:]}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench speech_rate", description=__doc__.split("\n")[0])
    parser.add_argument("--impossible", type=int, nargs="*", default=[], metavar="WORDS",
                        help="also render a WORDS-word cue in a 2 s slot (peak RSS, seconds)")
    parser.add_argument("--unchecked", action="store_true", help="also render it without the check (old behaviour)")
    parser.add_argument("--no-rates", action="store_true", help="skip the rate measurement")
    args = parser.parse_args(list(argv))
    from revoice.engine.fit import FASTEST_CHARACTERS_PER_SECOND, FASTEST_WORDS_PER_SECOND, FitPolicy

    hard = FitPolicy().hard_min_ratio
    out: dict[str, Any] = {"bound": {
        "fastest_words_per_second": FASTEST_WORDS_PER_SECOND,
        "fastest_characters_per_second": FASTEST_CHARACTERS_PER_SECOND, "hard_min_ratio": hard,
        "placed_words_per_second": round(FASTEST_WORDS_PER_SECOND / hard, 1),
        "placed_characters_per_second": round(FASTEST_CHARACTERS_PER_SECOND / hard, 1)}}
    if not args.no_rates:
        out["rates"] = measure_rates()
    import tempfile

    runs = []
    for words in args.impossible:
        for unchecked in ((False, True) if args.unchecked else (False,)):
            with tempfile.TemporaryDirectory(prefix="revoice-bench-") as folder:
                log(f"impossible line: {words} words, {'unchecked' if unchecked else 'checked'}")
                runs.append(impossible_line(words, unchecked=unchecked, folder=folder))
    if runs:
        out["impossible"] = runs
    print(json.dumps(out, indent=1))
    return 0
