"""Revoiced Mandarin intelligibility: Kokoro lines transcribed by Whisper base, character error rate.

``python -m bench.mandarin [--voice jm_kumo] [--limit N] [--no-baseline]``
speaks each line of ``bench/data/mandarin_lines.json`` with the Kokoro
backend (Revoice's front end: normalization, polyphone-aware pinyin, tone
sandhi), transcribes it with :class:`revoice.engine.qc.asr.AsrMeter` (Mandarin,
Simplified) and scores CER against the spoken form of the line. The
baseline feeds the same model misaki's own Mandarin G2P of the same
normalized text (jieba + pypinyin, no sandhi), so the difference is the
front end alone; ``no_sandhi`` uses Revoice's pinyin without tone sandhi. Prints one JSON object; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from revoice.engine.qc.asr import AsrMeter
from revoice.engine.qc.text_norm import cer
from revoice.engine.text.directions import Silence
from revoice.engine.text.normalize import normalize
from revoice.engine.voices.base import BackendOptions, SynthesisRequest
from revoice.engine.voices.kokoro_voice import SAMPLE_RATE, SPEC, VOICES, KokoroBackend, KokoroPhonemizer

DATA = Path(__file__).parent / "data" / "mandarin_lines.json"


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.mandarin", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--voice", default=VOICES[0], choices=VOICES)
    parser.add_argument("--limit", type=int, default=0, help="only the first N lines (0 = all)")
    parser.add_argument("--no-baseline", action="store_true", help="skip the misaki-G2P baseline")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args(argv)
    reason = SPEC.availability(BackendOptions())
    if reason:
        print(json.dumps({"skipped": reason}))
        return 0
    lines: list[str] = json.loads(args.data.read_text(encoding="utf-8"))["lines"]
    if args.limit:
        lines = lines[: args.limit]
    backend = KokoroBackend(BackendOptions(threads=args.threads))
    meter = AsrMeter(threads=args.threads)
    legacy: Any = importlib.import_module("misaki.zh").ZHG2P() if not args.no_baseline else None
    citation = KokoroPhonemizer(sandhi=False) if not args.no_baseline else None
    rows: list[dict[str, Any]] = []
    synth_seconds = audio_seconds = 0.0
    for index, line in enumerate(lines, 1):
        spoken = normalize(line, language="zh").normalized
        start = time.perf_counter()
        audio = backend.synthesize(SynthesisRequest(line, args.voice, "zh")).audio
        synth_seconds += time.perf_counter() - start
        audio_seconds += len(audio) / SAMPLE_RATE
        transcript = meter.transcribe(audio, SAMPLE_RATE, language="zh")
        row: dict[str, Any] = {"line": line, "spoken": spoken, "transcript": transcript,
                               "cer": round(cer(spoken, transcript), 4)}
        if legacy is not None:
            phonemes = str(legacy(spoken)[0])
            base_audio = backend.synthesize_phonemes(phonemes, voice=args.voice)
            base_text = meter.transcribe(base_audio, SAMPLE_RATE, language="zh")
            row["baseline_transcript"] = base_text
            row["baseline_cer"] = round(cer(spoken, base_text), 4)
        if citation is not None:
            phonemes = " ".join(p.phonemes for p in citation.phonemize(line) if not isinstance(p, Silence))
            plain_text = meter.transcribe(backend.synthesize_phonemes(phonemes, voice=args.voice), SAMPLE_RATE,
                                          language="zh")
            row["no_sandhi_transcript"] = plain_text
            row["no_sandhi_cer"] = round(cer(spoken, plain_text), 4)
        rows.append(row)
        _log(f"[{index}/{len(lines)}] cer {row['cer']:.3f}  {transcript}")
    result: dict[str, Any] = {
        "voice": args.voice,
        "lines": len(rows),
        "mean_cer": round(sum(r["cer"] for r in rows) / len(rows), 4),
        "asr": "whisper-base (engine.qc.asr.AsrMeter), Mandarin prompt",
        "synthesis_rtf": round(synth_seconds / audio_seconds, 3),
    }
    if legacy is not None:
        result["baseline_mean_cer"] = round(sum(r["baseline_cer"] for r in rows) / len(rows), 4)
        result["baseline"] = "misaki ZHG2P (legacy: jieba + pypinyin, no sandhi) on the same normalized text"
        result["no_sandhi_mean_cer"] = round(sum(r["no_sandhi_cer"] for r in rows) / len(rows), 4)
        result["no_sandhi"] = "Revoice's pinyin in citation tones (no apply_sandhi), one model run per line"
    result["rows"] = rows
    print(json.dumps(result, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
