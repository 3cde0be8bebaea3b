"""Group lines by who speaks them: speaker embeddings of their original audio, clustered.

For lines without a speaker name (or when the editor asks), each line's
original speech is embedded (d-vector, engine.speaker) and the lines
are clustered agglomeratively on cosine distance (average linkage). Two
lines join when their clusters' mean cosine similarity is at least
``threshold`` (calibration: same speaker 0.81 mean, different 0.32 mean,
so 0.55 sits between). Lines with under ``min_seconds`` of speech give
noisy embeddings: they do not shape the clusters and join the nearest one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from revoice.engine.characters.references import line_piece
from revoice.engine.model import DialogueLine
from revoice.engine.speaker import SpeakerEmbedder, cosine

GROUP_THRESHOLD = 0.55
"""Cosine similarity at which two clusters of lines are taken as one speaker."""
MIN_GROUP_SECONDS = 1.0
"""Lines with less speech than this (s) are assigned after clustering, not clustered."""


@dataclass(frozen=True)
class SpeakerGroup:
    """One proposed character: its name, its lines and how alike they sound (mean cosine to the centroid)."""

    name: str
    line_ids: tuple[str, ...]
    coherence: float
    speech_seconds: float


@dataclass(frozen=True)
class Grouping:
    """Proposed characters, and the lines that could not be grouped (no readable original speech)."""

    groups: tuple[SpeakerGroup, ...]
    ungrouped: tuple[str, ...]

    def speaker_of(self) -> dict[str, str]:
        """Line id -> proposed speaker name."""
        return {line_id: group.name for group in self.groups for line_id in group.line_ids}


def group_lines(lines: Sequence[DialogueLine], *, embedder: SpeakerEmbedder, threshold: float = GROUP_THRESHOLD,
                min_seconds: float = MIN_GROUP_SECONDS, prefix: str = "SPEAKER",
                taken: Sequence[str] = ()) -> Grouping:
    """Cluster ``lines`` by the voice of their original audio; groups named ``SPEAKER 1``, ``SPEAKER 2``...

    Groups are numbered in order of their first line; names in ``taken`` are skipped.
    """
    if not -1.0 < threshold < 1.0:
        raise ValueError(f"threshold must be a cosine between -1 and 1, got {threshold}")
    vectors: dict[str, np.ndarray] = {}
    seconds: dict[str, float] = {}
    ungrouped: list[str] = []
    for line in lines:
        piece = line_piece(line, min_seconds=0.1)
        if piece is None:
            ungrouped.append(line.line_id)
            continue
        vectors[line.line_id] = np.asarray(embedder.embed(piece.audio, piece.sample_rate), dtype=np.float64)
        seconds[line.line_id] = piece.seconds
    ids = [line.line_id for line in lines if line.line_id in vectors]
    core = [i for i in ids if seconds[i] >= min_seconds] or ids
    labels = _cluster([vectors[i] for i in core], threshold)
    clusters: dict[int, list[str]] = {}
    for line_id, label in zip(core, labels, strict=True):
        clusters.setdefault(label, []).append(line_id)
    centroids = {k: _unit(np.mean([vectors[i] for i in members], axis=0)) for k, members in clusters.items()}
    for line_id in ids:
        if line_id not in core:
            best = max(centroids, key=lambda k: cosine(vectors[line_id], centroids[k]))
            clusters[best].append(line_id)
    order = {line_id: n for n, line_id in enumerate(ids)}
    ranked = sorted(clusters.values(), key=lambda members: min(order[i] for i in members))
    groups: list[SpeakerGroup] = []
    number = 0
    for members in ranked:
        number += 1
        while f"{prefix} {number}" in taken:
            number += 1
        members = sorted(members, key=lambda i: order[i])
        centre = _unit(np.mean([vectors[i] for i in members], axis=0))
        groups.append(SpeakerGroup(
            name=f"{prefix} {number}", line_ids=tuple(members),
            coherence=round(float(np.mean([cosine(vectors[i], centre) for i in members])), 3),
            speech_seconds=round(sum(seconds[i] for i in members), 2)))
    return Grouping(groups=tuple(groups), ungrouped=tuple(ungrouped))


def _cluster(vectors: Sequence[np.ndarray], threshold: float) -> list[int]:
    """Average-linkage agglomerative labels on cosine distance, cut at ``1 - threshold``."""
    if len(vectors) < 2:
        return [0] * len(vectors)
    from scipy.cluster.hierarchy import fcluster, linkage

    tree = linkage(np.stack(vectors), method="average", metric="cosine")
    return [int(label) for label in fcluster(tree, t=1.0 - threshold, criterion="distance")]


def _unit(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector
