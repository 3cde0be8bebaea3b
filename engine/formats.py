"""The version of every format Revoice writes to disk, in one place.

Each number is written into (or hashed into the key of) the files it names;
bump it when a change makes old files wrong, never for a change that only
adds an optional field (readers ignore keys they do not know and fill the
ones they miss). Nothing else in the code spells these numbers.
"""

from __future__ import annotations

RENDER_FORMAT_VERSION = 2
"""Render sidecars (``<speaker>_<line>_t<take>.json`` beside each WAV): part of the render key, so a
bump re-renders every line. Bump when a change alters rendered audio (revoice.engine.render).
2: seeds from the line's content (speaker, text, record range), not its id; the speaker joins the key."""

WATERMARK_VERSION = 2
"""The inaudible mark on every rendered take (revoice.engine.dsp.watermark), written into each WAV's
provenance as ``revoice-ss/<version>``. Part of the render key while ``RenderSettings.watermark`` is
on, so a bump (a change to how the mark is made; the detector still finds older versions) renders every
marked take again. 2: 10 dB under the speech above 6 kHz (was 18), never ahead of an onset."""

PROFILE_FORMAT_VERSION = 1
"""Voice profiles (``<NAME>.voice.json``, revoice.engine.characters.profile): a profile of another
version is refused with a message that says to rebuild it."""

TINT_VERSION = 2
"""The tint DSP (revoice.engine.characters.tint): part of a profile voice's render key, so a change
to how :func:`apply_tint` sounds for the same parameters re-renders the lines it spoke, although the
profile files are unchanged. 2: PSOLA pitch shift, formant warp on voiced frames only."""

PANEL_STATE_VERSION = 1
"""The panel's own state beside the work files (``<stem>_panel.json``: text edits, take picks)."""

CLIP_METADATA_KEY = "revoice"
"""The key of Revoice's record in each revoiced clip's OTIO metadata
(revoice.otio_bridge.clip_metadata). That record carries no version number: it
has been written unversioned since the first release, and readers take what
they find (unknown keys are kept, missing ones read as None)."""

JOB_FORMAT_VERSION = 1
"""Job files (``revoice run --job reel.yaml``, revoice.jobfile): written as ``revoice_job: 1``; a file of a
newer version is refused with a message naming it."""
