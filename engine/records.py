"""Typed records stored as JSON objects: a render's report (sidecars) and, through them, a clip's metadata.

:class:`JsonRecord` reads a record from exactly the JSON object a sidecar or
a clip's metadata holds and writes it back unchanged (unknown keys kept,
missing keys left out). The report records: :class:`RenderReport` (the fit,
sync and loudness numbers of one take, see revoice.engine.render), its
:class:`TakeQc` metrics, the :class:`TakeEntry` listing of every take and the
:class:`VoiceProfileUse` of a character's voice. Code reads their attributes;
``to_json()`` is the JSON. Nothing here imports OTIO or a model.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any, ClassVar, Self


@dataclass(frozen=True, kw_only=True)
class JsonRecord:
    """A frozen record stored as one JSON object (a sidecar's report, a clip's metadata).

    :meth:`from_json` reads the object and :meth:`to_json` writes it back with
    the same keys and values: keys a reader of this version does not know stay
    in ``extra``, and keys the object lacked (a partial or older writer) stay
    out again (``absent``). Fields named in ``_OMITTED_WHEN_NONE`` are written
    only when set. Code reads the typed attributes; the JSON is ``to_json()``.
    """

    absent: frozenset[str] = field(default=frozenset(), repr=False)
    """Fields the JSON this record was read from did not have; they are left out when it is written."""
    extra: Mapping[str, Any] = field(default_factory=dict, repr=False)
    """Keys this version does not know (a newer Revoice's), written back unchanged after the fields."""

    _DECODERS: ClassVar[Mapping[str, Callable[[Any], Any]]] = MappingProxyType({})
    """How a field's JSON value becomes its typed value (fields not listed: as they are)."""
    _OMITTED_WHEN_NONE: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        """The record's JSON keys, in the order they are written."""
        return tuple(f.name for f in fields(cls) if f.name not in ("absent", "extra"))

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | Self) -> Self:
        """The record held in ``data`` (a record of this class is returned as it is); TypeError if not a mapping."""
        if isinstance(data, cls):
            return data
        if not isinstance(data, Mapping):
            raise TypeError(f"{cls.__name__} is read from a JSON object, not {type(data).__name__}")
        names = cls.field_names()
        values: dict[str, Any] = {}
        for name in names:
            if name in data:
                decode = cls._DECODERS.get(name)
                values[name] = data[name] if decode is None else decode(data[name])
        absent = frozenset(n for n in names if n not in data and n not in cls._OMITTED_WHEN_NONE)
        extra = {str(key): value for key, value in data.items() if key not in names}
        return cls(**values, absent=absent, extra=extra)

    def to_json(self) -> dict[str, Any]:
        """The record as the JSON object it is stored as (lists for tuples, nested records as objects)."""
        out: dict[str, Any] = {}
        for name in self.field_names():
            value = getattr(self, name)
            if name in self.absent or (value is None and name in self._OMITTED_WHEN_NONE):
                continue
            out[name] = _json_value(value)
        out.update(self.extra)
        return out


def _json_value(value: Any) -> Any:
    if isinstance(value, JsonRecord):
        return value.to_json()
    if isinstance(value, tuple):
        return [_json_value(item) for item in value]
    return value


def json_strings(value: Any) -> tuple[str, ...]:
    """A JSON list of strings as a tuple (anything else: empty)."""
    return tuple(str(item) for item in value) if isinstance(value, (list, tuple)) else ()


def json_span(value: Any) -> tuple[int, int] | None:
    """A JSON ``[start, end]`` pair as a tuple (anything else: None)."""
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return (value[0], value[1])
    return None


def json_record(cls: type[JsonRecord]) -> Callable[[Any], Any]:
    """Decoder of a nested JSON object (or a ``cls`` record) as a ``cls`` record (anything else: None)."""
    return lambda value: cls.from_json(value) if isinstance(value, (Mapping, cls)) else None


def json_records(cls: type[JsonRecord]) -> Callable[[Any], Any]:
    """Decoder of a JSON list of objects (or ``cls`` records) as a tuple of ``cls`` records (anything else: None)."""
    def decode(value: Any) -> tuple[JsonRecord, ...] | None:
        if not isinstance(value, (list, tuple)):
            return None
        return tuple(cls.from_json(item) for item in value if isinstance(item, (Mapping, cls)))
    return decode


