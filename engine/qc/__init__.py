"""Quality checks for revoiced speech: ASR intelligibility (WER/CER) and predicted MOS.

Importing this package loads no model: :class:`~revoice.engine.qc.asr.AsrMeter`,
:class:`~revoice.engine.qc.mos.DistillMosMeter` and :class:`~revoice.engine.qc.mos.DnsMosMeter`
load theirs on first use. The meters need the ``qc`` extra (faster-whisper,
the Whisper base packages, torch, distillmos, xls-r-sqa; speechmos + librosa for DNSMOS).
"""

from revoice.engine.qc.asr import AsrMeter, Transcript, Word, materialize_whisper_base
from revoice.engine.qc.mos import DistillMosMeter, DnsMosMeter
from revoice.engine.qc.text_norm import cer, normalize_text, wer

__all__ = [
    "AsrMeter",
    "DistillMosMeter",
    "DnsMosMeter",
    "Transcript",
    "Word",
    "cer",
    "materialize_whisper_base",
    "normalize_text",
    "wer",
]
