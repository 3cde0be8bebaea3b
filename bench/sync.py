"""Benchmark: fitting synthesized lines to a target length, and placing them in sync with real speech.

``python -m bench sync [--quick] [--no-dnsmos]`` prints one JSON object on
stdout (progress and a summary table go to stderr).

Part 1, synthetic targets. Each line (sentence x seed) is spoken by the piper
voice "joe"; its natural length N is the trimmed speech at 48 kHz. For each
ratio r the target is ``T = round(r * N)`` samples, and two methods deliver
exactly T samples:

* ``revoice``: :func:`revoice.engine.fit.fit_to_length` with desired = available = T
  (rate search on the voice + a small Rubber Band stretch).
* ``atempo``: what the open dubbing tools do: synthesize at natural rate, then
  speed up with a tempo change capped at 1.4x (never slow down), then
  truncate or zero-pad to T. ffmpeg's ``atempo`` is a WSOLA-type filter; its
  stand-in here is ``revoice.engine.dsp.stretch.stretch_to_length(method="wsola")``.

Per item: speech length error (samples delivered as speech minus T; positive
= cut off by truncation, negative = padded with silence), WER of the
delivered audio (Whisper base, English, normalized), DistillMOS, DNSMOS,
compute seconds (synthesis + fitting). The natural line (r = 1, unprocessed)
is the reference.

Part 2, real speech. Utterances cut from real recordings in
``../shared/corpus/voices`` are laid out on a 48 kHz "original dialogue
track" with gaps; each gets a cue like a subtitle (speech padded by a random
0.3-0.8 s each side, rounded out to 24 fps frames) and its text (the ASR
transcript of the cut). Methods re-voice each cue and are placed at the cue
start: ``revoice_render`` (``revoice.engine.render.Revoicer.render_line`` as it is),
``revoice_sync`` (``revoice.engine.sync.detect_speech_span`` + ``plan_span`` +
``fit_to_length``, when engine.sync exists) and ``atempo`` (natural speech at
the cue start, sped up at most 1.4x to fit the cue). Onset/offset errors are
measured with an energy detector independent of the engine's VAD
(:func:`bench.common.energy_span`) on the original and the re-voiced audio.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
from revoice.engine.dsp.resample import resample
from revoice.engine.dsp.stretch import stretch_to_length
from revoice.engine.fit import FitError, FitPolicy, fit_to_length, trimmed_speech
from revoice.engine.voices.base import BackendOptions, Synthesis, SynthesisRequest, VoiceBackend

from bench.common import AudioArray, Meters, energy_span, fit_to, log, mean, speech_runs, stopwatch, table

SAMPLE_RATE = 48000
FPS = 24.0
POLICY = FitPolicy(min_ratio=0.5, max_ratio=2.0, hard_min_ratio=0.35)
RATIOS = (0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.25, 1.5, 1.8)
QUICK_RATIOS = (0.7, 1.0, 1.5)
ATEMPO_MAX_SPEEDUP = 1.4
METHODS = ("revoice", "atempo")

SENTENCES = (
    "Is that really what you think of me?",
    "I told you the boat would leave at dawn.",
    "Wait. Did you hear that noise upstairs?",
    "Get down! They're coming through the back door.",
    "We have fourteen minutes before the guards change shifts.",
    "Honestly, I never wanted any of this to happen.",
    "Thank you, doctor. I'll call you in the morning.",
    "The storm knocked out the power across the whole valley last night.",
    "If we don't find the keys before the sun goes down, we'll have to walk back to the farm.",
    "Nobody in this town has seen her since the night of the fire, and nobody wants to talk about it.",
)
"""Written for this benchmark: statements, questions, commands, two-sentence lines, 1.6-5 s."""
SEEDS = (11, 22, 33)

REAL_FILES = ("en_story_main.flac", "en_story_town.flac", "en_nature_ref.wav")
REAL_MIN_S, REAL_MAX_S = 1.2, 5.0


def _corpus_dir() -> Path:
    return Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "voices"


def _synthesizer(backend: VoiceBackend, text: str, seed: int) -> Callable[[float], Synthesis]:
    def synthesize(scale: float) -> Synthesis:
        return backend.synthesize(SynthesisRequest(text=text, voice_id="joe", duration_scale=scale, seed=seed))

    return synthesize


def atempo_fit(synthesize: Callable[[float], Synthesis], target: int) -> AudioArray:
    """The open-tool baseline: natural speech, tempo-up capped at 1.4x, no slow-down (not yet padded/cut)."""
    natural = trimmed_speech(synthesize(1.0), SAMPLE_RATE)
    if len(natural) <= target:
        return natural
    length = max(target, math.ceil(len(natural) / ATEMPO_MAX_SPEEDUP))
    return stretch_to_length(natural, SAMPLE_RATE, length, method="wsola")


def run_method(method: str, synthesize: Callable[[float], Synthesis], target: int) -> dict[str, Any]:
    """Deliver exactly ``target`` samples with ``method``; the audio and how it went."""
    info: dict[str, Any] = {}
    with stopwatch() as elapsed:
        if method == "revoice":
            fit = fit_to_length(synthesize, sample_rate=SAMPLE_RATE, available_samples=target,
                                desired_samples=target, policy=POLICY)
            speech = fit.audio
            info = {"syntheses": fit.syntheses, "duration_scale": round(fit.duration_scale, 4),
                    "stretch_ratio": round(fit.stretch_ratio, 4),
                    "pause_change_samples": getattr(fit, "pause_change_samples", None), "flags": list(fit.flags)}
        elif method == "atempo":
            speech = atempo_fit(synthesize, target)
        else:
            raise ValueError(method)
    return {"audio": fit_to(speech, target), "speech_samples": len(speech), "compute_s": elapsed[0], **info}


def synthetic_part(backend: VoiceBackend, meters: Meters, sentences: Sequence[str], seeds: Sequence[int],
                   ratios: Sequence[float]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(natural reference rows, per-item rows) for every line x ratio x method."""
    naturals: list[dict[str, Any]] = []
    items: list[dict[str, Any]] = []
    lines = [(text, seed) for text in sentences for seed in seeds]
    for index, (text, seed) in enumerate(lines):
        synthesize = _synthesizer(backend, text, seed)
        with stopwatch() as elapsed:
            natural = trimmed_speech(synthesize(1.0), SAMPLE_RATE)
        n = len(natural)
        ref = {"line": index, "text": text, "seed": seed, "natural_samples": n,
               "natural_s": round(n / SAMPLE_RATE, 3), "compute_s": round(elapsed[0], 3),
               **meters.measure(natural, SAMPLE_RATE, text)}
        naturals.append(ref)
        log(f"[{index + 1}/{len(lines)}] {n / SAMPLE_RATE:.2f}s wer={ref['wer']:.2f} "
            f"dmos={ref['distillmos']:.2f} {text!r} seed={seed}")
        for ratio in ratios:
            target = int(round(ratio * n))
            for method in METHODS:
                row: dict[str, Any] = {"line": index, "seed": seed, "method": method, "ratio": ratio,
                                       "target_samples": target}
                try:
                    out = run_method(method, synthesize, target)
                except (FitError, ValueError) as exc:
                    row.update(failed=str(exc))
                    items.append(row)
                    log(f"    {method:8s} r={ratio:<4} FAILED {exc}")
                    continue
                audio = out.pop("audio")
                error = out["speech_samples"] - target
                row.update(
                    length_error_samples=error,
                    truncated_samples=max(0, error),
                    padded_samples=max(0, -error),
                    delivered_samples=len(audio),
                    achieved_ratio=round(min(out["speech_samples"], target) / n, 4),
                    **{k: (round(v, 3) if k == "compute_s" else v) for k, v in out.items()},
                    **meters.measure(audio, SAMPLE_RATE, text),
                )
                row["d_wer"] = round(row["wer"] - ref["wer"], 4)
                if row["distillmos"] is not None:
                    row["d_distillmos"] = round(row["distillmos"] - ref["distillmos"], 4)
                items.append(row)
                log(f"    {method:8s} r={ratio:<4} err={error:+7d} wer={row['wer']:.2f} "
                    f"dmos={row['distillmos']:.2f} {row['compute_s']:.2f}s")
    return naturals, items


