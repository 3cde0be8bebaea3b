"""Watermark and provenance of every rendered line: the render's side of issue 17's "trust".

* :func:`mark_speech`: the inaudible mark (:mod:`revoice.engine.dsp.watermark`,
  keyed with Revoice's public key) on a line's fitted speech. The renderer
  calls it once per take, before loudness normalization, when
  ``RenderSettings.watermark`` is on (the default), so the true-peak ceiling
  and the loudness in the report hold for the delivered samples.
* :func:`render_provenance`: the :class:`~revoice.engine.dsp.bwf.Provenance`
  written into the WAV (iXML chunk and bext coding history): tool and
  version, backend and voice, the voice profile with its consent as recorded
  when the line rendered, the render key and the watermark's scheme.
* :func:`check_file`: what ``revoice verify`` and the QC report say of a file:
  the mark's score and the provenance found in it.

Changing how the mark is made bumps
:data:`revoice.engine.formats.WATERMARK_VERSION`, which is part of every
marked take's render key, so old takes are rendered again; a change to how it
is found does not (the detector must keep finding every earlier version: it
correlates with the same keyed reference, whatever the mark's strength).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from revoice.engine.dsp._util import AudioArray, FloatArray
from revoice.engine.dsp.bwf import BextText, Provenance, read_bext_text, read_provenance
from revoice.engine.dsp.watermark import (
    WatermarkDetection,
    detect_watermark,
    embed_watermark,
)
from revoice.engine.formats import WATERMARK_VERSION
from revoice.engine.voices.base import VoiceBackend, VoiceHooks

WATERMARK_SCHEME = f"revoice-ss/{WATERMARK_VERSION}"
"""The mark's name and version as written into each WAV's provenance."""
CHECK_SECONDS = 120.0
"""How much of a file :func:`check_file` reads (s): the mark repeats every 1.4 s, so two minutes decide."""


def tool_version() -> str:
    """The installed ``revoice`` package's version ("" when it is not installed, e.g. run from a checkout)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("revoice")
    except PackageNotFoundError:
        return ""


def mark_speech(audio: FloatArray, sample_rate: int) -> AudioArray:
    """``audio`` (mono, ``sample_rate`` Hz) with Revoice's inaudible mark; float32, same length, deterministic."""
    return embed_watermark(audio, sample_rate)


def render_provenance(*, backend: VoiceBackend, voice_id: str, language: str, line_id: str, render_key: str,
                      watermarked: bool) -> Provenance:
    """The provenance of one rendered take, as written into its WAV.

    For a character's voice profile (a backend with voice hooks) it names the
    profile, its kind and content key, the base voice, and the actor's consent
    as recorded when the line rendered (``revoice verify`` says so: consent
    recorded later is in the profile, not in the WAV).
    """
    hooks = backend if isinstance(backend, VoiceHooks) else None
    facts = hooks.voice_report(voice_id, language) if hooks is not None else None
    provenance = Provenance(version=tool_version(), backend=backend.spec.name, voice=voice_id, line_id=line_id,
                            render_key=render_key, watermark=WATERMARK_SCHEME if watermarked else None,
                            voice_kind="stock")
    if not facts:
        return provenance
    consent = _profile_consent(backend, voice_id)
    base = "/".join(str(facts[k]) for k in ("base_backend", "base_voice") if facts.get(k))
    return Provenance(
        version=provenance.version, backend=provenance.backend, voice=voice_id, line_id=line_id,
        render_key=render_key, watermark=provenance.watermark,
        voice_profile=_text(facts.get("name")), voice_kind=_text(facts.get("kind")),
        voice_profile_key=_text(facts.get("key")), base_voice=base or None,
        consent=_text(facts.get("consent")) or consent.get("status"), consent_by=consent.get("by"),
        consent_date=consent.get("date"), consent_scope=consent.get("scope"))


def _profile_consent(backend: VoiceBackend, voice_id: str) -> dict[str, str]:
    """Who recorded the consent of the profile ``voice_id``, when, and its scope (empty values left out)."""
    profiles = getattr(backend, "profiles", None)
    profile = profiles.get(voice_id) if isinstance(profiles, dict) else None
    consent = getattr(profile, "consent", None)
    found = {name: getattr(consent, name, "") for name in ("status", "by", "date", "scope")}
    return {name: str(value) for name, value in found.items() if isinstance(value, str) and value}


def _text(value: object) -> str | None:
    return None if value is None or value == "" else str(value)


@dataclass(frozen=True)
class WatermarkCheck:
    """What :func:`check_file` found in one audio file."""

    path: Path
    detection: WatermarkDetection | None
    """None when the file could not be read (see ``error``)."""
    provenance: Provenance | None
    """From the WAV's iXML chunk (None: none, or not a WAV)."""
    bext: BextText | None
    error: str | None = None
    """Why the file could not be checked (one line)."""

    @property
    def marked(self) -> bool:
        return self.detection is not None and self.detection.present


def check_file(path: Path, *, max_seconds: float = CHECK_SECONDS) -> WatermarkCheck:
    """Look for Revoice's mark in the first ``max_seconds`` of ``path`` (any format FFmpeg or libsndfile reads),
    and read the provenance a WAV carries. Never raises for a bad file: ``error`` says what went wrong."""
    from revoice.engine.original import MediaError, read_media_audio

    provenance: Provenance | None = None
    bext: BextText | None = None
    try:
        with open(path, "rb") as handle:
            is_wav = handle.read(12)[8:12] == b"WAVE"
        if is_wav:
            provenance, bext = read_provenance(path), read_bext_text(path)
        audio, rate = read_media_audio(path, duration_seconds=max_seconds)
        detection = detect_watermark(audio, rate)
    except (OSError, ValueError, MediaError) as exc:
        return WatermarkCheck(path, None, provenance, bext, error=str(exc).splitlines()[0] if str(exc) else repr(exc))
    return WatermarkCheck(path, detection, provenance, bext)
