"""The inaudible watermark: scores clean, marked, after MP3 and under music, false alarms, loudness of the mark.

``python -m bench watermark`` marks real speech (six piper lines of a reel,
rendered offline without the mark, and four 4 s clips of moonshine-voice's
two_cities.wav) with :mod:`revoice.engine.dsp.watermark` and reports per clip:

* the detector's score unmarked (``clean``), marked, after MP3 at 64 kbit/s,
  with the music bed 10 dB under the speech (``music_under``), with the speech
  10 dB under the music (``speech_under``; active RMS, as issue 17's test),
  each of those two then through MP3 (``*_mp3``), and the unmarked clip under
  the music (``clean_speech_under``);
* the difference (mark) level relative to the speech (dB), and a rough
  noise-to-mask ratio (``nmr_db``: energy mean over Bark bands and 21 ms frames
  of the mark over the speech's masking threshold, simplified MPEG model 1 with
  Schroeder's spreading; below 0 dB: under the mask) with the share of cells
  above the mask; ``--mos`` adds DistillMOS (16 kHz: deaf above 8 kHz) before
  and after.

False alarms: every 2 s of the real recordings at hand (the wheels' speech
and music, ../shared/corpus/voices), the clips unmarked, alone and under the
music, each scored against ``--keys`` other keys (and Revoice's own), and the
marked clips against the other keys. Music: pygame's house_lo.ogg (an 11 kHz
house loop: it leaves the speech above 5.5 kHz free); ``--full-band`` adds
pink noise 12 dB under it, a bed that covers the whole band. Prints one JSON
object; a run is kept in bench/data/watermark.json.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import json
import math
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import soundfile as sf

from bench.common import log

Audio = npt.NDArray[np.float64]
REEL = (
    "Give me the keys. I'll open it myself.",
    "We were never supposed to come back here, not after what happened last winter.",
    "Quiet. Did you hear that?",
    "The shipment arrives at dawn, and nobody touches it until I say so.",
    "Sixty-two dollars and forty cents. That's all we have left.",
    "Don't look at me like that.",
)
"""The reel of tests/engine/test_watermark.py."""
RATE = 48000


def package_file(package: str, *parts: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations)), *parts)
    return path if path.is_file() else None


def read_at(path: Path, rate: int) -> Audio:
    from scipy.signal import resample_poly

    audio, native = sf.read(str(path), dtype="float64", always_2d=True)
    mono = audio.mean(axis=1)
    common = math.gcd(native, rate)
    return mono if native == rate else np.asarray(resample_poly(mono, rate // common, native // common))


def active_rms(x: Audio, rate: int) -> float:
    """RMS over the 20 ms frames within 50 dB of the loudest (as the test)."""
    size = int(0.02 * rate)
    frames = (x[: len(x) // size * size].reshape(-1, size) ** 2).mean(axis=1)
    return float(np.sqrt(frames[frames > frames.max() * 1e-5].mean()))


def mix(x: Audio, bed: Audio, rate: int, bed_db: float) -> Audio:
    """``x`` plus ``bed`` (looped) at ``bed_db`` dB relative to ``x`` (active RMS)."""
    looped = np.resize(bed, len(x))
    return x + looped * (active_rms(x, rate) / active_rms(looped, rate) * 10 ** (bed_db / 20))


def mp3_round_trip(x: Audio, rate: int, bit_rate: int = 64000) -> Audio:
    import av

    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp3") as out:
        stream = out.add_stream("libmp3lame", rate=rate, layout="mono")
        stream.bit_rate = bit_rate
        frame = av.AudioFrame.from_ndarray(np.asarray(x, np.float32)[None, :], format="flt", layout="mono")
        frame.sample_rate = rate
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            out.mux(packet)
    buffer.seek(0)
    with av.open(buffer, mode="r") as decoded:
        return np.concatenate([f.to_ndarray().reshape(-1) for f in decoded.decode(audio=0)]).astype(np.float64)


def noise_to_mask(speech: Audio, mark: Audio, rate: int) -> tuple[float, float]:
    """(energy-mean NMR in dB, share of cells above the mask) over Bark bands x 21 ms frames of active speech."""
    size, hop = 1024, 512
    starts = np.arange(0, len(speech) - size, hop)
    if starts.size == 0:
        return float("nan"), float("nan")
    window = np.hanning(size)
    index = starts[:, None] + np.arange(size)[None, :]
    speech_power = np.abs(np.fft.rfft(speech[index] * window, axis=1)) ** 2 + 1e-20
    mark_power = np.abs(np.fft.rfft(mark[index] * window, axis=1)) ** 2
    freqs = np.fft.rfftfreq(size, 1 / rate)
    bark = 13 * np.arctan(0.00076 * freqs) + 3.5 * np.arctan((freqs / 7500.0) ** 2)
    band = bark.astype(int)
    count = int(band.max()) + 1
    energy, masked, flatness = (np.zeros((len(starts), count)) for _ in range(3))
    for b in range(count):
        cells = speech_power[:, band == b]
        energy[:, b], masked[:, b] = cells.sum(axis=1), mark_power[:, band == b].sum(axis=1)
        flatness[:, b] = 10 * np.log10(np.exp(np.log(cells).mean(axis=1)) / cells.mean(axis=1))
    distance = np.arange(count)[:, None] - np.arange(count)[None, :] + 0.474
    spreading = 10 ** ((15.81 + 7.5 * distance - 17.5 * np.sqrt(1 + distance**2)) / 10)
    tonality = np.clip(flatness / -25.0, 0.0, 1.0)
    offset = tonality * (14.5 + np.arange(count)[None, :]) + (1 - tonality) * 5.5
    threshold = (energy @ spreading.T) * 10 ** (-offset / 10)
    active = energy.sum(axis=1) > energy.sum(axis=1).max() * 1e-4
    ratio = masked[active] / threshold[active]
    return round(10 * math.log10(float(ratio.mean()) + 1e-30), 1), round(float((ratio > 1).mean()), 3)


def reel_lines(folder: Path) -> list[tuple[str, Audio]]:
    """The reel rendered by piper (offline, 48 kHz, loudness-normalized) without the mark."""
    from revoice.engine.model import DialogueLine, FrameRange
    from revoice.engine.render import RenderSettings, Revoicer
    from revoice.engine.voices.base import BackendOptions
    from revoice.engine.voices.piper_voice import SPEC, PiperBackend

    reason = SPEC.availability(BackendOptions())
    if reason:
        log(f"reel skipped: {reason}")
        return []
    lines = [DialogueLine(line_id=f"L{i:04d}", text=text, speaker="MARA", language="en",
                          record=FrameRange(100 * i, int(25 * (0.45 * len(text.split()) + 0.8)), 25.0),
                          timecode_start_frames=90000, sources=(), origin="bench")
             for i, text in enumerate(REEL, start=1)]
    backend = PiperBackend(BackendOptions(threads=2))
    result = Revoicer(backend=backend, settings=RenderSettings(watermark=False)).render(lines, out_dir=folder)
    return [(r.line_id, read_at(r.path, RATE)) for r in result.rendered]


def clean_recordings() -> list[Path]:
    found = [package_file("moonshine_voice", "assets", name)
             for name in ("two_cities.wav", "endgame_nagg_nell.wav", "beckett.wav", "clone-test.wav")]
    found.append(package_file("pygame", "examples", "data", "house_lo.ogg"))
    corpus = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "voices"
    if corpus.is_dir():
        found += [p for p in sorted(corpus.iterdir()) if p.suffix in (".wav", ".flac")]
    return [p for p in found if p is not None]


def score_clip(x: Audio, bed: Audio, mos: Any) -> dict[str, Any]:
    from revoice.engine.dsp.watermark import detect_watermark, embed_watermark

    marked = embed_watermark(x, RATE).astype(np.float64)
    mark = marked - x
    speech_under, music_under = mix(marked, bed, RATE, 10.0), mix(marked, bed, RATE, -10.0)

    def score(audio: Audio) -> float:
        return detect_watermark(audio, RATE).score

    row: dict[str, Any] = {
        "seconds": round(len(x) / RATE, 2),
        "clean": score(x), "marked": score(marked), "mp3": score(mp3_round_trip(marked, RATE)),
        "music_under": score(music_under), "music_under_mp3": score(mp3_round_trip(music_under, RATE)),
        "speech_under": score(speech_under), "speech_under_mp3": score(mp3_round_trip(speech_under, RATE)),
        "clean_speech_under": score(mix(x, bed, RATE, 10.0)),
        "difference_db": round(10 * math.log10(float(np.mean(mark**2)) / float(np.mean(x**2))), 1),
    }
    row["nmr_db"], row["nmr_cells_above"] = noise_to_mask(x, mark, RATE)
    if mos is not None:
        before, after = mos.score(x.astype(np.float32), RATE), mos.score(marked.astype(np.float32), RATE)
        row["mos_clean"], row["mos_marked"] = round(before, 3), round(after, 3)
    return row


def false_alarms(clips: list[tuple[str, Audio, int]], keys: int) -> dict[str, Any]:
    from revoice.engine.dsp.watermark import DEFAULT_KEY, detect_watermark

    others = [f"bench-false-alarm/{i}".encode() for i in range(keys)]
    worst: tuple[float, str] = (0.0, "")
    scores: list[float] = []
    for name, audio, rate in clips:
        for key in ([DEFAULT_KEY] if not name.startswith("marked:") else []) + others:
            value = detect_watermark(audio, rate, key=key).score
            scores.append(value)
            worst = max(worst, (value, f"{name} key {key.decode()}"))
    values = np.asarray(scores)
    return {"checks": len(scores), "clips": len(clips), "keys": keys + 1, "max": worst[0], "worst": worst[1],
            "mean": round(float(values.mean()), 2), "p99": round(float(np.percentile(values, 99)), 2),
            "over_6": int((values >= 6.0).sum())}


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench watermark", description=__doc__.split("\n")[0])
    parser.add_argument("--keys", type=int, default=40, help="other keys for the false-alarm check (default 40)")
    parser.add_argument("--mos", action="store_true", help="DistillMOS of each clip before and after marking")
    parser.add_argument("--full-band", action="store_true", help="add pink noise 12 dB under the music bed")
    parser.add_argument("--no-reel", action="store_true", help="skip the piper reel (the two_cities clips only)")
    args = parser.parse_args(list(argv))
    from revoice.engine.dsp.watermark import (
        DETECTION_THRESHOLD,
        detect_watermark,
        embed_watermark,
    )

    house = package_file("pygame", "examples", "data", "house_lo.ogg")
    speech = package_file("moonshine_voice", "assets", "two_cities.wav")
    if house is None or speech is None:
        print("bench watermark needs the dev extra (pygame, moonshine-voice): pip install -e '.[dev]'", file=sys.stderr)
        return 2
    bed = read_at(house, RATE)
    if args.full_band:
        pink = np.fft.irfft(np.fft.rfft(np.random.default_rng(7).standard_normal(bed.size))
                            / np.sqrt(np.maximum(np.fft.rfftfreq(bed.size, 1 / RATE), 20.0)), n=bed.size)
        bed = bed / bed.std() + pink / pink.std() * 10 ** (-12 / 20)
    two_cities = read_at(speech, RATE)
    clips = [(f"two_cities@{4 * i}s", two_cities[4 * i * RATE : 4 * (i + 1) * RATE]) for i in range(4)]
    if not args.no_reel:
        with tempfile.TemporaryDirectory() as folder:
            clips = reel_lines(Path(folder)) + clips
    mos = None
    if args.mos:
        from revoice.engine.qc.mos import DistillMosMeter

        mos = DistillMosMeter(threads=2)
    rows: dict[str, dict[str, Any]] = {}
    for name, x in clips:
        rows[name] = score_clip(x, bed, mos)
        log(f"{name}: {rows[name]}")
    started = time.perf_counter()
    embedded = [embed_watermark(x, RATE) for _, x in clips]
    embed_seconds = time.perf_counter() - started
    started = time.perf_counter()
    for audio in embedded:
        detect_watermark(audio, RATE)
    detect_seconds = time.perf_counter() - started
    audio_seconds = sum(len(x) for _, x in clips) / RATE
    fa_clips: list[tuple[str, Audio, int]] = []
    for path in clean_recordings():
        audio, rate = sf.read(str(path), dtype="float64", always_2d=True)
        mono = audio.mean(axis=1)
        fa_clips += [(f"{path.name}@{s // rate}s", mono[s : s + 2 * rate], rate) for s in range(0, len(mono) - rate, 2 * rate)]
    fa_clips += [(f"{name} under music", mix(x, bed, RATE, 10.0), RATE) for name, x in clips]
    fa_clips += [(f"marked:{name}", m.astype(np.float64), RATE) for (name, _), m in zip(clips, embedded)]
    log(f"false alarms: {len(fa_clips)} clips x {args.keys} keys")
    keys = ("clean", "marked", "mp3", "music_under", "music_under_mp3", "speech_under", "speech_under_mp3",
            "clean_speech_under", "difference_db", "nmr_db")
    summary = {k: {"min": min(r[k] for r in rows.values()), "max": max(r[k] for r in rows.values())} for k in keys}
    if mos is not None:
        changes = [r["mos_marked"] - r["mos_clean"] for r in rows.values()]
        summary["mos_change"] = {"mean": round(float(np.mean(changes)), 3), "min": round(min(changes), 3)}
    out = {"threshold": DETECTION_THRESHOLD, "bed": "house_lo + pink -12 dB" if args.full_band else "house_lo",
           "clips": rows, "summary": summary,
           "detected": {k: sum(r[k] >= DETECTION_THRESHOLD for r in rows.values())
                        for k in keys[1:7]} | {"of": len(rows)},
           "false_alarms": false_alarms(fa_clips, args.keys),
           "ms_per_audio_second": {"embed": round(1000 * embed_seconds / audio_seconds, 1),
                                   "detect": round(1000 * detect_seconds / audio_seconds, 1)}}
    print(json.dumps(out, indent=1))
    return 0