def aggregate(items: Sequence[dict[str, Any]], ratios: Sequence[float]) -> dict[str, dict[str, dict[str, Any]]]:
    """Means per method x ratio."""
    result: dict[str, dict[str, dict[str, Any]]] = {}
    for method in METHODS:
        result[method] = {}
        for ratio in ratios:
            rows = [r for r in items if r["method"] == method and r["ratio"] == ratio]
            ok = [r for r in rows if "failed" not in r]
            result[method][str(ratio)] = {
                "n": len(rows),
                "failed": len(rows) - len(ok),
                "wer": mean([r["wer"] for r in ok]),
                "d_wer": mean([r["d_wer"] for r in ok]),
                "distillmos": mean([r["distillmos"] for r in ok]),
                "d_distillmos": mean([r.get("d_distillmos") for r in ok]),
                "dnsmos": mean([r["dnsmos"] for r in ok]),
                "abs_length_error_ms": mean([abs(r["length_error_samples"]) * 1000 / SAMPLE_RATE for r in ok]),
                "max_abs_length_error_samples": max((abs(r["length_error_samples"]) for r in ok), default=None),
                "truncated_ms": mean([r["truncated_samples"] * 1000 / SAMPLE_RATE for r in ok]),
                "padded_ms": mean([r["padded_samples"] * 1000 / SAMPLE_RATE for r in ok]),
                "achieved_ratio": mean([r["achieved_ratio"] for r in ok]),
                "compute_s": mean([r["compute_s"] for r in ok]),
                "syntheses": mean([r.get("syntheses") for r in ok]),
            }
    return result


