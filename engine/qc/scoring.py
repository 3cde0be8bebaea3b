"""What QC judges a take by, without models: the bounds, the score, and the level and sync checks.

:class:`revoice.engine.qc.assess.LineQc` measures a take with its models and
judges the numbers here. Every number beyond a :class:`QcThresholds` bound adds
a sentence to the take's ``flags``.

Score (higher is better; the renderer keeps the take with the highest)::

    q_text = 1 - min(wer or cer, 1)             # 0..1
    q_sim  = clip(similarity, 0, 1)             # 0..1
    q_mos  = clip((mos - 1) / 4, 0, 1)          # 0..1
    score  = (0.5 q_text + 0.25 q_sim + 0.25 q_mos) / (sum of the weights of the meters switched on)
             - 0.2 * number of QC flags

A meter that is switched on but cannot measure (silent take) counts as 0;
a meter switched off is left out of the weights. Scores rank the takes of one
line; across lines they also reflect the reference (a stock voice is far from
the actor of an original take).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any

import numpy as np
import numpy.typing as npt
from revoice.engine.dsp.loudness import integrated_loudness, true_peak_dbtp
from revoice.engine.fit import FitPolicy
from revoice.engine.model import RenderedLine

METERS = ("asr", "mos", "similarity", "ge2e")
"""Model-based meters :class:`LineQc` can run (level, clipping and sync checks always run). ``ge2e`` is
an optional second opinion on similarity (Resemblyzer, ~0.15 s per take): reported, never flagged or scored."""

DEFAULT_METERS = ("asr", "mos", "similarity")

CHARACTER_LANGUAGES = ("zh", "cmn", "yue", "ja")
"""Languages scored by character error rate instead of word error rate."""

SCORE_WEIGHTS: Mapping[str, float] = MappingProxyType({"asr": 0.5, "similarity": 0.25, "mos": 0.25})
FLAG_PENALTY = 0.2
"""Score lost per QC flag."""

DEFAULT_SIMILARITY_FLOORS: Mapping[str, float] = MappingProxyType({"piper:joe": 0.55, "kokoro:jm_kumo": 0.65})
"""Calibrated voice-profile floors by ``backend:voice`` (bench.quality, d-vector, >= 1 s of speech):
piper joe's takes 0.60-0.93 against its profile (24 lines), real human voices 0.03-0.52 (n=329 chunks);
kokoro jm_kumo's takes 0.78-0.94 (12 lines), human voices up to 0.58."""


@dataclass(frozen=True)
class QcThresholds:
    """Bounds beyond which a take is flagged. Units in the field names' docs."""

    max_wer: float = 0.10
    """Word error rate (edits / reference words) of the ASR transcript; English and other spaced scripts."""
    max_cer: float = 0.20
    """Character error rate for zh/ja: Whisper base on Kokoro jm_kumo (Japanese accent) reads clean
    Mandarin lines at 0.00-0.17; the two of 12 bench lines above 0.20 were heard as other words."""
    min_similarity: float = 0.55
    """Cosine to the voice profile for voices without a calibrated floor in ``similarity_floors``."""
    similarity_floors: Mapping[str, float] = field(default_factory=lambda: DEFAULT_SIMILARITY_FLOORS)
    """Per-voice floors, key ``backend:voice_id`` (the voice's own calibrated floor)."""
    min_original_similarity: float | None = None
    """Floor for the similarity to the original take; None: not flagged (set it for cloning voices:
    a stock voice is a different person: piper takes vs the real original measured 0.03-0.64)."""
    min_profile_similarity: float | None = None
    """Floor for a character's profile voice: cosine of the take to the profile's embedding (the actor's
    reference speech); None: not flagged (a "tint" is a stock voice moved toward the actor, not a clone)."""
    min_similarity_speech_s: float = 1.0
    """Speech shorter than this (s) is too short for a reliable embedding: similarity reported, not flagged."""
    min_mos: float = 3.0
    """DistillMOS (1..5): clean piper takes 2.8-4.4 (1 of 24 bench lines, a short question, below 3.0),
    Kokoro 3.9-4.5, speech in noise ~2.0, white noise ~1.6. Clipping barely moves it (see clipped_samples)."""
    min_mos_speech_s: float = 1.0
    """Speech shorter than this (s) gets its DistillMOS reported, not flagged: clean one- and two-word takes
    score low (piper joe "No." 2.70, "Not now." 2.63; Kokoro jf_alpha "No." 1.75), real speech cut to 0.7 s
    2.55-4.07."""
    max_true_peak_dbtp: float | None = None
    """True-peak ceiling (dBTP); None: the ceiling the take was rendered with (RenderSettings, -2 dBTP)."""
    true_peak_tolerance_db: float = 0.1
    max_clipped_samples: int = 0
    """Samples allowed in flat-topped runs (>= ``clip_run_samples`` equal samples at >= half the peak)."""
    clip_run_samples: int = 3
    min_speech_fraction: float = 0.5
    """VAD speech span / placed speech length below this (or no speech at all) is flagged."""
    max_loudness_error_lu: float = 1.0
    """|measured - target| loudness (LU) of the placed speech."""
    max_onset_error_ms: float = 45.0
    """|onset error| (ms) against the original take (about one frame at 24 fps)."""
    min_ratio: float = FitPolicy.min_ratio
    max_ratio: float = FitPolicy.max_ratio
    """Fitted / natural speech length bounds (engine.fit.FitPolicy's); not repeated when the fit flagged it."""
    max_stretch_deviation: float = 0.15
    """|stretch_ratio - 1| beyond this: the residual time stretch is large enough to hear."""

    def similarity_floor(self, backend: str, voice_id: str) -> float:
        """The voice-profile floor for ``backend``'s ``voice_id`` (a stock voice)."""
        return float(self.similarity_floors.get(f"{backend}:{voice_id}", self.min_similarity))