@dataclass(frozen=True, kw_only=True)
class VoiceProfileUse(JsonRecord):
    """Which character's voice profile spoke a line, and how (a report's ``voice_profile``).

    Written by the profile backend's ``voice_report`` hook
    (revoice.engine.characters.character_backend); None fields were not reported.
    """

    name: str | None = None
    """The character (the profile's name)."""
    kind: str | None = None
    """``"tint"`` (a stock voice moved toward the actor, not a clone), ``"clone"``, or ``"convert"`` (the tint's
    voice converted to the actor's reference timbre by :attr:`converter`)."""
    key: str | None = None
    """The profile's content key (its render-key part)."""
    strength: float | None = None
    """How much of the tint is applied, 0..1."""
    base_backend: str | None = None
    base_voice: str | None = None
    """The stock voice under the tint (or the cloning backend's voice)."""
    match_language: str | None = None
    """The language the tint was tuned for."""
    cross_lingual: bool | None = None
    """True when the line's language borrowed another language's tint."""
    similarity_base: float | None = None
    """Cosine (-1..1) of the base voice to the actor's reference, before the tint."""
    similarity_matched: float | None = None
    """Cosine (-1..1) after the tint."""
    consent: str | None = None
    """The actor's consent status (``"granted"``, ``"unknown"``, ``"denied"``)."""
    converter: str | None = None
    """Kind "convert": the voice converter's registry name (``openvoice``); absent for the other kinds."""

    _OMITTED_WHEN_NONE: ClassVar[frozenset[str]] = frozenset({"converter"})


@dataclass(frozen=True, kw_only=True)
class EmotionUse(JsonRecord):
    """How a line's emotion was rendered (a report's ``emotion``): what was asked, from where, and what moved.

    Written by the renderer (revoice.engine.emotion); None fields were not measured.
    """

    method: str | None = None
    """``original``, ``reference``, ``label`` or ``neutral`` (revoice.engine.emotion.labels)."""
    words: str | None = None
    """For people: ``angry 0.8 ("angrily, voice shaking")``, ``original take 100%``."""
    source: str | None = None
    """Where the request came from: ``default``, ``CLI``, ``subtitle tag``, ``marker``, ``job file``, ``panel``."""
    applied_by: str | None = None
    """``dsp`` (Revoice's prosody transfer / styling) or ``backend`` (the voice's own emotion control)."""
    f0_shift_semitones: float | None = None
    """Measured change of the median pitch against the voice's neutral reading (semitones)."""
    f0_range_factor: float | None = None
    """Measured factor on the pitch spread (1 unchanged)."""
    energy_db: float | None = None
    """Loudness change asked of the loudness stage (dB)."""
    contour_correlation: float | None = None
    """Pitch-contour correlation with the reference after alignment (methods original/reference)."""
    note: str | None = None
    """Why part of the request was not applied (no voiced speech, reference unreadable...)."""


@dataclass(frozen=True, kw_only=True)
class TakeQc(JsonRecord):
    """QC metrics of one take (a report's ``qc``), as revoice.engine.qc.assess.LineQc measures them.

    None: not measured (the meter was off, or the take is silent).
    """

    meters: tuple[str, ...] | None = None
    """The model-based meters that ran (``asr``, ``mos``, ``similarity``, ``ge2e``)."""
    speech_seconds: float | None = None
    """Speech the VAD hears in the take (s)."""
    speech_fraction: float | None = None
    """Heard speech / placed speech length, 0..1."""
    detected_span: tuple[int, int] | None = None
    """Where the VAD hears speech: (onset, offset) in samples from the WAV's start."""
    error_metric: str | None = None
    """``"wer"`` or ``"cer"`` (Mandarin, Japanese, Cantonese): which of the two scores intelligibility."""
    asr_text: str | None = None
    """What Whisper heard."""
    wer: float | None = None
    """Word error rate (edits / reference words) against the spoken text."""
    cer: float | None = None
    """Character error rate, for the languages scored by characters."""
    similarity: float | None = None
    """Cosine (-1..1) of d-vectors, to the original take when readable, else to the voice's profile."""
    voice_similarity: float | None = None
    """Cosine (-1..1) to the voice the take was rendered with (its profile, or the character's)."""
    similarity_to: str | None = None
    """What ``similarity`` compares with: ``"original"``, ``"voice profile"``, ``"character profile"``."""
    voice_similarity_to: str | None = None
    similarity_floor: float | None = None
    """The voice-similarity floor the take was judged against (cosine)."""
    similarity_ge2e: float | None = None
    """Resemblyzer GE2E second opinion on ``similarity`` (reported, never flagged); only with that meter."""
    voice_similarity_ge2e: float | None = None
    mos: float | None = None
    """DistillMOS predicted naturalness, 1..5."""
    loudness_lufs: float | None = None
    """Integrated loudness of the placed speech (LUFS)."""
    loudness_target_lufs: float | None = None
    true_peak_dbtp: float | None = None
    """True peak of the whole file, 4x oversampled (dBTP)."""
    sample_peak_dbfs: float | None = None
    clipped_samples: int | None = None
    """Samples in flat-topped runs."""
    length_error_samples: float | None = None
    """The renderer's sync numbers, copied: WAV length - slot (samples)."""
    onset_error_ms: float | None = None
    offset_error_ms: float | None = None
    stretch_ratio: float | None = None
    ratio: float | None = None
    flags: tuple[str, ...] = ()
    """One sentence per bound the take is beyond."""
    score: float | None = None
    """Higher is better; the renderer places the take with the highest (see engine.qc.scoring)."""
    qc_seconds: float | None = None
    """Wall time of metering the take (s)."""

    _DECODERS: ClassVar[Mapping[str, Callable[[Any], Any]]] = MappingProxyType({
        "meters": json_strings, "detected_span": json_span, "flags": json_strings})

    @property
    def error(self) -> float | None:
        """The intelligibility error the take is judged by: ``cer`` or ``wer`` as ``error_metric`` says."""
        value = self.cer if self.error_metric == "cer" else self.wer
        return _number(value)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