# --------------------------------------------------------------------------
# Part 2: real speech
# --------------------------------------------------------------------------


def cut_utterances(meters: Meters, count: int) -> list[dict[str, Any]]:
    """Utterances (48 kHz audio, text) cut at pauses from the real recordings; [] without the corpus."""
    folder = _corpus_dir()
    cuts: list[dict[str, Any]] = []
    for name in REAL_FILES:
        path = folder / name
        if not path.is_file():
            continue
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
        audio = resample(np.ascontiguousarray(data.mean(axis=1)), int(rate), SAMPLE_RATE)
        runs = speech_runs(audio, SAMPLE_RATE)
        groups: list[list[float]] = []
        for start, end in runs:  # merge runs into utterances of REAL_MIN_S..REAL_MAX_S
            if groups and end - groups[-1][0] <= REAL_MAX_S and groups[-1][1] - groups[-1][0] < REAL_MIN_S:
                groups[-1][1] = end
            else:
                groups.append([start, end])
        for start, end in groups:
            if not REAL_MIN_S <= end - start <= REAL_MAX_S + 0.5:
                continue
            before = max(0.0, start - 0.12)
            after = min(len(audio) / SAMPLE_RATE, end + 0.12)
            piece = audio[int(before * SAMPLE_RATE) : int(after * SAMPLE_RATE)]
            fade = int(0.01 * SAMPLE_RATE)
            piece = piece.copy()
            piece[:fade] *= np.linspace(0, 1, fade, dtype=np.float32)
            piece[-fade:] *= np.linspace(1, 0, fade, dtype=np.float32)
            text = meters.asr.transcribe(piece, SAMPLE_RATE, language="en")
            if len(text.split()) >= 3:
                cuts.append({"source": name, "source_start_s": round(before, 3), "audio": piece, "text": text})
            if len(cuts) >= count:
                return cuts
    return cuts


