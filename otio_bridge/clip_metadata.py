"""Revoice's record in each revoiced clip, ``clip.metadata["revoice"]``: one reader, one writer.

:func:`write` puts a :class:`ClipMetadata` into a clip (revoice.otio_bridge.write
does, for every line it places); :func:`read` gets it back from a clip of a
written timeline (the QC report, the panel and the session read it so), or
None for clips Revoice did not write. The record is the line (id, text,
speaker, language), what spoke it (backend, voice, take, the character's
voice profile), the emotion it was spoken with (the renderer's
:class:`revoice.engine.records.EmotionUse`), the render settings and :class:`revoice.engine.records.RenderReport`,
the flags, the WAV's length, and every take's file::

    meta = read(clip)
    if meta is not None and meta.report is not None:
        print(meta.line_id, meta.report.ratio, meta.report.qc.score if meta.report.qc is not None else "not metered")

What is read is written back unchanged (keys of a newer Revoice included);
the record carries no version number (see revoice.engine.formats).
"""

from __future__ import annotations

import dataclasses

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar

import opentimelineio as otio
from revoice.engine.formats import CLIP_METADATA_KEY
from revoice.engine.model import DialogueLine, RenderedLine
from revoice.engine.records import (
    EmotionUse,
    JsonRecord,
    RenderReport,
    VoiceProfileUse,
    json_record,
    json_records,
    json_strings,
)


@dataclass(frozen=True, kw_only=True)
class ClipTake(JsonRecord):
    """One take of the clip's line, for swapping takes in the NLE or the panel."""

    take: int | None = None
    """Take number, from 1."""
    path: str | None = None
    """The take's WAV: an absolute path, beside the placed take's."""
    score: float | None = None
    """Its QC score (higher is better; 0 when not metered)."""
    flags: tuple[str, ...] = ()

    _DECODERS: ClassVar[Mapping[str, Callable[[Any], Any]]] = MappingProxyType({"flags": json_strings})


@dataclass(frozen=True, kw_only=True)
class ClipProfile(JsonRecord):
    """The character's voice profile that spoke the clip's line (a subset of the report's ``voice_profile``)."""

    name: str | None = None
    kind: str | None = None
    """``"tint"`` (a stock voice moved toward the actor, not a clone), ``"clone"`` or ``"convert"``."""
    strength: float | None = None
    """The tint's strength, 0..1."""
    base_backend: str | None = None
    base_voice: str | None = None
    cross_lingual: bool | None = None
    consent: str | None = None
    converter: str | None = None
    """Kind "convert": the voice converter that gave the line the actor's timbre (left out for other kinds)."""

    _OMITTED_WHEN_NONE: ClassVar[frozenset[str]] = frozenset({"converter"})

    @classmethod
    def of(cls, use: VoiceProfileUse) -> ClipProfile:
        return cls(name=use.name, kind=use.kind, strength=use.strength, base_backend=use.base_backend,
                   base_voice=use.base_voice, cross_lingual=use.cross_lingual, consent=use.consent,
                   converter=use.converter)


