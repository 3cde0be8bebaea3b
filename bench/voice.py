"""Benchmark: offline voice matching (base-voice choice + tint) toward real voices; similarity, MOS, WER.

``python -m bench voice [--quick] [--ge2e] [--strengths 1,0.5] [--bank DIR] [--json-out FILE]`` prints one
JSON object on stdout; progress and the table go to stderr. Per character it reports tune_match's wall and CPU
seconds; with ``--bank DIR`` the base voices' renders and untinted scores are kept in DIR
(:class:`revoice.engine.characters.voice_bank.VoiceBank`), so a second run measures tuning with them at hand.

For every real voice (the corpus voices in ``../shared/corpus/voices`` and the
moonshine-voice wheel's beckett, two_cities (first 20 s) and clone-test),
the recording's speech is split at a pause near the middle
(:func:`revoice.engine.characters.tuning.split_reference`): :func:`tune_match` sees only
the first half and speaks only its own tuning sentences
(``TUNING_SENTENCES``); everything below is measured on the second half and on
other sentences (``bench.quality.PIPER_SENTENCES`` for English,
``bench/data/mandarin_lines.json`` for Mandarin), checked to be disjoint.

Per character, with d-vector cosine (engine.speaker.SpeakerSimilarity,
mean over the evaluation lines of each line's cosine to the held-out half):

* ``stock``: the default voice without matching (piper 'joe' for English,
  Kokoro's first voice for Mandarin); ``base``: the chosen base voice untinted;
  ``matched``: base voice + tint at each strength; ``ceiling``: held-out half
  vs tuning half of the same recording.
* ``target_specific_gain`` = (matched - stock to the target) - mean over the
  other real voices of (matched-for-this-target - stock to that voice), so a
  change that makes the voice closer to every human (e.g. any resynthesis)
  does not count; ``closure`` = that / (ceiling - stock); ``raw_closure``
  without the subtraction.
* DistillMOS and WER (English, normalized) / CER (Mandarin) from Whisper base,
  stock vs base vs matched, mean over the evaluation lines. Unless
  ``--no-naturalness``, tune_match gets DistillMOS as its naturalness veto
  (scored on the tuning sentences only, never on the evaluation ones). Unless
  ``--no-cohort``, tune_match gets the other characters' tuning halves as its
  cohort (target-specific objective; held-out halves are never used for tuning). Unless
  ``--no-intelligibility``, Whisper on the judged sentences (tuning + check) vetoes voices and tints that
  mishear more than their base voice or the stock voice (intelligibility first).
* Held-out intelligibility: per character, the pooled WER (English) / CER (Mandarin) of the offline voice
  (base + tint at each strength) and of the stock voice on ``HELDOUT_INTELLIGIBILITY`` (numbers and plural
  sibilants; never tuning or check sentences), with ``no_higher_than_stock`` per character and in the summary,
  and the similarity tune_match reports giving up for it. ``--earlier`` also tunes every character with the
  earlier rule (``stock_intelligibility=False``: tints judged against their own base voice only) and reports its
  choice, closure and held-out WER beside; ``EARLIER`` holds the closure the project measured before (notes).
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
from collections.abc import MutableMapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from revoice.engine.characters.tint import VoiceMatch, apply_tint
from revoice.engine.characters.tuning import CHECK_SENTENCES, TUNING_SENTENCES, split_reference, tune_match
from revoice.engine.characters.tuning_score import synthesize_lines
from revoice.engine.dsp.voice_transform import median_f0
from revoice.engine.qc.text_norm import cer, wer
from revoice.engine.speaker import Embedding, SpeakerEmbedder, cosine
from revoice.engine.voices.base import BackendOptions, VoiceBackend

from bench.common import AudioArray, log, mean, table
from bench.quality import CORPUS_VOICES, PIPER_SENTENCES, corpus_dir, moonshine_asset, read_mono

ROOT = Path(__file__).resolve().parents[1]
MANDARIN_LINES = ROOT / "bench" / "data" / "mandarin_lines.json"
MOONSHINE = ("beckett.wav", "two_cities.wav", "clone-test.wav")
MAX_RECORDING_S = 20.0
"""Longer recordings (two_cities, 44 s) are cut to their first 20 s before splitting."""
HELDOUT_INTELLIGIBILITY: dict[str, tuple[str, ...]] = {
    "en": (
        "He counted seventy-five sheep before he fell asleep.",
        "Her 3 sisters sent 40 roses to the house.",
        "Six swift ships sailed past the docks.",
        "Twelve glasses and six dishes sat on the shelves.",
        "It cost 250 dollars in 2019.",
        "The parade starts at 9 on the 4th of July.",
    ),
    "zh": (
        "他花了二十八块钱买了六本杂志。",
        "这条路长一千五百米。",
        "今天来了十七位客人。",
        "我家养了三只猫和四条鱼。",
        "这座楼一共有三十层。",
        "她每天喝八杯水。",
    ),
}
"""Held-out intelligibility sentences (numbers, plural sibilants, Mandarin measure words): never tuned or judged on."""
EARLIER = {"closure_mean_dvector_strength_1": 0.171, "characters": 7,
           "source": "bench/voice.py --strengths 1 before intelligibility first (session notes, commit 7c22bc6)"}
"""The closure measured before this change, for the report's comparison."""
SynthCache = MutableMapping[Any, Any]
"""tune_match's synthesis cache: base-voice renders and their measurements, shared by every character."""