def real_speech_part(backend: VoiceBackend, meters: Meters, *, count: int, seed: int, workdir: Path) -> dict[str, Any]:
    """Lay real utterances on a track, re-voice each cue with every method, measure onset/offset errors."""
    from revoice.engine.model import DialogueLine, FrameRange, SourceAudio
    from revoice.engine.original import read_original
    from revoice.engine.render import RenderSettings, Revoicer

    cuts = cut_utterances(meters, count)
    if not cuts:
        return {"skipped": f"no real recordings found in {_corpus_dir()}"}
    rng = random.Random(seed)
    frame = SAMPLE_RATE / FPS
    position = 1.5
    placed: list[dict[str, Any]] = []
    for cut in cuts:
        span = energy_span(cut["audio"], SAMPLE_RATE)
        if span is None:
            continue
        onset, offset = position + span[0], position + span[1]
        lead, tail = rng.uniform(0.3, 0.8), rng.uniform(0.3, 0.8)
        start_frame = math.floor((onset - lead) * FPS)
        end_frame = math.ceil((offset + tail) * FPS)
        placed.append({**cut, "at_s": position, "onset_s": onset, "offset_s": offset,
                       "cue_frames": (start_frame, end_frame - start_frame)})
        position += len(cut["audio"]) / SAMPLE_RATE + rng.uniform(1.5, 2.5)
    track = np.zeros(int((position + 1.0) * SAMPLE_RATE), dtype=np.float32)
    for p in placed:
        at = int(round(p["at_s"] * SAMPLE_RATE))
        track[at : at + len(p["audio"])] += p["audio"]
    track_path = workdir / "original_dialogue.wav"
    sf.write(str(track_path), track, SAMPLE_RATE, subtype="FLOAT")

    sync_api: tuple[Any, Any] | None = None
    try:
        from revoice.engine.sync import detect_speech_span, plan_span

        sync_api = (detect_speech_span, plan_span)
    except ImportError as exc:
        log(f"revoice.engine.sync not usable ({exc}); revoice_sync skipped")
    revoicer = Revoicer(backend=backend, settings=RenderSettings(fit=POLICY, seed=seed))
    methods = ["revoice_render", "atempo"] + (["revoice_sync"] if sync_api else [])
    items: list[dict[str, Any]] = []
    for index, p in enumerate(placed):
        start_frame, frames = p["cue_frames"]
        cue_start = int(round(start_frame * frame))
        slot = int(round(frames * frame))
        line = DialogueLine(
            line_id=f"R{index:03d}", text=p["text"], speaker="Bench", language="en",
            record=FrameRange(start_frame, frames, FPS),
            sources=(SourceAudio("original", "A1", track_path.as_uri(), track_path,
                                 start_frame / FPS, frames / FPS, 0.0),),
            origin=f"{p['source']}@{p['source_start_s']}s",
        )
        truth = (p["onset_s"], p["offset_s"])
        synthesize = _synthesizer(backend, p["text"], revoicer.line_seed(line))
        for method in methods:
            row: dict[str, Any] = {"line": index, "method": method, "text": p["text"], "origin": line.origin,
                                   "cue_start_s": round(cue_start / SAMPLE_RATE, 3),
                                   "cue_s": round(slot / SAMPLE_RATE, 3),
                                   "original_onset_s": round(truth[0], 3), "original_offset_s": round(truth[1], 3)}
            try:
                with stopwatch() as elapsed:
                    if method == "revoice_render":
                        rendered = revoicer.render_line(line, out_dir=workdir / "renders")
                        slot_audio, _ = sf.read(str(rendered.path), dtype="float32")
                        row["flags"] = list(rendered.flags)
                    elif method == "atempo":
                        slot_audio = fit_to(atempo_fit(synthesize, slot), slot)
                    else:
                        assert sync_api is not None
                        detect, plan = sync_api
                        original = read_original(line, SAMPLE_RATE)
                        span = detect(original.audio, SAMPLE_RATE) if original is not None else None
                        begin, length = plan(slot, original=span, lead_in_samples=0)
                        fit = fit_to_length(synthesize, sample_rate=SAMPLE_RATE, available_samples=slot - begin,
                                            desired_samples=length, policy=POLICY)
                        slot_audio = np.zeros(slot, dtype=np.float32)
                        slot_audio[begin : begin + len(fit.audio)] = fit.audio
                        row["flags"] = list(fit.flags)
            except Exception as exc:  # noqa: BLE001 - a failing method must not end the benchmark
                row["failed"] = f"{type(exc).__name__}: {exc}"
                items.append(row)
                log(f"  real {index} {method:14s} FAILED {row['failed']}")
                continue
            found = energy_span(np.asarray(slot_audio, dtype=np.float32), SAMPLE_RATE)
            row["compute_s"] = round(elapsed[0], 3)
            if found is not None:
                row["onset_error_ms"] = round((cue_start / SAMPLE_RATE + found[0] - truth[0]) * 1000, 1)
                row["offset_error_ms"] = round((cue_start / SAMPLE_RATE + found[1] - truth[1]) * 1000, 1)
            row.update(meters.measure(np.asarray(slot_audio, dtype=np.float32), SAMPLE_RATE, p["text"]))
            items.append(row)
            log(f"  real {index} {method:14s} onset {row.get('onset_error_ms')} ms, "
                f"offset {row.get('offset_error_ms')} ms, wer {row['wer']:.2f}")
    summary: dict[str, Any] = {}
    for method in methods:
        ok = [r for r in items if r["method"] == method and "onset_error_ms" in r]
        summary[method] = {
            "n": len([r for r in items if r["method"] == method]),
            "failed": len([r for r in items if r["method"] == method and "failed" in r]),
            "abs_onset_error_ms": mean([abs(r["onset_error_ms"]) for r in ok]),
            "abs_offset_error_ms": mean([abs(r["offset_error_ms"]) for r in ok]),
            "max_abs_onset_error_ms": max((abs(r["onset_error_ms"]) for r in ok), default=None),
            "max_abs_offset_error_ms": max((abs(r["offset_error_ms"]) for r in ok), default=None),
            "wer": mean([r["wer"] for r in ok]),
            "distillmos": mean([r["distillmos"] for r in ok]),
            "compute_s": mean([r["compute_s"] for r in ok]),
        }
    original_scores = [meters.measure(p["audio"], SAMPLE_RATE, p["text"]) for p in placed]
    return {
        "utterances": [{"origin": f"{p['source']}@{p['source_start_s']}s", "text": p["text"],
                        "onset_s": round(p["onset_s"], 3), "offset_s": round(p["offset_s"], 3),
                        "cue_frames": list(p["cue_frames"])} for p in placed],
        "original_distillmos": mean([s["distillmos"] for s in original_scores]),
        "per_method": summary,
        "items": items,
    }


