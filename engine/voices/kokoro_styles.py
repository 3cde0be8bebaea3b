"""Kokoro's voice ids: its five voices, style blends (``"jf_alpha*0.5+jm_kumo*0.5"``) and splits (``"TIMBRE|PROSODY"``).

Pure string and number handling, no model: :mod:`kokoro_voice` turns the
weights into style vectors; voice matching and the panel build and read the ids.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

VOICES = ("jm_kumo", "jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro")
"""Voice ids; the first is the default (lowest Mandarin CER in our measurements)."""
MAX_BLEND_WEIGHT = 3.0
"""Largest |weight| one voice may have in a style blend (weights sum to 1; negative ones extrapolate)."""
TIMBRE_DIMS = 128
"""The first 128 style values condition the decoder (timbre); the other 128 the prosody predictor."""
SPLIT = "|"
"""Separates the timbre blend from the prosody blend in a split voice id."""


def blend_id(weights: Mapping[str, float]) -> str:
    """The canonical id of a blend (sorted, 3 decimals, zero weights dropped); ValueError for a bad one."""
    unknown = sorted(set(weights) - set(VOICES))
    if unknown:
        raise ValueError(f"kokoro has no voice {', '.join(unknown)}; voices: {', '.join(VOICES)}")
    kept = {name: round(float(w), 3) for name, w in sorted(weights.items()) if round(float(w), 3) != 0.0}
    if not kept or not all(math.isfinite(w) for w in kept.values()):
        raise ValueError(f"a voice blend needs finite, non-zero weights, got {dict(weights)}")
    if abs(sum(kept.values()) - 1.0) > 0.01:
        raise ValueError(f"voice blend weights must sum to 1, got {sum(kept.values()):.3f} ({kept})")
    if max(abs(w) for w in kept.values()) > MAX_BLEND_WEIGHT:
        raise ValueError(f"voice blend weights must stay within +-{MAX_BLEND_WEIGHT}, got {kept}")
    if len(kept) == 1:
        return next(iter(kept))
    return "+".join(f"{name}*{w:g}" for name, w in kept.items())


def blend_weights(voice: str) -> dict[str, float]:
    """Weights of a blend id (see KokoroBackend.blend_voice_id); ValueError for anything else."""
    weights: dict[str, float] = {}
    for part in voice.split("+") if "*" in voice else ():
        name, sep, value = part.partition("*")
        try:
            weights[name.strip()] = float(value) if sep else math.nan
        except ValueError:
            weights[name.strip()] = math.nan
    if not weights:
        raise ValueError(f"kokoro has no voice {voice!r}; voices: {', '.join(VOICES)} "
                         "or a blend such as 'jf_alpha*0.5+jf_nezumi*0.5'")
    blend_id(weights)  # validates
    return weights


def style_weights(voice: str) -> tuple[dict[str, float], dict[str, float]]:
    """(timbre weights, prosody weights) of a voice, blend or split id; ValueError for anything else."""
    timbre, sep, prosody = voice.partition(SPLIT)

    def part(text: str) -> dict[str, float]:
        text = text.strip()
        return {text: 1.0} if text in VOICES else blend_weights(text)

    if sep and (not prosody.strip() or SPLIT in prosody):
        raise ValueError(f"kokoro split voice {voice!r} must be 'TIMBRE{SPLIT}PROSODY', "
                         f"e.g. 'jf_gongitsune{SPLIT}jm_kumo'")
    first = part(timbre)
    return first, (part(prosody) if sep else first)


__all__ = ["MAX_BLEND_WEIGHT", "SPLIT", "TIMBRE_DIMS", "VOICES", "blend_id", "blend_weights", "style_weights"]