def real_voices() -> dict[str, tuple[AudioArray, int, str]]:
    """Speaker name -> (audio, rate, language) for every real recording that is here."""
    found: dict[str, tuple[AudioArray, int, str]] = {}
    for name in CORPUS_VOICES:
        path = corpus_dir() / name
        if path.is_file():
            audio, rate = read_mono(path)
            found[name.split(".")[0]] = (audio, rate, "zh" if name.startswith("zh_") else "en")
    for name in MOONSHINE:
        asset = moonshine_asset(name)
        if asset is not None:
            audio, rate = read_mono(asset)
            found[name.split(".")[0]] = (audio[: int(MAX_RECORDING_S * rate)], rate, "en")
    return found


def eval_sentences(language: str, count: int) -> list[str]:
    """Evaluation sentences (never the tuning ones)."""
    if language == "zh":
        lines = [str(t) for t in json.loads(MANDARIN_LINES.read_text(encoding="utf-8"))["lines"]]
        lines = [t for t in lines if not any(ch.isdigit() for ch in t)]  # digits: normalizer, not voice
    else:
        lines = list(PIPER_SENTENCES)
    chosen = lines[:count]
    overlap = set(chosen) & {*TUNING_SENTENCES.get(language, ()), *CHECK_SENTENCES.get(language, ())}
    if overlap:
        raise RuntimeError(f"evaluation and tuning sentences overlap: {overlap}")
    return chosen


def intelligibility_sentences(language: str) -> tuple[str, ...]:
    """:data:`HELDOUT_INTELLIGIBILITY` for ``language``, checked apart from every sentence tune_match hears."""
    chosen = HELDOUT_INTELLIGIBILITY.get(language, ())
    overlap = set(chosen) & {*TUNING_SENTENCES.get(language, ()), *CHECK_SENTENCES.get(language, ())}
    if overlap:
        raise RuntimeError(f"held-out intelligibility and tuning sentences overlap: {overlap}")
    return chosen


def line_similarity(lines: Sequence[AudioArray], rate: int, target: Embedding, meter: SpeakerEmbedder) -> float:
    """Mean over ``lines`` of each line's cosine to ``target``."""
    return float(np.mean([cosine(meter.embed(x, rate), target) for x in lines]))