# --------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------


def _summary_tables(naturals: Sequence[dict[str, Any]], per_ratio: dict[str, dict[str, dict[str, Any]]],
                    real: dict[str, Any]) -> str:
    out = [f"natural reference: n={len(naturals)} wer={mean([r['wer'] for r in naturals])} "
           f"distillmos={mean([r['distillmos'] for r in naturals])} dnsmos={mean([r['dnsmos'] for r in naturals])}"]
    rows = []
    for ratio in next(iter(per_ratio.values())):
        for method in METHODS:
            s = per_ratio[method][ratio]
            rows.append([ratio, method, s["n"], s["failed"], s["abs_length_error_ms"], s["truncated_ms"],
                         s["padded_ms"], s["wer"], s["distillmos"], s["d_distillmos"], s["dnsmos"], s["compute_s"]])
    out.append(table(["ratio", "method", "n", "fail", "|len err| ms", "cut ms", "pad ms", "WER", "DistillMOS",
                      "dMOS", "DNSMOS", "compute s"], rows))
    if "per_method" in real:
        out.append(f"real speech: {len(real['utterances'])} utterances, original DistillMOS "
                   f"{real['original_distillmos']}")
        out.append(table(["method", "n", "fail", "|onset| ms", "|offset| ms", "max |on|", "max |off|", "WER",
                          "DistillMOS", "compute s"],
                         [[m, s["n"], s["failed"], s["abs_onset_error_ms"], s["abs_offset_error_ms"],
                           s["max_abs_onset_error_ms"], s["max_abs_offset_error_ms"], s["wer"], s["distillmos"],
                           s["compute_s"]] for m, s in real["per_method"].items()]))
    else:
        out.append(f"real speech: {real.get('skipped')}")
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; JSON on stdout, progress and tables on stderr."""
    parser = argparse.ArgumentParser(prog="python -m bench sync", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small subset for smoke tests (< 2 min)")
    parser.add_argument("--no-dnsmos", action="store_true", help="skip DNSMOS (needs speechmos + librosa)")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads for the voice and meters")
    parser.add_argument("--device", default="cpu", help="device for the meters (cpu, cuda, cuda:N)")
    parser.add_argument("--json-out", type=Path, help="also write the JSON result to this file")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    # Import every engine module now, so one run sees one consistent version of the engine.
    import revoice.engine.original
    import revoice.engine.render  # noqa: F401
    from revoice.engine.qc.asr import AsrMeter
    from revoice.engine.qc.mos import DistillMosMeter, DnsMosMeter
    from revoice.engine.voices.piper_voice import PiperBackend

    try:
        import revoice.engine.sync  # noqa: F401
    except ImportError:
        pass

    sentences = SENTENCES[1:9:4] if args.quick else SENTENCES
    seeds = SEEDS[:1] if args.quick else SEEDS
    ratios = QUICK_RATIOS if args.quick else RATIOS
    with stopwatch() as total:
        dnsmos: DnsMosMeter | None = None
        if not args.no_dnsmos:
            try:
                import importlib.util

                if importlib.util.find_spec("speechmos") and importlib.util.find_spec("librosa"):
                    dnsmos = DnsMosMeter(threads=args.threads)
                else:
                    log("DNSMOS skipped: speechmos or librosa not installed")
            except ImportError:
                dnsmos = None
        meters = Meters(AsrMeter(device=args.device, threads=args.threads),
                        DistillMosMeter(device=args.device, threads=args.threads), dnsmos)
        backend = PiperBackend(BackendOptions(threads=args.threads))
        log(f"synthetic part: {len(sentences)} sentences x {len(seeds)} seeds x {len(ratios)} ratios x {METHODS}")
        naturals, items = synthetic_part(backend, meters, sentences, seeds, ratios)
        per_ratio = aggregate(items, ratios)
        if args.json_out:  # checkpoint: the synthetic part survives a failure in the real-speech part
            partial = {"config": {"benchmark": "sync", "partial": True}, "per_ratio": per_ratio, "items": items,
                       "natural": naturals}
            args.json_out.write_text(json.dumps(partial, default=float) + "\n", encoding="utf-8")
        log("real-speech part")
        with tempfile.TemporaryDirectory(prefix="revoice-bench-") as tmp:
            real = real_speech_part(backend, meters, count=2 if args.quick else 8, seed=7, workdir=Path(tmp))
    result = {
        "config": {
            "benchmark": "sync",
            "quick": args.quick,
            "sample_rate": SAMPLE_RATE,
            "ratios": list(ratios),
            "sentences": list(sentences),
            "seeds": list(seeds),
            "lines": len(sentences) * len(seeds),
            "voice": "piper joe",
            "policy": asdict(POLICY),
            "atempo": f"natural speech, WSOLA tempo-up capped at {ATEMPO_MAX_SPEEDUP}x, no slow-down, "
                      "then truncate/zero-pad (stand-in for ffmpeg atempo)",
            "meters": {"asr": "whisper-base int8 (faster-whisper), beam 5, English, normalized WER",
                       "distillmos": "distillmos 0.9.1 (v7)",
                       "dnsmos": "speechmos 0.0.1.1 P.835 OVRL" if dnsmos else None},
            "onset_detector": "energy, 1 ms hop / 5 ms RMS, max(peak-40 dB, floor+15 dB), runs >= 30 ms",
            "threads": args.threads,
            "machine": f"{platform.machine()} {os.cpu_count()} CPUs, {platform.python_version()}",
            "elapsed_s": round(total[0], 1),
        },
        "natural": {"wer": mean([r["wer"] for r in naturals]),
                    "distillmos": mean([r["distillmos"] for r in naturals]),
                    "dnsmos": mean([r["dnsmos"] for r in naturals]),
                    "items": naturals},
        "per_ratio": per_ratio,
        "items": items,
        "real_speech": real,
    }
    text = json.dumps(result, indent=1, default=float)
    if args.json_out:
        args.json_out.write_text(text + "\n", encoding="utf-8")
    log(_summary_tables(naturals, per_ratio, real))
    print(text)
    return 0