@dataclass(frozen=True, kw_only=True)
class TakeEntry(JsonRecord):
    """One take of a line as the placed take's report lists it (``report.takes``)."""

    take: int | None = None
    """Take number, from 1."""
    file: str | None = None
    """The take's WAV file name, beside the placed take's."""
    score: float | None = None
    """Its QC score (0 when not metered)."""
    flags: tuple[str, ...] = ()
    qc: TakeQc | None = None
    """Its QC metrics; None when rendered with QC off."""

    _DECODERS: ClassVar[Mapping[str, Callable[[Any], Any]]] = MappingProxyType({
        "flags": json_strings, "qc": json_record(TakeQc)})


@dataclass(frozen=True, kw_only=True)
class RenderReport(JsonRecord):
    """What the renderer measured for one take: fit, sync and loudness, then QC and the other takes.

    Sample counts are at the render's sample rate, from the start of the WAV.
    None: not in this report (a report from a partial or older writer; the
    renderer fills every field above ``voice_profile``, and writes the
    ``achieved_span`` and sync errors as None when the render is silent).
    """

    slot_samples: int | None = None
    """The slot's length: the WAV is exactly this long (samples)."""
    length_error_samples: int | None = None
    """WAV length - slot length (samples; always 0)."""
    speech_start: int | None = None
    """Where the placed speech starts (samples)."""
    speech_end: int | None = None
    target_span: tuple[int, int] | None = None
    """Where speech should be heard: (onset, offset) in samples."""
    target_from: str | None = None
    """``"original take"`` (the original line's speech) or ``"lead-in, natural rate"``."""
    achieved_span: tuple[int, int] | None = None
    """Where the VAD hears the placed speech (samples); None for a silent render."""
    onset_error_ms: float | None = None
    """Heard onset - target onset (ms)."""
    offset_error_ms: float | None = None
    pause_change_seconds: float | None = None
    """Pause time added (+) or removed (-) by the fitter (s)."""
    natural_seconds: float | None = None
    """The speech's length at the voice's natural rate (s)."""
    speech_seconds: float | None = None
    """The placed speech's length (s)."""
    ratio: float | None = None
    """Placed / natural speech length."""
    duration_scale: float | None = None
    """The rate asked of the voice (1.0 natural, < 1 faster)."""
    stretch_ratio: float | None = None
    """The residual time stretch after the voice's own rate control (1.0 none)."""
    syntheses: int | None = None
    """How many times the voice spoke the line while fitting."""
    loudness_target_lufs: float | None = None
    loudness_note: str | None = None
    """The loudness preset, or how the original line's loudness was matched."""
    loudness_lufs: float | None = None
    """Integrated loudness of the placed speech (LUFS)."""
    true_peak_dbtp: float | None = None
    """True peak after the limiter, 4x oversampled (dBTP)."""
    gain_db: float | None = None
    limited: bool | None = None
    """Whether the true-peak limiter acted."""
    seed: int | None = None
    """The line's seed (from the render settings' seed, the line and the take)."""
    render_seconds: float | None = None
    """Wall time of the render (s)."""
    rtf: float | None = None
    """Real-time factor: render seconds / speech seconds."""
    voice_profile: VoiceProfileUse | None = None
    """The character's voice profile that spoke the line; None for a stock voice."""
    emotion: EmotionUse | None = None
    """How the line's emotion was rendered; None for renders from before emotion existed."""
    qc: TakeQc | None = None
    """QC metrics of this take; None when rendered with QC off."""
    takes: tuple[TakeEntry, ...] | None = None
    """Every take of the line (on the placed take of a line rendered with several)."""
    chosen_take: int | None = None
    chosen_by: str | None = None
    """``"score"`` (the best QC score) or ``"editor"`` (picked in the panel)."""

    _DECODERS: ClassVar[Mapping[str, Callable[[Any], Any]]] = MappingProxyType({
        "target_span": json_span, "achieved_span": json_span, "voice_profile": json_record(VoiceProfileUse),
        "emotion": json_record(EmotionUse), "qc": json_record(TakeQc), "takes": json_records(TakeEntry)})
    _OMITTED_WHEN_NONE: ClassVar[frozenset[str]] = frozenset(
        {"voice_profile", "emotion", "qc", "takes", "chosen_take", "chosen_by"})

    @property
    def score(self) -> float:
        """The take's QC score (higher is better); 0 when not metered."""
        score = self.qc.score if self.qc is not None else None
        return float(score) if isinstance(score, (int, float)) else 0.0
