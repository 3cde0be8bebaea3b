"""What a session loads once and reuses: voices, the speaker encoder and the QC meters.

Everything loads lazily, on first need, on the context's device. A long-lived
front end (the panel, the service) keeps one :class:`EngineContext` between
runs, so a second run loads nothing; the CLI makes one per run. Nothing here
is global: two contexts share nothing.
"""

from __future__ import annotations

import importlib
import importlib.util
import threading
from collections.abc import Iterable, MutableMapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from revoice.engine.render import Assessor
from revoice.engine.voices.base import AudioArray, BackendOptions, BackendUnavailable, VoiceBackend
from revoice.options import JobError

RENDER_MODULES = (
    "parselmouth",
    "scipy.signal",
    "revoice.engine.dsp.pauses",
    "revoice.engine.dsp.resample",
    "revoice.engine.dsp.stretch",
    "revoice.engine.emotion.prosody",
    "revoice.engine.emotion.transfer",
    "revoice.engine.text.directions",
)
"""Modules a line's render imports lazily (scipy, parselmouth), which :meth:`EngineContext.warm` imports ahead."""

if TYPE_CHECKING:
    from revoice.casting import BackendPool
    from revoice.engine.characters.clone import Transcriber
    from revoice.engine.characters.profile import VoiceProfile
    from revoice.engine.qc.asr import AsrMeter
    from revoice.engine.qc.assess import LineQc
    from revoice.engine.qc.mos import DistillMosMeter
    from revoice.engine.speaker import SpeakerEmbedder