def thresholds_dict(thresholds: QcThresholds) -> dict[str, Any]:
    """``thresholds`` as a JSON-friendly dict (for reports)."""
    data = {f.name: getattr(thresholds, f.name) for f in fields(thresholds)}
    data["similarity_floors"] = dict(thresholds.similarity_floors)
    return data


def spoken_text(text: str) -> str:
    """``text`` without stage directions (``[laughs]``, ``（停顿）``): what the voice should say."""
    from revoice.engine.text.directions import Speech, split_directions

    pieces, _ = split_directions(text)
    return " ".join(piece.text for piece in pieces if isinstance(piece, Speech)).strip()


def references(text: str, language: str) -> tuple[str, ...]:
    """Reference texts for the error rate: the spoken text as written and as the engine reads it out.

    The lower error of the two counts, so "3点" matches an ASR "三点" and "3点"
    alike (engine.text.normalize spells numbers, dates and phone numbers the way
    the voice is asked to say them; engine.qc.text_norm normalizes both sides).
    """
    spoken = spoken_text(text)
    try:
        from revoice.engine.text.normalize import normalize

        read_out = normalize(spoken, language=language).normalized
    except (ImportError, ValueError):
        return (spoken,)
    return (spoken,) if read_out == spoken else (spoken, read_out)


def clipped_samples(audio: npt.NDArray[np.floating[Any]], *, run: int = 3, level: float = 0.5) -> int:
    """Samples in runs of at least ``run`` identical non-zero values at >= ``level`` x the peak.

    A clipper (even one followed by a gain change) leaves such plateaus;
    speech at 24 bits does not: near a peak, consecutive samples differ by
    far more than one step.
    """
    x = np.asarray(audio, dtype=np.float64).reshape(-1)
    if x.size < run:
        return 0
    peak = float(np.max(np.abs(x)))
    if peak == 0.0:
        return 0
    same = np.concatenate([[False], x[1:] == x[:-1]])
    loud = np.abs(x) >= level * peak
    total = 0
    edges = np.diff(np.concatenate([[0], (same & loud).astype(np.int8), [0]]))
    for start, end in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True):
        length = int(end - start) + 1  # the first sample of a plateau is not "same as previous"
        if length >= run:
            total += length
    return total