class Quality:
    """DistillMOS and Whisper WER/CER of lines, cached by content."""

    def __init__(self, threads: int, device: str, *, asr: bool, mos: bool) -> None:
        from revoice.engine.qc.asr import AsrMeter
        from revoice.engine.qc.mos import DistillMosMeter

        self.asr = AsrMeter(device=device, threads=threads) if asr else None
        self.mos = DistillMosMeter(device=device, threads=threads) if mos else None
        self.cache: dict[bytes, tuple[float | None, float | None]] = {}
        self.heard: dict[bytes, str] = {}

    def line(self, audio: AudioArray, rate: int, text: str, language: str) -> tuple[float | None, float | None]:
        """(DistillMOS, error rate) of one line."""
        key = audio.tobytes()[:4096] + str(audio.size).encode() + text.encode()
        if key not in self.cache:
            error = None
            if self.asr is not None:
                heard = self.asr.transcribe(audio, rate, language=language)
                error = cer(text, heard) if language == "zh" else wer(text, heard)
            score = self.mos.score(audio, rate) if self.mos is not None else None
            self.cache[key] = (score, error)
        return self.cache[key]

    def pooled_error_rate(self, audio: Sequence[AudioArray], rate: int, texts: Sequence[str],
                          language: str) -> float | None:
        """Misheard words (Mandarin: characters) over all ``texts`` / their words (QC's normalizer and counts)."""
        if self.asr is None:
            return None
        from revoice.engine.qc.text_norm import error_counts

        edits = words = 0
        for x, text in zip(audio, texts, strict=True):
            key = b"heard" + x.tobytes()[:4096] + str(x.size).encode() + str(rate).encode()
            if key not in self.heard:
                self.heard[key] = self.asr.transcribe(x, rate, language=language)
            e, w = error_counts(text, self.heard[key], language=language)
            edits, words = edits + e, words + w
        return round(edits / max(1, words), 4)

    def lines(self, audio: Sequence[AudioArray], rate: int, texts: Sequence[str], language: str) -> dict[str, Any]:
        got = [self.line(x, rate, t, language) for x, t in zip(audio, texts, strict=True)]
        return {"distillmos": mean([g[0] for g in got]), "error_rate": mean([g[1] for g in got])}


