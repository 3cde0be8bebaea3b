"""A stand-in voice backend for tests: a real ``BackendSpec``, its own factory, and a record of every request.

Subclasses say what it sounds like (:meth:`StandInVoice.sound`); ``calls`` lists the requests in order,
so a test can assert that nothing was synthesized, or what was asked.
"""

from __future__ import annotations

from collections.abc import Sequence

from revoice.engine.voices.base import BackendOptions, BackendSpec, Synthesis, SynthesisRequest, VoiceBackend, VoiceInfo


class StandInVoice:
    """A voice called ``name`` speaking ``languages`` with ``voices``, at ``sample_rate`` Hz.

    It has no model weights, so commercial use is allowed unless ``commercial`` is False (a stand-in for F5).
    """

    def __init__(self, name: str, *, languages: tuple[str, ...], voices: tuple[str, ...], sample_rate: int,
                 commercial: bool = True) -> None:
        self.calls: list[SynthesisRequest] = []
        self._voices = tuple(VoiceInfo(voice, languages) for voice in voices)
        self._spec = BackendSpec(name=name, display_name=name, languages=languages, sample_rate=sample_rate,
                                 native_duration_control=False, needs_gpu=False, licence="MIT", description="test",
                                 availability=lambda _o: None, factory=self._factory, commercial_use=commercial,
                                 commercial_note="test voice, no model weights" if commercial else
                                 "test voice standing in for non-commercial weights")

    def _factory(self, _options: BackendOptions) -> VoiceBackend:
        return self

    @property
    def spec(self) -> BackendSpec:
        return self._spec

    def voices(self) -> Sequence[VoiceInfo]:
        return self._voices

    def synthesize(self, request: SynthesisRequest) -> Synthesis:
        self.calls.append(request)
        return self.sound(request)

    def sound(self, request: SynthesisRequest) -> Synthesis:
        """What this voice says for ``request``."""
        raise NotImplementedError