@dataclass(frozen=True, kw_only=True)
class ClipMetadata(JsonRecord):
    """Everything Revoice keeps in a revoiced clip. None: not in this clip's record."""

    line_id: str | None = None
    text: str | None = None
    """The line as it was spoken (the edited text, when edited in the panel)."""
    speaker: str | None = None
    language: str | None = None
    overflow_frames: int | None = None
    """Frames the line's cue ran past its slot (see revoice.otio_bridge.lines)."""
    backend: str | None = None
    voice: str | None = None
    """The voice id the backend spoke with (a character's name for a profile voice)."""
    take: int | None = None
    """The placed take, from 1."""
    settings: Mapping[str, Any] | None = None
    """The render settings (revoice.engine.render.RenderSettings as JSON)."""
    report: RenderReport | None = None
    flags: tuple[str, ...] = ()
    wav_samples: int | None = None
    """The WAV's length: exactly the slot (samples at ``sample_rate``)."""
    sample_rate: int | None = None
    takes: tuple[ClipTake, ...] = ()
    """Every take of the line (empty when it was rendered with one take)."""
    profile: ClipProfile | None = None
    """The character's voice profile; None (left out) for a stock voice."""
    consent: str | None = None
    """The actor's consent to the voice profile that spoke the line, when placed: "granted", or "unknown"
    (the line is flagged "voice consent unknown": record it before delivery); None (left out) for a stock voice."""
    emotion: EmotionUse | None = None
    """How the line's emotion was rendered (method, words, source, what moved: the report's ``emotion``);
    None (left out) for renders from before emotion existed."""

    _DECODERS: ClassVar[Mapping[str, Callable[[Any], Any]]] = MappingProxyType({
        "report": json_record(RenderReport), "flags": json_strings,
        "takes": lambda value: json_records(ClipTake)(value) or (), "profile": json_record(ClipProfile),
        "emotion": json_record(EmotionUse)})
    _OMITTED_WHEN_NONE: ClassVar[frozenset[str]] = frozenset({"profile", "consent", "emotion"})

    @classmethod
    def of(cls, line: DialogueLine, render: RenderedLine) -> ClipMetadata:
        """The record of ``line`` placed with ``render`` (its takes listed beside the placed WAV)."""
        placed = Path(render.path).resolve()
        use = render.report.voice_profile
        return cls(
            line_id=line.line_id, text=line.text, speaker=line.speaker, language=line.language,
            overflow_frames=line.metadata.get("overflow_frames", 0), backend=render.backend,
            voice=render.voice_id, take=render.take, settings=render.settings,
            report=dataclasses.replace(render.report, render_seconds=None, rtf=None),  # timings: not in the timeline,
            # so one process, --jobs, shards and Ray write the same bytes
            flags=render.flags, wav_samples=render.slot_samples, sample_rate=render.sample_rate,
            takes=tuple(ClipTake(take=entry.take, path=str(placed.with_name(str(entry.file))), score=entry.score,
                                 flags=entry.flags) for entry in render.report.takes or ()),
            profile=None if use is None else ClipProfile.of(use), consent=None if use is None else use.consent,
            emotion=render.report.emotion)

    def rendered_line(self, line: DialogueLine, wav: Path) -> RenderedLine:
        """The placed take as a :class:`RenderedLine` of ``line`` (whose WAV is ``wav``), for metering it again."""
        rate = int(self.sample_rate or 48000)
        slot = int(self.wav_samples or line.slot_samples(rate))
        report = self.report if self.report is not None else RenderReport.from_json({})
        return RenderedLine(
            line_id=line.line_id, path=wav, sample_rate=rate, slot_samples=slot,
            speech_start=int(report.speech_start or 0), speech_end=int(report.speech_end or slot),
            backend=self.backend or "", voice_id=self.voice or "", take=int(self.take or 1),
            settings=dict(self.settings or {}), report=report, flags=self.flags)

    @property
    def voice_kind(self) -> str:
        """``"tint"`` (offline matching, not a clone), ``"clone"`` (a neural backend) or ``"stock"`` (no profile)."""
        if self.profile is None:
            return "stock"
        return str(self.profile.kind or "tint")


def write(clip: otio.schema.Clip, metadata: ClipMetadata) -> None:
    """Put ``metadata`` into ``clip`` (JSON types only: numpy numbers and tuples converted)."""
    clip.metadata[CLIP_METADATA_KEY] = _jsonable(metadata.to_json())


def read(clip: otio.core.Item) -> ClipMetadata | None:
    """The record Revoice wrote into ``clip``; None when it holds none (or not an object)."""
    meta = clip.metadata.get(CLIP_METADATA_KEY) if clip.metadata else None
    if not isinstance(meta, Mapping):
        return None
    return ClipMetadata.from_json(_plain(meta))


def _plain(value: Any) -> Any:
    """OTIO's AnyDictionary / AnyVector as plain dicts and lists."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        return [_plain(v) for v in value]
    return value


def _jsonable(value: dict[str, Any]) -> dict[str, Any]:
    """``value`` made of JSON types only (numpy scalars/arrays, Paths and the like converted)."""
    def convert(obj: Any) -> Any:
        for attr in ("tolist", "item"):
            method = getattr(obj, attr, None)
            if callable(method):
                return method()
        if isinstance(obj, (set, frozenset, tuple)):
            return list(obj)
        return str(obj)

    result: dict[str, Any] = json.loads(json.dumps(value, default=convert))
    return result
