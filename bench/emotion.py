"""Benchmark: the actor's performance carried into the new line, and each emotion label's measured prosody.

``python -m bench emotion [--quick] [--json-out FILE]`` prints one JSON object on stdout.

Part 1, performance transfer. Real original takes: utterances cut at pauses
from ``../shared/corpus/voices`` (texts from the ASR meter, as bench.sync
does) and the demo scene's theatrical lines (Beckett's Endgame, the demo's
recording). Each line is rendered by the piper voice twice in one run:
``neutral`` (``--emotion neutral``) and ``original`` (the default: the take's
contour and energy moved onto the line), both fitted to the take's span.
Then, per line and method, measured independently of the engine's own
analysis (librosa, not Praat):

* F0-contour correlation with the original after alignment: pYIN at 10 ms on
  both, DTW over 13 MFCCs, Pearson over the path's frames voiced in both;
* energy-envelope correlation over the same path (dB, speaking frames);
* WER (Whisper base) and DistillMOS.

The same is reported for edited texts (the last word changed: aligned by
position, no bar). Part 2, labels: lines without an original take rendered
neutral and with each label at intensity 1; measured change of median F0
(semitones), F0 range (10th-90th percentile, factor), speech length (rate
factor) and loudness (LUFS), against the label's documented targets.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import soundfile as sf

from bench.common import Meters, energy_span, log, mean, stopwatch

SAMPLE_RATE = 48000
FPS = 24.0
LABEL_SENTENCES = (
    "I told you to leave the keys on the table before you went out.",
    "We have nowhere left to go, and the night is coming fast.",
    "Nobody opens that door until I say so, do you understand me?",
)
Track = npt.NDArray[np.float64]


def contour_and_energy_correlation(render: npt.NDArray[np.float32], original: npt.NDArray[np.float32],
                                   sample_rate: int) -> tuple[float | None, float | None]:
    """(F0 correlation, energy correlation) of two takes after DTW over MFCCs (librosa pYIN, 10 ms)."""
    import librosa

    def features(x: npt.NDArray[np.float32]) -> tuple[Track, Track, Track]:
        y = librosa.resample(np.asarray(x, dtype=np.float32), orig_sr=sample_rate, target_sr=16000)
        f0, voiced, _ = librosa.pyin(y, fmin=60, fmax=500, sr=16000, frame_length=1024, hop_length=160)
        f0 = np.where(voiced, f0, np.nan)
        mfcc = librosa.feature.mfcc(y=y, sr=16000, n_mfcc=13, hop_length=160, n_fft=512)
        rms = librosa.feature.rms(y=y, frame_length=480, hop_length=160)[0]
        n = min(len(f0), mfcc.shape[1], len(rms))
        return 12 * np.log2(f0[:n] / 100.0), mfcc[:, :n], 20 * np.log10(np.maximum(rms[:n], 1e-6))

    a_f0, a_mfcc, a_db = features(render)
    b_f0, b_mfcc, b_db = features(original)
    _, path = librosa.sequence.dtw(X=a_mfcc, Y=b_mfcc, metric="euclidean")
    i, j = path[::-1, 0], path[::-1, 1]
    both = np.isfinite(a_f0[i]) & np.isfinite(b_f0[j])
    f0_r = float(np.corrcoef(a_f0[i][both], b_f0[j][both])[0, 1]) if both.sum() >= 5 else None
    speaking = (a_db[i] > a_db.max() - 35) & (b_db[j] > b_db.max() - 35)
    en_r = float(np.corrcoef(a_db[i][speaking], b_db[j][speaking])[0, 1]) if speaking.sum() >= 5 else None
    return (None if f0_r is None or math.isnan(f0_r) else round(f0_r, 4),
            None if en_r is None or math.isnan(en_r) else round(en_r, 4))


def original_lines(meters: Meters, count: int, workdir: Path, *, demo_scene: bool = True) -> list[Any]:
    """Lines over real original takes: corpus utterances on one track, and the demo scene."""
    from revoice.engine.model import DialogueLine, FrameRange, SourceAudio
    from revoice.session import read_lines

    from bench.sync import cut_utterances

    lines: list[DialogueLine] = []
    position = 1.0
    cuts = cut_utterances(meters, count)
    track = np.zeros(int((sum(len(c["audio"]) for c in cuts) / SAMPLE_RATE + 2.0 * len(cuts) + 2) * SAMPLE_RATE),
                     dtype=np.float32)
    placed = []
    for cut in cuts:
        at = int(position * SAMPLE_RATE)
        track[at : at + len(cut["audio"])] += cut["audio"]
        placed.append((cut, position))
        position += len(cut["audio"]) / SAMPLE_RATE + 1.5
    track_path = workdir / "originals.wav"
    sf.write(str(track_path), track, SAMPLE_RATE, subtype="FLOAT")
    for index, (cut, at_s) in enumerate(placed):
        start = math.floor(at_s * FPS)
        frames = math.ceil((at_s + len(cut["audio"]) / SAMPLE_RATE) * FPS) - start
        lines.append(DialogueLine(
            line_id=f"C{index:03d}", text=cut["text"], speaker="Corpus", language="en",
            record=FrameRange(start, frames, FPS), origin=f"{cut['source']}@{cut['source_start_s']}s",
            sources=(SourceAudio("original", "A1", track_path.as_uri(), track_path, start / FPS, frames / FPS, 0.0),)))
    from revoice.demo import demo_files

    demo = demo_files(workdir / "demo")
    if demo_scene and demo.warning is None:
        opened = read_lines(demo.timeline, subtitles=demo.subtitles)
        lines += [line for line in opened.lines if line.sources]
    return lines


def slot_audio(line: Any, sample_rate: int) -> npt.NDArray[np.float32]:
    from revoice.engine.original import read_original

    original = read_original(line, sample_rate)
    return np.zeros(line.slot_samples(sample_rate), np.float32) if original is None else original.audio


def transfer_part(backend: Any, meters: Meters, lines: Sequence[Any], workdir: Path) -> dict[str, Any]:
    import dataclasses

    from revoice.engine.emotion.labels import Emotion
    from revoice.engine.emotion.perform import TEXT_EDITED
    from revoice.engine.render import RenderSettings, Revoicer

    rows: list[dict[str, Any]] = []
    methods = {"neutral": Emotion(source="bench"), "original": None}
    for edited in (False, True):
        for line in lines:
            if edited:
                words = line.text.rstrip(".!?").split()
                line = dataclasses.replace(line, text=" ".join(words[:-1] + ["tonight"]) + ".",
                                           metadata=dict(line.metadata, **{TEXT_EDITED: True}))
            original = slot_audio(line, SAMPLE_RATE)
            for method, emotion in methods.items():
                revoicer = Revoicer(backend=backend, settings=RenderSettings(emotion=emotion))
                folder = workdir / ("edited" if edited else "same") / method
                try:
                    rendered = revoicer.render_line(line, out_dir=folder)
                except ValueError as exc:
                    log(f"{line.line_id}: {exc}")
                    continue
                audio, _ = sf.read(str(rendered.path), dtype="float32")
                span = energy_span(original, SAMPLE_RATE)
                cut = slice(0, len(audio)) if span is None else slice(
                    max(0, int((span[0] - 0.05) * SAMPLE_RATE)), int((span[1] + 0.05) * SAMPLE_RATE))
                f0_r, energy_r = contour_and_energy_correlation(audio[cut], original[cut], SAMPLE_RATE)
                quality = meters.measure(audio, SAMPLE_RATE, line.text)
                rows.append({"line": line.line_id, "origin": line.origin, "text": line.text, "edited": edited,
                             "method": method, "f0_correlation": f0_r, "energy_correlation": energy_r,
                             "wer": quality["wer"], "distillmos": quality["distillmos"],
                             "engine_note": rendered.report.emotion.note if rendered.report.emotion else None})
                log(f"{line.line_id} {'edited' if edited else 'same'} {method:8s} f0 r={f0_r} energy r={energy_r} "
                    f"wer={quality['wer']} mos={quality['distillmos']}")
    summary: dict[str, Any] = {}
    for edited in (False, True):
        for method in methods:
            chosen = [r for r in rows if r["edited"] == edited and r["method"] == method]
            f0 = [r["f0_correlation"] for r in chosen if r["f0_correlation"] is not None]
            summary[f"{'edited' if edited else 'same'}/{method}"] = {
                "lines": len(chosen),
                "median_f0_correlation": round(float(np.median(f0)), 4) if f0 else None,
                "median_energy_correlation": _median([r["energy_correlation"] for r in chosen]),
                "mean_wer": mean([r["wer"] for r in chosen]),
                "mean_distillmos": mean([r["distillmos"] for r in chosen]),
            }
    return {"summary": summary, "rows": rows}


def _median(values: Sequence[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return round(float(np.median(kept)), 4) if kept else None


def label_part(backend: Any, workdir: Path) -> dict[str, Any]:
    """Each label at intensity 1 against neutral, on lines without an original take (length free)."""
    import librosa
    from revoice.engine.dsp.loudness import integrated_loudness
    from revoice.engine.emotion.labels import LABELS, PROSODY_TARGETS, Emotion
    from revoice.engine.model import DialogueLine, FrameRange
    from revoice.engine.render import RenderSettings, Revoicer

    def measure(path: Path) -> dict[str, float]:
        audio, rate = sf.read(str(path), dtype="float32")
        y = librosa.resample(audio, orig_sr=rate, target_sr=16000)
        f0, voiced, _ = librosa.pyin(y, fmin=60, fmax=500, sr=16000, frame_length=1024, hop_length=160)
        st = 12 * np.log2(f0[voiced] / 100.0) if voiced.sum() else np.array([np.nan])
        span = energy_span(audio, rate) or (0.0, len(audio) / rate)
        return {"f0_median": float(np.median(st)), "voiced_share": float(voiced.mean()),
                "f0_range": float(np.percentile(st, 90) - np.percentile(st, 10)) if voiced.sum() >= 5 else 0.0,
                "seconds": span[1] - span[0], "lufs": integrated_loudness(audio, rate)}

    results: dict[str, Any] = {}
    lines = [DialogueLine(line_id=f"S{i}", text=text, speaker="Bench", language="en",
                          record=FrameRange(0, int(FPS * 8), FPS), origin="bench")
             for i, text in enumerate(LABEL_SENTENCES)]
    for label in LABELS:
        emotion = Emotion(method="label", label=label, intensity=1.0, source="bench")
        revoicer = Revoicer(backend=backend, settings=RenderSettings(emotion=emotion))
        changes = []
        for line in lines:
            neutral = measure(Revoicer(backend=backend, settings=RenderSettings(
                emotion=Emotion(source="bench"))).render_line(line, out_dir=workdir / "labels" / "neutral").path)
            styled = measure(revoicer.render_line(line, out_dir=workdir / "labels" / label).path)
            changes.append({
                "f0_shift_semitones": styled["f0_median"] - neutral["f0_median"],
                "f0_range_factor": styled["f0_range"] / neutral["f0_range"] if neutral["f0_range"] else None,
                "rate_factor": neutral["seconds"] / styled["seconds"],
                "energy_db": styled["lufs"] - neutral["lufs"],
                "voiced_share": styled["voiced_share"]})
        target = PROSODY_TARGETS[label]
        measured = {key: mean([c[key] for c in changes]) for key in changes[0]}
        results[label] = {"target": {"f0_shift_semitones": target.f0_shift_semitones,
                                     "f0_range_factor": target.f0_range_factor, "rate_factor": target.rate_factor,
                                     "energy_db": target.energy_db, "breathiness": target.breathiness},
                          "measured": {k: None if v is None else round(v, 3) for k, v in measured.items()}}
        log(f"label {label:10s} target {results[label]['target']} measured {results[label]['measured']}")
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench emotion", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="4 corpus utterances and the demo (a few minutes)")
    parser.add_argument("--count", type=int, default=12, help="corpus utterances (default 12)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-demo", action="store_true", help="leave out the demo scene's lines")
    parser.add_argument("--no-labels", action="store_true", help="leave out part 2 (labels)")
    parser.add_argument("--json-out", type=Path, help="also write the JSON result to this file")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from revoice.engine.qc.asr import AsrMeter
    from revoice.engine.qc.mos import DistillMosMeter
    from revoice.engine.voices.base import BackendOptions
    from revoice.engine.voices.piper_voice import PiperBackend

    with stopwatch() as total, tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        meters = Meters(AsrMeter(threads=args.threads), DistillMosMeter(threads=args.threads), None)
        backend = PiperBackend(BackendOptions(threads=args.threads))
        lines = original_lines(meters, 4 if args.quick else args.count, workdir, demo_scene=not args.no_demo)
        log(f"{len(lines)} lines over real original takes")
        transfer = transfer_part(backend, meters, lines, workdir)
        labels = {} if args.no_labels else label_part(backend, workdir)
    result = {"benchmark": "emotion", "transfer": transfer, "labels": labels, "seconds": round(total[0], 1)}
    text = json.dumps(result, indent=1, ensure_ascii=False)
    if args.json_out:
        args.json_out.write_text(text + "\n", encoding="utf-8")
    print(text)
    for name, row in transfer["summary"].items():
        log(f"{name:18s} {row}")
    return 0
