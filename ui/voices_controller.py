"""What the panel does with the characters' voices: the Characters and Voices docks, strength and consent.

:class:`VoicesController` is the voice side of the window's behaviour over
:class:`~revoice.ui.window_layout.WindowLayout`: which voice speaks each
character in the next run (:mod:`revoice.ui.voices`, from the voice profiles on
disk and the settings), the docks that show it (:mod:`revoice.ui.docks`), the
tint strength and the actor's consent saved into a character's profile file, and
the consent flag a render carries while its profile's consent is unknown.
:class:`~revoice.ui.controller.PanelController` builds on it with the open
project, the render flow, takes and export.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import replace

from PyQt6.QtWidgets import QWidget
from revoice.engine.characters.character_backend import consent_checked
from revoice.engine.characters.profile import (
    Consent,
    ProfileError,
    ProfileStore,
    VoiceProfile,
)
from revoice.engine.model import RenderedLine
from revoice.engine.voices.base import VoiceBackend
from revoice.ui.dialogs import ConsentDialog
from revoice.ui.project import Project
from revoice.ui.settings import PanelSettings, save_settings
from revoice.ui.voices import (
    STOCK,
    BackendInfo,
    MatchingSetup,
    VoiceEntry,
    licences_of,
    save_consent,
    save_strength,
    voice_entries,
    voices_header,
)
from revoice.ui.window_layout import WindowLayout
from revoice.ui.worker import RenderController

from revoice.context import EngineContext
from revoice.report.voices import BackendTerms


class VoicesController(WindowLayout):
    """Who speaks each character, shown in the docks; the tint strength and consent saved into their profiles.

    The open project, the settings, the engine context and the render
    controller are the subclass's (:class:`~revoice.ui.controller.PanelController`
    sets them in its ``__init__``), as are :meth:`_refresh_renders` and
    :meth:`_update_actions`, which a saved profile change calls.
    """

    project: Project | None
    settings: PanelSettings
    context: EngineContext
    controller: RenderController

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._backend_info: BackendInfo | None = None
        self._matching = MatchingSetup()
        self.voice_entries: list[VoiceEntry] = []
        """What each character speaks with in the next run (the Voices dock shows them)."""
        self.profile_statuses: dict[str, str] = {}
        """The last run's profile status by character ("built", "reused", ...)."""
        self._licences: dict[str, BackendTerms] | None = None
        self.voices.strengthChanged.connect(lambda name, strength: self.set_strength(name, strength))
        self.voices.consentRequested.connect(lambda name: self.edit_consent(name))
        self.voices.voiceChosen.connect(lambda name, voice: self.choose_voice(name, voice))

    def _refresh_renders(self) -> None:
        """The lines' statuses from the renders on disk (the subclass's)."""
        raise NotImplementedError

    def _update_actions(self) -> None:
        """Enable what applies now (the subclass's)."""
        raise NotImplementedError

    # ================================================================================================ the voice
    @property
    def backend(self) -> VoiceBackend | None:
        """The loaded voice (the context's); None until the first run loads one."""
        return self.context.voice

    @property
    def matching(self) -> MatchingSetup:
        """What voice matching may use (tests and scripts narrow it; default: everything available)."""
        return self._matching

    @matching.setter
    def matching(self, setup: MatchingSetup) -> None:
        self._matching = setup
        self.context.match_backends = tuple(setup.backends) if setup.backends is not None else None
        self._licences = None

    def _forget_backend(self) -> None:
        """Ask the backend and the licences again next time (a voice was loaded, or the context is new)."""
        self._backend_info = None
        self._licences = None

    def backend_info(self) -> BackendInfo:
        """Name, licence and voices of the loaded backend, or of the one a run would load."""
        if self._backend_info is None:
            language = self.project.lines[0].language if self.project and self.project.lines else "en"
            self._backend_info = (BackendInfo.of(self.backend) if self.backend is not None
                                  else BackendInfo.probe(language=language, device=self.settings.device))
        return self._backend_info

    def _job_voices(self) -> dict[str, str]:
        """The per-speaker voices from the settings that the backend offers."""
        known = {voice.voice_id for voice in self.backend_info().voices}
        return {speaker: voice for speaker, voice in self.settings.speaker_voices.items() if voice in known}

    # ================================================================================================ characters
    def current_voices(self) -> list[VoiceEntry]:
        """What each character speaks with in the next run, from the voice profiles on disk and the settings."""
        project = self.project
        if project is None:
            return []
        info = self.backend_info()
        if self._licences is None:
            loaded = [b for b in (self.backend, *(self._matching.backends or ())) if b is not None]
            self._licences = licences_of(loaded)
        try:
            store: ProfileStore | None = ProfileStore(project.voices_dir)
        except ProfileError:
            store = None
        speakers = set(project.speakers)
        names = [name for name in self.profile_statuses if name not in speakers]
        self.voice_entries = voice_entries(
            project.lines, store, profiles_on=self.settings.voice_profiles, stock_voices=self._job_voices(),
            default_voice=info.default_voice, default_backend=info.name, licences=self._licences,
            statuses=self.profile_statuses, extra_names=names, voices=info.voices)
        return self.voice_entries

    def _refresh_characters(self) -> None:
        if self.project is None:
            return
        info = self.backend_info()
        counts = Counter(line.speaker for line in self.project.lines)
        label = f"{info.display_name} ({info.name})" if info.name else ""
        entries = self.current_voices()
        voices = {**self._job_voices(), **{e.name: e.short for e in entries}}
        self.characters.show_characters(dict(counts), voices, info.default_voice, label,
                                        info.licence if info.name else info.problem)
        self.voices.show_entries(entries, voices_header(entries, self.project.lines,
                                                        profiles_on=self.settings.voice_profiles))
        self.voices.set_editable(not self.controller.running)

    def choose_voice(self, name: str, voice_id: str) -> bool:
        """Give ``name`` the stock voice ``voice_id`` ("" : automatic, a profile or a distinct stock voice).

        Saved in the settings (as the Settings dialog's per-speaker voice); the lines whose voice
        changes become pending: this character's, and another's when it gives up its voice to keep
        the voices distinct. Refused while a render runs, or for a voice the backend does not offer.
        """
        if self.project is None or self.controller.running:
            return False
        if voice_id and voice_id not in {v.voice_id for v in self.backend_info().voices}:
            self.show_error("Cannot choose that voice", f"{name}: the voice backend has no voice {voice_id!r}")
            return False
        voices = dict(self.settings.speaker_voices)
        if voice_id:
            voices[name] = voice_id
        else:
            voices.pop(name, None)
        if voices == self.settings.speaker_voices:
            return True
        self.settings = replace(self.settings, speaker_voices=voices)
        save_settings(self.settings)
        self._refresh_characters()
        self._refresh_renders()
        self._update_actions()
        entry = next((e for e in self.voice_entries if e.name == name), None)
        spoken = entry.base_voice if entry is not None else voice_id
        self._set_status(f"{name}: {'voice ' + spoken if voice_id else 'automatic voice (' + spoken + ')'}; "
                         "revoice their lines to hear it")
        return True

    # ================================================================================================ profiles
    def set_strength(self, name: str, strength: float) -> bool:
        """Save ``strength`` (0..1) into ``name``'s voice profile, atomically; their lines become pending."""
        profile = self._change_profile(name, "strength", lambda store: save_strength(store, name, strength))
        if profile is not None:
            self._set_status(f"{name}: tint strength {profile.strength:.2f} saved in the voice profile; "
                             "revoice their lines to hear it")
        return profile is not None

    def set_consent(self, name: str, consent: Consent) -> bool:
        """Record ``consent`` in ``name``'s voice profile, atomically; the dock, flags and statuses follow."""
        saved = self._change_profile(name, "consent", lambda store: save_consent(store, name, consent), cards=True)
        if saved is not None:
            self._set_status(f"{name}: consent {consent.words} saved in the voice profile"
                             + (" — a stock voice speaks the character" if consent.status == "denied" else ""))
        return saved is not None

    def _change_profile(self, name: str, what: str, change: Callable[[ProfileStore], VoiceProfile], *,
                        cards: bool = False) -> VoiceProfile | None:
        """Save a change into ``name``'s profile file (None: refused while running, or failed with a dialog).

        The renders follow (a new key or voice makes lines pending); ``cards`` rebuilds the Voices dock too.
        """
        if self.project is None or self.controller.running:
            return None
        try:
            profile = change(ProfileStore(self.project.voices_dir))
        except (ProfileError, OSError) as exc:
            self.show_error(f"Cannot save the {what}", f"{name}: {exc}")
            return None
        if cards:
            self._refresh_characters()
        self._refresh_renders()
        self._refresh_preview_if(self.preview.row.line_id if self.preview.row else "")
        self._update_actions()
        return profile

    # ================================================================================================ consent
    def _consent_checked(self, render: RenderedLine) -> RenderedLine:
        """``render`` flagged while its voice profile's consent is unknown (as the profiles say now)."""
        return consent_checked([render], [e.profile for e in self.voice_entries if e.profile is not None])[0]

    def consent_dialog(self, name: str) -> ConsentDialog:
        """The consent dialog of ``name``'s voice profile, filled from its file (not shown yet)."""
        entry = next((e for e in self.voice_entries if e.name == name), None)
        record = entry.consent_record if entry is not None else None
        words = entry.kind_words if entry is not None and entry.kind != STOCK else ""
        return ConsentDialog(name, record or Consent(), voice_words=words, parent=self)

    def edit_consent(self, name: str) -> bool:
        """Show ``name``'s consent dialog (the Voices dock's Consent… button); saved when accepted."""
        dialog = self.consent_dialog(name)
        try:
            return dialog.exec() == ConsentDialog.DialogCode.Accepted and self.set_consent(name,
                                                                                          dialog.result_consent())
        finally:
            dialog.deleteLater()