def _r(value: float) -> float:
    return round(float(value), 4)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench voice", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 evaluation sentences, strength 1 only")
    parser.add_argument("--sentences", type=int, default=6, help="evaluation sentences per language (default 6)")
    parser.add_argument("--strengths", default="1,0.5", help="tint strengths to measure (default 1,0.5)")
    parser.add_argument("--only", default="", help="comma-separated speaker names to run (default all)")
    parser.add_argument("--no-asr", action="store_true", help="skip Whisper WER/CER")
    parser.add_argument("--no-mos", action="store_true", help="skip DistillMOS")
    parser.add_argument("--no-naturalness", action="store_true",
                        help="tune without the DistillMOS veto (tune_match's naturalness=None)")
    parser.add_argument("--no-intelligibility", action="store_true",
                        help="tune without the Whisper error-rate veto (tune_match's transcribe=None)")
    parser.add_argument("--no-cohort", action="store_true",
                        help="tune on raw similarity (no cohort of the other characters' tuning halves)")
    parser.add_argument("--earlier", action="store_true",
                        help="also tune with the earlier rule (stock_intelligibility=False) and report it beside")
    parser.add_argument("--ge2e", action="store_true", help="also report Resemblyzer GE2E similarities")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads per model (default 1)")
    parser.add_argument("--device", default="cpu", help="device for the meters (cpu, cuda, cuda:N)")
    parser.add_argument("--json-out", type=Path, help="also write the JSON result to this file")
    parser.add_argument("--bank", type=Path, help="keep base-voice renders and scores in this folder between runs "
                        "(engine.characters.voice_bank.VoiceBank); a second run reuses them")
    args = parser.parse_args(argv)
    count = 3 if args.quick else args.sentences
    strengths = [1.0] if args.quick else [float(s) for s in args.strengths.split(",") if s.strip()]

    from revoice.engine.speaker import SpeakerSimilarity
    from revoice.engine.voices.kokoro_voice import SPEC as KOKORO
    from revoice.engine.voices.piper_voice import SPEC as PIPER

    options = BackendOptions(threads=args.threads)
    backends: dict[str, VoiceBackend] = {}
    for spec in (PIPER, KOKORO):
        reason = spec.availability(options)
        if reason:
            log(f"{spec.name} unavailable: {reason}")
        else:
            backends[spec.name] = spec.factory(options)
    if "piper" not in backends:
        log("piper is needed for the English stock voice")
        return 1
    voices = real_voices()
    if args.only:
        wanted = {w.strip() for w in args.only.split(",")}
        missing = wanted - set(voices)
        if missing:
            log(f"unknown speakers {sorted(missing)}; known: {sorted(voices)}")
            return 2
    if not voices:
        log(f"no real voices found (looked in {corpus_dir()} and the moonshine-voice wheel)")
        return 1
    meter = SpeakerSimilarity(device=args.device, threads=args.threads)
    meters: dict[str, SpeakerEmbedder] = {"dvector": meter}
    if args.ge2e:
        from revoice.engine.speaker import Ge2eSimilarity

        meters["ge2e"] = Ge2eSimilarity(device=args.device)
    quality = Quality(args.threads, args.device, asr=not args.no_asr, mos=not args.no_mos)

    halves: dict[str, tuple[AudioArray, AudioArray, int, str]] = {}
    for who, (audio, rate, language) in voices.items():
        tune, held = split_reference(audio, rate)
        halves[who] = (tune, held, rate, language)
    held_emb = {m: {w: meters[m].embed(h[1], h[2]) for w, h in halves.items()} for m in meters}
    tune_emb = {m: {w: meters[m].embed(h[0], h[2]) for w, h in halves.items()} for m in meters}

    cache: SynthCache = {}
    if args.bank is not None:
        from revoice.engine.characters.voice_bank import VoiceBank

        cache = VoiceBank(args.bank, salt=bank_salt())
    bank_entries = sum(1 for _ in args.bank.rglob("*.npz")) if args.bank is not None and args.bank.is_dir() else 0
    texts = {lang: eval_sentences(lang, count) for lang in {h[3] for h in halves.values()}}
    stock_backend = {"en": backends["piper"], "zh": backends.get("kokoro")}
    stock: dict[str, tuple[list[AudioArray], int, str]] = {}
    for lang, sentences in texts.items():
        backend = stock_backend[lang]
        if backend is None:
            continue
        voice = backend.voices()[0].voice_id
        lines, rate = synthesize_lines(backend, voice, lang, sentences, cache=cache)
        stock[lang] = (lines, rate, f"{backend.spec.name}/{voice}")
    stock_quality = {lang: quality.lines(s[0], s[1], texts[lang], lang) for lang, s in stock.items()}

    result: dict[str, Any] = {
        "machine": {"python": platform.python_version(), "cpu": platform.processor() or platform.machine(),
                    "threads": args.threads, "device": args.device},
        "bank": None if args.bank is None else {"folder": str(args.bank), "entries_before": bank_entries},
        "command": ["python", "-m", "bench", "voice", *(sys.argv[1:] if argv is None else argv)],
        "meters": list(meters), "strengths": strengths, "eval_sentences": texts,
        "tuning_sentences": {k: list(v) for k, v in TUNING_SENTENCES.items()},
        "stock": {lang: {"voice": s[2], **stock_quality[lang]} for lang, s in stock.items()},
        "characters": {},
    }
    intel_texts = {lang: intelligibility_sentences(lang) for lang in stock}
    stock_intel: dict[str, dict[str, Any]] = {}
    for lang, (_lines, _rate, name) in stock.items():
        backend, voice = backends[name.split("/")[0]], name.split("/", 1)[1]
        lines, rate = synthesize_lines(backend, voice, lang, intel_texts[lang], cache=cache)
        stock_intel[lang] = {"voice": name, "error_rate": quality.pooled_error_rate(lines, rate, intel_texts[lang],
                                                                                     lang)}
    result["heldout_intelligibility_sentences"] = {k: list(v) for k, v in intel_texts.items()}
    result["stock_heldout_intelligibility"] = stock_intel
    result["earlier"] = EARLIER
    header = ["who", "rule", "lang", "str", "stock", "base", "match", "ceil", "closure", "raw", "MOS st", "MOS m",
              "ERR st", "ERR m", "heldWER st", "heldWER m", "given up", "base voice", "tint", "tune s"]
    rows: list[list[Any]] = []
    rules = [("intelligibility_first", True), *([("earlier", False)] if args.earlier else [])]
    for who, (tune, held, rate, language) in halves.items():
        if args.only and who not in {w.strip() for w in args.only.split(",")}:
            continue
        if language not in stock:
            log(f"{who}: no {language} backend, skipped")
            continue
        usable = list(backends.values())  # piper first: the stock English voice is the first candidate
        for rule, first in rules:
            log(f"{who} ({language}, {rule}): tuning on {len(tune) / rate:.1f} s, held out {len(held) / rate:.1f} s")
            started, cpu_started = time.perf_counter(), time.process_time()
            veto = None if (args.no_naturalness or quality.mos is None) else quality.mos.score
            asr = quality.asr
            hear = None if (args.no_intelligibility or asr is None) else (
                lambda audio, rate, lang: asr.transcribe(audio, rate, language=lang))
            # The cohort: the other characters' tuning halves (never a held-out half), as a timeline's cast would be.
            cohort = [] if args.no_cohort else [(h[0], h[2]) for w, h in halves.items() if w != who]
            match: VoiceMatch = tune_match(tune, rate, language=language, backends=usable, embedder=meter,
                                           synthesis_cache=cache, naturalness=veto, cohort=cohort, transcribe=hear,
                                           stock_intelligibility=first)
            tune_seconds = time.perf_counter() - started
            tune_cpu_seconds = time.process_time() - cpu_started
            entry = measure_character(
                who, match, halves=halves, texts=texts[language], intel=intel_texts[language], stock=stock[language],
                stock_quality=stock_quality[language], stock_intel=stock_intel[language]["error_rate"],
                strengths=strengths, meters=meters, held_emb=held_emb, tune_emb=tune_emb, quality=quality,
                backend=backends[match.backend], cache=cache)
            entry.update({"tune_match_seconds": _r(tune_seconds), "tune_match_cpu_seconds": _r(tune_cpu_seconds)})
            if first:
                result["characters"][who] = entry
            else:
                result["characters"][who]["earlier_rule"] = entry
            for strength in strengths:
                d, q = entry["strengths"][str(strength)]["dvector"], entry["strengths"][str(strength)]
                rows.append([who, "new" if first else "earlier", language, strength, d["stock"], d["base"],
                             d["matched"], d["ceiling"], d["closure"], d["raw_closure"],
                             stock_quality[language]["distillmos"], q["matched_quality"]["distillmos"],
                             stock_quality[language]["error_rate"], q["matched_quality"]["error_rate"],
                             stock_intel[language]["error_rate"], q["heldout_intelligibility"]["error_rate"],
                             match.similarity_given_up, entry["base_voice"],
                             f"{match.tint.pitch_semitones:+.1f}st f{match.tint.formant_ratio:.3f} "
                             f"eq{len(match.tint.envelope_db)}", round(tune_seconds, 1)])
            log(table(header, rows[-len(strengths):]))

    chars = list(result["characters"].values())
    summary: dict[str, Any] = summarize(chars, strengths, list(meters), criterion=not (args.no_asr or args.no_mos))
    if args.earlier:
        summary["earlier_rule"] = summarize([c["earlier_rule"] for c in chars if "earlier_rule" in c], strengths,
                                            list(meters), criterion=not (args.no_asr or args.no_mos))
    summary["earlier_recorded"] = EARLIER
    result["summary"] = summary
    log(table(header, rows))
    for name, block in (("intelligibility first", summary), ("earlier rule", summary.get("earlier_rule"))):
        if block is None:
            continue
        for strength in strengths:
            s = block[str(strength)]
            log(f"{name}, strength {strength}: mean d-vector closure {s['dvector']['closure']} "
                f"(raw {s['dvector']['raw_closure']}), MOS drop mean/max {s['distillmos_drop_mean']}/"
                f"{s['distillmos_drop_max']}, error-rate rise mean/max {s['error_rate_rise_mean']}/"
                f"{s['error_rate_rise_max']}, held-out WER never above stock: {s['heldout_no_higher_than_stock']}")
    log(f"earlier (recorded): mean d-vector closure {EARLIER['closure_mean_dvector_strength_1']} at strength 1")
    text = json.dumps(result, indent=1, ensure_ascii=False, default=_json_default)
    if args.json_out:
        args.json_out.write_text(text, encoding="utf-8")
    print(text)
    return 0