def number(value: Any) -> float | None:
    """``value`` as a float when it is a JSON number (not a bool), else None."""
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def qc_score(metrics: Mapping[str, Any], meters: Sequence[str]) -> float:
    """The score of ``metrics`` (see the module docstring for the formula)."""
    parts: dict[str, float] = {}
    if "asr" in meters:
        error = number(metrics.get("cer") if metrics.get("error_metric") == "cer" else metrics.get("wer"))
        parts["asr"] = 1.0 - min(error, 1.0) if error is not None else 0.0
    if "similarity" in meters:
        sim = number(metrics.get("similarity"))
        parts["similarity"] = min(max(sim, 0.0), 1.0) if sim is not None else 0.0
    if "mos" in meters:
        mos = number(metrics.get("mos"))
        parts["mos"] = min(max((mos - 1.0) / 4.0, 0.0), 1.0) if mos is not None else 0.0
    weight = sum(SCORE_WEIGHTS[name] for name in parts)
    quality = sum(SCORE_WEIGHTS[name] * value for name, value in parts.items()) / weight if weight else 0.0
    return round(quality - FLAG_PENALTY * len(metrics.get("flags", ())), 4)


def level_checks(audio: npt.NDArray[np.float32], speech: npt.NDArray[np.float32], sample_rate: int,
                 rendered: RenderedLine, limits: QcThresholds) -> tuple[dict[str, Any], list[str]]:
    """Loudness of the placed ``speech`` (LUFS) against the render's target, true peak (dBTP) against the
    ceiling, sample peak (dBFS) and clipping of the whole take ``audio``: (metrics, flags)."""
    signal = bool(np.any(audio))
    lufs = integrated_loudness(speech, sample_rate) if np.any(speech) else -math.inf
    peak = true_peak_dbtp(audio, sample_rate) if signal else -math.inf
    clipped = clipped_samples(audio, run=limits.clip_run_samples)
    sample_peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    target = number(rendered.report.loudness_target_lufs)
    out: dict[str, Any] = {
        "loudness_lufs": _db(lufs),
        "loudness_target_lufs": target,
        "true_peak_dbtp": _db(peak),
        "sample_peak_dbfs": _db(20 * math.log10(sample_peak)) if sample_peak > 0 else None,
        "clipped_samples": clipped,
    }
    flags: list[str] = []
    if target is not None and math.isfinite(lufs) and abs(lufs - target) > limits.max_loudness_error_lu:
        flags.append(f"loudness {lufs:.1f} LUFS is {lufs - target:+.1f} LU off the {target:.1f} LUFS target")
    ceiling = limits.max_true_peak_dbtp
    if ceiling is None:
        ceiling = number(rendered.settings.get("true_peak_ceiling_dbtp"))
    ceiling = -2.0 if ceiling is None else ceiling
    if math.isfinite(peak) and peak > ceiling + limits.true_peak_tolerance_db:
        flags.append(f"true peak {peak:+.1f} dBTP > {ceiling:+.1f} dBTP ceiling")
    if clipped > limits.max_clipped_samples:
        flags.append(f"clipped: {clipped} samples in flat-topped runs")
    return out, flags


def sync_checks(rendered: RenderedLine, limits: QcThresholds) -> tuple[dict[str, Any], list[str]]:
    """The renderer's sync numbers (length error in samples, onset/offset errors in ms, stretch and
    speed ratios) judged against ``limits``: (metrics, flags)."""
    report = rendered.report
    out: dict[str, Any] = {
        "length_error_samples": number(report.length_error_samples),
        "onset_error_ms": number(report.onset_error_ms),
        "offset_error_ms": number(report.offset_error_ms),
        "stretch_ratio": number(report.stretch_ratio),
        "ratio": number(report.ratio),
    }
    flags: list[str] = []
    if out["length_error_samples"]:
        flags.append(f"length: {out['length_error_samples']:+.0f} samples off the slot")
    onset = out["onset_error_ms"]
    if onset is not None and report.target_from == "original take" and abs(onset) > limits.max_onset_error_ms:
        flags.append(f"onset {onset:+.0f} ms off the original take (> {limits.max_onset_error_ms:.0f} ms)")
    ratio = out["ratio"]
    fit_flagged = any(f.startswith(("fast:", "slow:", "late:")) for f in rendered.flags)
    if ratio is not None and not fit_flagged and not limits.min_ratio <= ratio <= limits.max_ratio:
        flags.append(f"ratio {ratio:.2f} outside {limits.min_ratio:.2f}-{limits.max_ratio:.2f} of natural speed")
    stretch = out["stretch_ratio"]
    if stretch is not None and abs(stretch - 1.0) > limits.max_stretch_deviation:
        flags.append(f"stretch {stretch:.2f}x: residual time stretch beyond ±{limits.max_stretch_deviation:.0%}")
    return out, flags


def _db(value: float) -> float | None:
    return round(value, 2) if math.isfinite(value) else None
