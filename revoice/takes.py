"""Takes and QC numbers of a rendered line, read from its report and the sidecars beside its WAV.

No widgets here. A line rendered with several takes is a :class:`RenderedLine`
for the placed take whose ``report.takes`` lists every take (file, score,
flags, :class:`~revoice.engine.records.TakeQc` metrics); each take's own sidecar
``<speaker>_<line>_t<k>.json`` lies beside its WAV. Swapping takes re-reads
those sidecars and asks :func:`revoice.engine.render.choose_take` for the
editor's pick; nothing is re-rendered.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from revoice.engine.model import DialogueLine, RenderedLine
from revoice.engine.records import TakeQc
from revoice.engine.render import choose_take, take_score, wav_name
from revoice.engine.sidecars import load_finished


@dataclass(frozen=True)
class TakeInfo:
    """One take of a line as its placed take's report lists it."""

    take: int
    file: str
    score: float
    flags: tuple[str, ...]
    qc: TakeQc | None
    """The take's QC metrics, or None when it was rendered with QC off."""

    @property
    def metered(self) -> bool:
        return self.qc is not None

    @property
    def error(self) -> float | None:
        """Word error rate (character error rate for zh/ja), 0 = every word heard right."""
        return qc_error(self.qc)

    @property
    def error_name(self) -> str:
        return qc_error_name(self.qc)

    @property
    def similarity(self) -> float | None:
        return qc_similarity(self.qc)

    @property
    def mos(self) -> float | None:
        return _number(self.qc.mos) if self.qc is not None else None

    @property
    def heard(self) -> str | None:
        text = self.qc.asr_text if self.qc is not None else None
        return text if isinstance(text, str) else None


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def qc_of(render: RenderedLine | None) -> TakeQc | None:
    """The placed take's QC metrics (None: not metered)."""
    return render.report.qc if render is not None else None


def qc_error_name(qc: TakeQc | None) -> str:
    return "CER" if qc is not None and qc.error_metric == "cer" else "WER"


def qc_error(qc: TakeQc | None) -> float | None:
    """WER, or CER for the languages scored by characters."""
    return qc.error if qc is not None else None


def qc_similarity(qc: TakeQc | None) -> float | None:
    """Cosine to the voice the take was rendered with (what QC judges), else to the original."""
    if qc is None:
        return None
    voice = _number(qc.voice_similarity)
    return voice if voice is not None else _number(qc.similarity)


def qc_similarity_note(qc: TakeQc | None) -> str:
    """Both similarities, spelled out (for tooltips)."""
    if qc is None:
        return ""
    parts = []
    voice = _number(qc.voice_similarity)
    if voice is not None:
        floor = _number(qc.similarity_floor)
        parts.append(f"{voice:.2f} to the voice's own profile" + (f" (floor {floor:.2f})" if floor is not None else ""))
    original = _number(qc.similarity)
    if original is not None and qc.similarity_to == "original":
        parts.append(f"{original:.2f} to the original take (another speaker for a stock voice)")
    return "; ".join(parts)


def takes_of(render: RenderedLine | None) -> list[TakeInfo]:
    """Every take of the line (one entry when it was rendered with a single take)."""
    if render is None:
        return []
    listing = render.report.takes
    if not listing:
        return [TakeInfo(render.take, render.path.name, take_score(render), tuple(render.flags), qc_of(render))]
    takes = [TakeInfo(take=entry.take, file=entry.file or "", score=_number(entry.score) or 0.0,
                      flags=entry.flags, qc=entry.qc)
             for entry in listing if isinstance(entry.take, int) and not isinstance(entry.take, bool)]
    return sorted(takes, key=lambda info: info.take)


def best_take(takes: list[TakeInfo]) -> int | None:
    """The take :func:`revoice.engine.render.choose_take` places without an editor's pick."""
    if not takes:
        return None
    return max(takes, key=lambda info: (info.score, -info.take)).take


def chosen_by_editor(render: RenderedLine | None) -> bool:
    return render is not None and render.report.chosen_by == "editor"


def line_takes(media_dir: Path, line: DialogueLine, count: int,
               key: Callable[[int], str] | None = None) -> list[RenderedLine] | None:
    """Takes 1..``count`` of ``line`` from their sidecars (``key(take)`` must match when given).

    None if any is missing or its WAV is not the one its sidecar describes (cut short, damaged).
    """
    found: list[RenderedLine] = []
    for take in range(1, count + 1):
        render = load_finished(media_dir / wav_name(line, take), key(take) if key is not None else None)
        if render is None:
            return None
        found.append(render)
    return found


def placed_take(media_dir: Path, line: DialogueLine, count: int, prefer: int | None = None,
                key: Callable[[int], str] | None = None) -> RenderedLine | None:
    """The take to place (the editor's ``prefer`` when it exists), listing all takes; None if one is missing."""
    candidates = line_takes(media_dir, line, count, key)
    return choose_take(candidates, prefer=prefer) if candidates else None


def with_take(render: RenderedLine, take: int | None) -> RenderedLine | None:
    """``render``'s line placed with ``take`` (None: the best-scoring), from the sidecars beside it.

    None when a listed take's sidecar is gone, its WAV is not the one the sidecar describes, or
    ``take`` is not among them.
    """
    listing = takes_of(render)
    if len(listing) <= 1:
        return render if take in (None, render.take) else None
    candidates: list[RenderedLine] = []
    for info in listing:
        found = render if info.take == render.take and info.file == render.path.name else None
        found = found or load_finished(render.path.with_name(info.file))
        if found is None or found.line_id != render.line_id or found.take != info.take:
            return None
        candidates.append(_without_listing(found))
    if take is not None and take not in {c.take for c in candidates}:
        return None
    return choose_take(candidates, prefer=take)


def _without_listing(render: RenderedLine) -> RenderedLine:
    if render.report.takes is None:
        return render
    report = dataclasses.replace(render.report, takes=None, chosen_take=None, chosen_by=None)
    return dataclasses.replace(render, report=report)