def measure_character(who: str, match: VoiceMatch, *, halves: dict[str, tuple[AudioArray, AudioArray, int, str]],
                      texts: Sequence[str], intel: Sequence[str], stock: tuple[list[AudioArray], int, str],
                      stock_quality: dict[str, Any], stock_intel: float | None, strengths: Sequence[float],
                      meters: dict[str, SpeakerEmbedder], held_emb: dict[str, dict[str, Embedding]],
                      tune_emb: dict[str, dict[str, Embedding]], quality: Quality, backend: VoiceBackend,
                      cache: SynthCache) -> dict[str, Any]:
    """One character's entry: the choice, similarities and closure, quality, held-out intelligibility."""
    tune, _held, rate, language = halves[who]
    base_lines, base_rate = synthesize_lines(backend, match.voice_id, language, texts, cache=cache)
    intel_lines, intel_rate = synthesize_lines(backend, match.voice_id, language, intel, cache=cache)
    stock_lines, stock_rate, stock_name = stock
    entry: dict[str, Any] = {
        "language": language, "median_f0_hz": _r(median_f0(tune, rate)),
        "tune_seconds_audio": _r(len(tune) / rate), "heldout_seconds_audio": _r(len(halves[who][1]) / rate),
        "stock_voice": stock_name, "base_voice": f"{match.backend}/{match.voice_id}",
        "tint": {"pitch_semitones": match.tint.pitch_semitones, "pitch_range": match.tint.pitch_range,
                 "formant_ratio": match.tint.formant_ratio, "envelope_db": list(match.tint.envelope_db)},
        "tune_match_report": {"similarity_base": match.similarity_base,
                              "similarity_matched": match.similarity_matched, "heldout": match.heldout,
                              "naturalness": match.naturalness, "naturalness_stock": match.naturalness_stock,
                              "error_rate": match.error_rate, "error_rate_reference": match.error_rate_reference,
                              "error_rate_stock": match.error_rate_stock,
                              "similarity_given_up": match.similarity_given_up,
                              "candidates": [list(c) for c in match.candidates]},
        "stock_quality": stock_quality, "base_quality": quality.lines(base_lines, base_rate, texts, language),
        "strengths": {},
    }
    others = [w for w in halves if w != who]
    for strength in strengths:
        tint = replace(match.tint, strength=strength)
        matched = [apply_tint(x, base_rate, tint) for x in base_lines]
        per_meter: dict[str, Any] = {}
        for name, m in meters.items():
            sim_stock = {w: line_similarity(stock_lines, stock_rate, held_emb[name][w], m) for w in halves}
            sim_match = {w: line_similarity(matched, base_rate, held_emb[name][w], m) for w in halves}
            sim_base = line_similarity(base_lines, base_rate, held_emb[name][who], m)
            ceiling = cosine(held_emb[name][who], tune_emb[name][who])
            gain = sim_match[who] - sim_stock[who]
            others_gain = float(np.mean([sim_match[w] - sim_stock[w] for w in others])) if others else 0.0
            gap = ceiling - sim_stock[who]
            per_meter[name] = {
                "stock": _r(sim_stock[who]), "base": _r(sim_base), "matched": _r(sim_match[who]),
                "ceiling": _r(ceiling), "gain": _r(gain), "others_gain": _r(others_gain),
                "target_specific_gain": _r(gain - others_gain),
                "closure": _r((gain - others_gain) / gap) if gap > 1e-6 else None,
                "raw_closure": _r(gain / gap) if gap > 1e-6 else None,
                "to_others": {w: {"stock": _r(sim_stock[w]), "matched": _r(sim_match[w])} for w in others},
            }
        heard = quality.pooled_error_rate([apply_tint(x, intel_rate, tint) for x in intel_lines], intel_rate, intel,
                                          language)
        entry["strengths"][str(strength)] = {
            **per_meter, "matched_quality": quality.lines(matched, base_rate, texts, language),
            "heldout_intelligibility": {
                "stock_error_rate": stock_intel, "error_rate": heard,
                "no_higher_than_stock": None if heard is None or stock_intel is None else heard <= stock_intel},
        }
    return entry


