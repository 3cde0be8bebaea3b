"""The voice tint's render path (PSOLA + formant warp + EQ): real-time factor per tint, on one thread.

``python -m bench tint [--json-out FILE]`` renders the reel bench's English
sentences with the stock voice (piper's joe, one thread), then applies each tint
below with :func:`revoice.engine.characters.tint.apply_tint` (what a profile's
line goes through after synthesis) and reports the seconds per second of
speech (RTF; issue 16's goal: <= 0.5). The tints are those the voice bench
chose (bench/data/voice_tuning.json): a pitch shift with formants (beckett),
one semitone with a 19-band EQ (en_story_town), and both at once.

Prints one JSON object; progress goes to stderr. A run is kept in bench/data/tint.json.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.common import log


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench tint", description=__doc__.split("\n\n")[0])
    parser.add_argument("--json-out", type=Path, help="also write the JSON result to this file")
    args = parser.parse_args(list(argv))

    from bench.reel import ENGLISH
    from revoice.engine.characters.tint import VoiceTint, apply_tint
    from revoice.engine.voices.base import BackendOptions, SynthesisRequest
    from revoice.engine.voices.piper_voice import PiperBackend

    backend = PiperBackend(BackendOptions(threads=1))
    lines = [backend.synthesize(SynthesisRequest(text=text, language="en", voice_id="")) for text in ENGLISH]
    speech = sum(len(s.audio) / s.sample_rate for s in lines)
    eq = tuple(round(-3.0 + 6.0 * i / 18, 3) for i in range(19))
    tints = {
        "pitch +3.6 st, formants x1.208 (beckett)": VoiceTint(pitch_semitones=3.6, formant_ratio=1.208),
        "pitch +1 st, 19-band EQ (en_story_town)": VoiceTint(pitch_semitones=1.0, envelope_db=eq),
        "pitch +3.6 st, formants x1.208, 19-band EQ": VoiceTint(pitch_semitones=3.6, formant_ratio=1.208,
                                                             envelope_db=eq),
    }
    apply_tint(lines[0].audio, lines[0].sample_rate, next(iter(tints.values())))  # first use: imports, Praat
    rows: dict[str, Any] = {}
    for name, tint in tints.items():
        runs = []
        for _ in range(3):
            started = time.perf_counter()
            for line in lines:
                apply_tint(line.audio, line.sample_rate, tint)
            runs.append(time.perf_counter() - started)
        best = min(runs)
        rows[name] = {"seconds": round(best, 3), "rtf": round(best / speech, 4)}
        log(f"{name}: {best:.2f} s for {speech:.1f} s of speech, RTF {best / speech:.3f}")
    result = {"benchmark": "tint", "cpus": os.cpu_count(), "threads": 1, "sentences": len(lines),
              "speech_seconds": round(speech, 2), "goal_rtf": 0.5, "tints": rows,
              "meets_goal": all(row["rtf"] <= 0.5 for row in rows.values())}
    text = json.dumps(result, indent=1)
    print(text)
    if args.json_out is not None:
        args.json_out.write_text(text + "\n", encoding="utf-8")
    return 0