class EngineContext:
    """Loaded models shared by the runs of one front end.

    ``voice``: a loaded backend that speaks every line (the panel's, a test's);
    without it each language gets the best fitting backend from the registry.
    ``match_backends``: the only backends voice matching may use (None: every
    available one, loaded when needed and kept in :attr:`backends`).
    ``embedder``: a loaded speaker encoder; ``assessor``: loaded QC meters
    (a :class:`~revoice.engine.qc.assess.LineQc` also lends its Whisper and
    DistillMOS to the profile vetoes).
    """

    def __init__(self, *, device: str = "cpu", voice: VoiceBackend | None = None,
                 match_backends: Sequence[VoiceBackend] | None = None, embedder: SpeakerEmbedder | None = None,
                 assessor: Assessor | None = None, cache_dir: Path | None = None) -> None:
        self.device = device
        self.cache_dir = cache_dir if cache_dir is not None else Path.home() / ".cache" / "revoice"
        """Where what outlives a run and a job is kept: the voice bank (:meth:`voice_bank`)."""
        self._voice_bank: MutableMapping[Any, Any] | None = None
        self.converters: dict[Any, Any] = {}
        """The runs' voice converters (lazy), by name, load options and settings; later runs reuse them."""
        self.voice = voice
        self.match_backends = tuple(match_backends) if match_backends is not None else None
        self.backends: dict[str, VoiceBackend] = {}
        """Backends voice matching loaded, by name; later runs reuse them."""
        self.loaded_voices: dict[tuple[str, BackendOptions], VoiceBackend] = {}
        """The runs' voices, by backend name and load options; later runs reuse them."""
        self._loading = threading.Lock()
        """Held while voices load: a service's jobs share one context."""
        self.embedder = embedder
        self.assessor = assessor
        self.loaded_asr: AsrMeter | None = None
        self.loaded_mos: DistillMosMeter | None = None

    # --- voices -------------------------------------------------------------------------------------------------

    def voices_for(self, languages: Iterable[str], *, options: BackendOptions,
                   name: str | None = None) -> dict[str, VoiceBackend]:
        """One backend per language: :attr:`voice` when set, else the registry's choice (``name`` forces one).

        The registry's backends are :class:`~revoice.engine.voices.registry.LazyBackend`: the model loads
        on the first line that is really synthesized, so a run whose lines are all rendered loads none.
        A backend chosen here is kept (by name and load options) for the next run, loaded or not.
        Raises :class:`JobError` (exit 3) with every backend's reason when none fits, or naming :attr:`voice`
        when ``options.commercial`` and its weights do not allow commercial use.
        """
        from revoice.engine.voices.registry import LazyBackend, choose_backend, commercial_refusal, discover_backends

        if self.voice is not None:
            refused = commercial_refusal(self.voice.spec) if options.commercial else None
            if refused:
                raise JobError(f"No voice backend fits (commercial use): {self.voice.spec.name}: {refused}", exit_code=3)
            return {language: self.voice for language in sorted(set(languages))}
        chosen: dict[str, VoiceBackend] = {}
        with self._loading:
            specs = discover_backends()
            try:
                for language in sorted(set(languages)):
                    spec = choose_backend(specs, language=language, options=options, name=name)
                    key = (spec.name, options)
                    if key not in self.loaded_voices:
                        self.loaded_voices[key] = LazyBackend(spec, options)
                    chosen[language] = self.loaded_voices[key]
            except BackendUnavailable as exc:
                raise JobError(str(exc), exit_code=3) from None
        return chosen

    def backend_pool(self, bases: Iterable[VoiceBackend], *, options: BackendOptions,
                     match_voices: Sequence[str] = ()) -> BackendPool:
        """The backends voice matching may use: the run's voices, then :attr:`match_backends` or the kept ones."""
        from revoice.casting import BackendPool

        offered = list(self.match_backends) if self.match_backends is not None else list(self.backends.values())
        offered = [b for b in offered if b.spec.commercial_use or not options.commercial]  # --commercial
        return BackendPool(loaded=[*bases, *offered], options=options, fixed=self.match_backends is not None,
                           match_voices=match_voices)

    def keep(self, pool: BackendPool) -> None:
        """Keep what voice matching loaded for the next run."""
        self.backends.update(pool.loaded)

    def warm(self) -> list[str]:
        """Load every voice the runs chose but have not loaded yet (their lines were all on disk); names loaded.

        A long-lived front end calls this after a run, in its worker thread, so that the editor's next
        one-line edit costs one synthesis and not a model load too (the service does after every job).
        A backend that cannot load is left lazy: the run that needs it reports why.
        """
        from revoice.engine.voices.registry import LazyBackend

        for module in RENDER_MODULES:  # a render imports these on first use: 0.5-1.5 s of the first edit
            try:
                importlib.import_module(module)
            except ImportError:  # an optional meter's package: the run that needs it says so
                continue
        warmed: list[str] = []
        for converter in self.converters.values():  # LazyConverter: loads on first use, like the voices
            if not converter.is_loaded:
                try:
                    converter.loaded()
                except BackendUnavailable:  # ConverterUnavailable is one
                    continue
                warmed.append(converter.spec.name)
        for backend in [*self.loaded_voices.values(), *self.backends.values()]:
            if isinstance(backend, LazyBackend) and not backend.is_loaded:
                try:
                    backend.loaded()
                except BackendUnavailable:
                    continue
                warmed.append(backend.spec.name)
        return warmed

    def voice_bank(self) -> MutableMapping[Any, Any]:
        """Base-voice renders and scores voice matching reuses across characters, runs and jobs (made on first use).

        A :class:`~revoice.engine.characters.voice_bank.VoiceBank` in ``cache_dir/voice_bank``, salted with the
        models' versions: none of it depends on a character, so only the first character ever matched in a
        language pays for its base voices' syntheses.
        """
        if self._voice_bank is None:
            from revoice.engine.characters.voice_bank import VoiceBank, models_salt

            self._voice_bank = VoiceBank(self.cache_dir / "voice_bank", salt=models_salt())
        return self._voice_bank

    # --- meters -------------------------------------------------------------------------------------------------

    def speaker_embedder(self) -> SpeakerEmbedder:
        """The d-vector speaker encoder (profiles, grouping, QC), made on first use."""
        if self.embedder is None:
            from revoice.engine.speaker import SpeakerSimilarity

            self.embedder = SpeakerSimilarity(device=self.device, threads=1)
        return self.embedder

    def _line_qc(self) -> LineQc | None:
        from revoice.engine.qc.assess import LineQc

        return self.assessor if isinstance(self.assessor, LineQc) else None

    def transcriber(self) -> Transcriber:
        """Speech recognition for clone prompts and the intelligibility veto (Whisper, loaded once)."""
        qc = self._line_qc()
        if qc is not None:
            meter = qc.asr
        else:
            if self.loaded_asr is None:
                from revoice.engine.qc.asr import AsrMeter

                self.loaded_asr = AsrMeter(device=self.device, threads=1)
            meter = self.loaded_asr
        return lambda audio, rate, language: meter.transcribe(audio, rate, language=language)

    def naturalness(self, audio: AudioArray, rate: int) -> float:
        """DistillMOS of ``audio`` at ``rate`` Hz (1-5), loaded once."""
        qc = self._line_qc()
        if qc is not None:
            return qc.mos.score(audio, rate)
        if self.loaded_mos is None:
            from revoice.engine.qc.mos import DistillMosMeter

            self.loaded_mos = DistillMosMeter(device=self.device, threads=1)
        return self.loaded_mos.score(audio, rate)

    @staticmethod
    def can_veto() -> tuple[bool, bool]:
        """Whether the naturalness (DistillMOS) and intelligibility (Whisper) vetoes are installed."""
        return (importlib.util.find_spec("distillmos") is not None,
                importlib.util.find_spec("faster_whisper") is not None)

    def qc(self, backends: Sequence[VoiceBackend], profiles: Sequence[VoiceProfile]) -> Assessor:
        """The QC meters for a run: the kept ones (told this run's ``profiles``), else new ones.

        New meters render stock voices' profiles with ``backends`` (no second copy
        loaded) and reuse the Whisper and DistillMOS the profile vetoes loaded.
        """
        from revoice.engine.qc.assess import LineQc

        if self.assessor is not None:
            given = self.assessor
            return given.with_profiles(profiles) if isinstance(given, LineQc) else given
        self.assessor = LineQc(device=self.device, backends=backends, profiles=profiles, asr=self.loaded_asr, mos=self.loaded_mos)
        return self.assessor