def summarize(chars: Sequence[dict[str, Any]], strengths: Sequence[float], meters: Sequence[str], *,
              criterion: bool) -> dict[str, Any]:
    """Means over the characters per strength: similarity, closure, quality drops, held-out intelligibility."""
    summary: dict[str, Any] = {}
    for strength in strengths:
        key = str(strength)
        entries = [e["strengths"][key] for e in chars]
        block: dict[str, Any] = {}
        for name in meters:
            block[name] = {k: mean([e[name][k] for e in entries]) for k in
                           ("stock", "base", "matched", "ceiling", "target_specific_gain", "closure", "raw_closure")}
        mos_drop = [c["stock_quality"]["distillmos"] - e["matched_quality"]["distillmos"] for c, e in
                    zip(chars, entries, strict=True)
                    if c["stock_quality"]["distillmos"] is not None and e["matched_quality"]["distillmos"] is not None]
        err_rise = [e["matched_quality"]["error_rate"] - c["stock_quality"]["error_rate"] for c, e in
                    zip(chars, entries, strict=True)
                    if c["stock_quality"]["error_rate"] is not None and e["matched_quality"]["error_rate"] is not None]
        block["distillmos_drop_mean"] = mean(mos_drop)
        block["distillmos_drop_max"] = round(max(mos_drop), 4) if mos_drop else None
        block["error_rate_rise_mean"] = mean(err_rise)
        block["error_rate_rise_max"] = round(max(err_rise), 4) if err_rise else None
        held = [e["heldout_intelligibility"] for e in entries]
        block["heldout_error_rate_stock_mean"] = mean([h["stock_error_rate"] for h in held])
        block["heldout_error_rate_offline_mean"] = mean([h["error_rate"] for h in held])
        verdicts = [h["no_higher_than_stock"] for h in held if h["no_higher_than_stock"] is not None]
        block["heldout_no_higher_than_stock"] = all(verdicts) if verdicts else None
        block["similarity_given_up_mean"] = mean([c["tune_match_report"]["similarity_given_up"] for c in chars])
        closure = block[meters[0]]["closure"] if meters else None
        block["meets_criterion"] = bool(
            closure is not None and closure >= 0.4 and mos_drop and max(mos_drop) <= 0.3
            and err_rise and max(err_rise) <= 0.02) if criterion else None
        summary[key] = block
    summary["tune_match_seconds_mean"] = mean([c["tune_match_seconds"] for c in chars])
    summary["tune_match_seconds_max"] = round(max(c["tune_match_seconds"] for c in chars), 2) if chars else None
    summary["tune_match_cpu_seconds_mean"] = mean([c["tune_match_cpu_seconds"] for c in chars])
    return summary


def bank_salt() -> str:
    """What the bank's entries depend on besides their keys: the models' package versions (as the product's)."""
    from revoice.engine.characters.voice_bank import models_salt

    return models_salt()


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return str(value)
