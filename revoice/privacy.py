"""No network at run time: the environment every entry point sets before any model library loads.

Revoice itself opens no connection, but libraries it loads can: onnxruntime's
official builds carry Microsoft's 1DS telemetry (native code, so Python's own
socket hooks never see it). On a run longer than about 10 s it looks up
``mobile.events.data.microsoft.com`` and, where that resolves, opens TCP 443.
``ORT_DISABLE_TELEMETRY=1`` set before onnxruntime initializes stops it;
``onnxruntime.disable_telemetry_events()`` does not (it only trims events, after
the uploader exists).

:func:`offline_environment` is called first thing by every entry point's ``main``
(``revoice`` and all its subcommands, so ``revoice serve`` as the Resolve script
and the Premiere panel start it; ``revoice-panel``; ``python -m bench``). A
script that uses :mod:`revoice.session` directly calls it once before loading a
voice. Nothing happens at import.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, MutableMapping
from types import MappingProxyType

OFFLINE_ENVIRONMENT: Mapping[str, str] = MappingProxyType({
    "ORT_DISABLE_TELEMETRY": "1",
    # onnxruntime (piper, kokoro, speaker encoder, DistillMOS): no 1DS telemetry uploader, events or device id
    "HF_HUB_OFFLINE": "1",
    # huggingface_hub (faster-whisper's QC model, the neural backends): local files only, no HEAD request
    # to check for a newer revision; a missing file is an error instead of a download
    "HF_HUB_DISABLE_TELEMETRY": "1",
    # huggingface_hub's usage pings (sent with downloads; off even if HF_HUB_OFFLINE is overridden later)
    "TRANSFORMERS_OFFLINE": "1",
    # transformers, pulled in by the F5-TTS, IndexTTS2 and CosyVoice backends; older versions read only this
    "DO_NOT_TRACK": "1",
    # the cross-tool convention (https://donottrack.sh): huggingface_hub reads it, so do plugins' libraries
    "RAY_USAGE_STATS_ENABLED": "0",
    # Ray (--executor ray) reports usage to usage-stats.ray.io by default; its cluster processes inherit this
    "RAY_USAGE_STATS_PROMPT_ENABLED": "0",
    # and no notice about that report on the console
})
"""Variables set by :func:`offline_environment` and why. They are read when each library first loads,
so they must be set before anything imports onnxruntime, huggingface_hub or transformers."""


def offline_environment(environ: MutableMapping[str, str] | None = None) -> dict[str, str]:
    """Set :data:`OFFLINE_ENVIRONMENT` in ``environ`` (default: this process's, inherited by its children).

    Values already there are overwritten: the promise is no network at run time,
    whatever the shell exported. Returns the variables set.
    """
    target = os.environ if environ is None else environ
    target.update(OFFLINE_ENVIRONMENT)
    return dict(OFFLINE_ENVIRONMENT)
