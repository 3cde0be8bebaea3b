"""Pause finding from alignments and pause resizing (exact lengths, limits, no clicks, voice untouched)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pytest
from revoice.engine.dsp.pauses import find_pauses, is_pause_label, pause_changes, resize_pauses
from revoice.engine.dsp.resample import resample
from revoice.engine.dsp.stretch import pause_spans
from revoice.engine.model import Segment

if TYPE_CHECKING:
    from revoice.engine.voices.piper_voice import PiperBackend

SR = 48000
SEG_RATE = 22050
HUM_AMPLITUDE = 10 ** (-50 / 20)
"""A 100 Hz hum in the gaps: a hard cut in it would step by up to twice this."""


def tone_gap_tone(gaps_s: tuple[float, ...] = (0.30, 0.16, 0.06), tone_s: float = 0.35,
                  edge_s: float = 0.1) -> tuple[np.ndarray, list[tuple[int, int]], list[Segment]]:
    """Tones separated by ``gaps_s`` of low hum, with silence at both ends.

    Returns the audio at 48 kHz, the true gaps (samples at 48 kHz) and segments
    at 22.05 kHz labelled like piper's (``^`` / ``$`` edges, ``,`` + `` `` per
    gap, ``a`` for tone), each gap label 8 ms too wide on both sides, as an
    alignment can be.
    """
    t = np.arange(int(round(tone_s * SR))) / SR
    tone = 0.5 * np.sin(2 * np.pi * 220 * t) * np.minimum(1, np.minimum(t, t[::-1]) / 0.01)
    pieces = [np.zeros(int(round(edge_s * SR)))]
    gaps = []
    position = len(pieces[0])
    for gap_s in gaps_s:
        pieces.append(tone)
        position += len(tone)
        n = int(round(gap_s * SR))
        pieces.append(HUM_AMPLITUDE * np.sin(2 * np.pi * 100 * (np.arange(n) + position) / SR))
        gaps.append((position, position + n))
        position += n
    pieces.append(tone)
    pieces.append(np.zeros(int(round(edge_s * SR))))
    audio = np.concatenate(pieces).astype(np.float32)

    def seg(sample: int) -> int:
        return int(round(sample * SEG_RATE / SR))

    slack = int(round(0.008 * SR))
    segments = [Segment("^", 0, seg(int(edge_s * SR)))]
    for start, end in gaps:
        middle = (start + end) // 2
        segments += [Segment("a", segments[-1].end, seg(start - slack)),
                     Segment(",", seg(start - slack), seg(middle)), Segment(" ", seg(middle), seg(end + slack))]
    segments += [Segment("a", segments[-1].end, seg(len(audio) - int(edge_s * SR))),
                 Segment("$", seg(len(audio) - int(edge_s * SR)), seg(len(audio)))]
    return audio, gaps, segments


def unchanged_outside(original: np.ndarray, out: np.ndarray, pauses: list[tuple[int, int]],
                      changes: list[int]) -> None:
    """Every sample outside the pauses is copied bit-exactly (shifted by the changes before it)."""
    shift = 0
    position = 0
    for (start, end), change in zip(pauses, changes, strict=True):
        np.testing.assert_array_equal(out[position + shift : start + shift], original[position:start])
        position = end
        shift += change
    np.testing.assert_array_equal(out[position + shift :], original[position:])


def max_jump_in_pauses(out: np.ndarray, pauses: list[tuple[int, int]], changes: list[int]) -> float:
    """Largest sample-to-sample step inside the resized pauses of ``out``."""
    shift = 0
    worst = 0.0
    for (start, end), change in zip(pauses, changes, strict=True):
        region = out[start + shift : end + shift + change].astype(np.float64)
        worst = max(worst, float(np.max(np.abs(np.diff(region)))))
        shift += change
    return worst


def test_pause_labels() -> None:
    assert all(is_pause_label(label) for label in (" ", ",", ".", "?", "!", ";", "^", "$", "…", ", "))
    assert not any(is_pause_label(label) for label in ("a", "ˈ", "ː", "ɛ", "ʃ", "t"))


def test_find_pauses_tightens_alignment_to_the_quiet_part() -> None:
    audio, gaps, segments = tone_gap_tone()
    pauses = find_pauses(audio, SR, segments, segment_rate=SEG_RATE)
    assert len(pauses) == len(gaps)
    for (start, end), (gap_start, gap_end) in zip(pauses, gaps, strict=True):
        # inside the 8 ms-too-wide labels, only the hum counts; 5 ms window + the tone's 10 ms fade
        assert gap_start - 0.006 * SR <= start <= gap_start + 0.001 * SR
        assert gap_end - 0.001 * SR <= end <= gap_end + 0.006 * SR
        assert np.max(np.abs(audio[start:end])) < 0.02  # nothing loud inside a pause


def test_find_pauses_skips_edges_voiced_gaps_and_short_ones() -> None:
    audio, gaps, segments = tone_gap_tone(gaps_s=(0.2, 0.03))
    pauses = find_pauses(audio, SR, segments, segment_rate=SEG_RATE)
    assert len(pauses) == 1 and abs(pauses[0][0] - gaps[0][0]) < 0.006 * SR  # 30 ms < min_pause_s
    # a "word gap" label over the middle tone joins both gaps into one candidate; the tone splits it again
    middle = [i for i, s in enumerate(segments) if s.label == "a"][1]
    voiced = [Segment(" ", s.start, s.end) if i == middle else s for i, s in enumerate(segments)]
    assert find_pauses(audio, SR, voiced, segment_rate=SEG_RATE) == pauses
    assert find_pauses(np.zeros(SR, dtype=np.float32), SR, segments, segment_rate=SEG_RATE) == []


def test_find_pauses_without_segments_falls_back_to_the_waveform() -> None:
    audio, gaps, _ = tone_gap_tone()
    assert find_pauses(audio, SR, (), segment_rate=SEG_RATE) == pause_spans(audio, SR, min_pause_s=0.04)
    assert len(find_pauses(audio, SR, (), segment_rate=SEG_RATE)) == len(gaps)


@pytest.mark.parametrize("change_s", [-0.02, -0.1, -0.25, -2.0, 0.0, 0.05, 0.2, 0.5, 3.0])
def test_resize_is_exact_respects_limits_and_leaves_the_tones(change_s: float) -> None:
    audio, gaps, _ = tone_gap_tone()
    target = len(audio) + int(round(change_s * SR)) + (7 if change_s else 0)
    out, achieved = resize_pauses(audio, SR, gaps, target)
    assert out.dtype == np.float32 and len(out) == len(audio) + achieved
    lengths = [end - start for start, end in gaps]
    changes = pause_changes(lengths, target - len(audio), SR)
    assert sum(changes) == achieved
    for length, change in zip(lengths, changes, strict=True):
        new = length + change
        if change < 0:
            assert length > 0.10 * SR and new >= max(0.10 * SR, 0.4 * length)
        if change > 0:
            assert new <= min(2 * length, length + 0.30 * SR)
        if length <= 0.10 * SR:
            assert change >= 0  # short pauses are never shortened
    if abs(achieved) < abs(target - len(audio)):  # fell short: every pause is at its limit
        caps = pause_changes(lengths, (target - len(audio)) * 100, SR)
        assert changes == caps
    else:
        assert achieved == target - len(audio)
    unchanged_outside(audio, out, gaps, changes)
    # an equal-power fade between two phases of the hum steps at most sqrt(2) * (1 + fade rate / hum rate)
    # ~ 2.1 times the hum's own largest step; a hard cut would step up to 150 times it
    assert max_jump_in_pauses(out, gaps, changes) <= 2.2 * max_jump_in_pauses(audio, gaps, [0] * len(gaps))


def test_change_is_shared_in_proportion_to_pause_length() -> None:
    lengths = [int(0.4 * SR), int(0.2 * SR)]
    shrink = pause_changes(lengths, -int(0.09 * SR), SR)
    assert sum(shrink) == -int(0.09 * SR) and shrink[0] == pytest.approx(2 * shrink[1], abs=1)
    grow = pause_changes(lengths, int(0.15 * SR), SR)
    assert sum(grow) == int(0.15 * SR) and grow[0] == pytest.approx(2 * grow[1], abs=1)
    # the longer one hits grow_max_s (0.3 s) first; the shorter one takes the rest, up to doubling
    grow = pause_changes(lengths, int(0.5 * SR), SR)
    assert grow[0] == int(0.3 * SR) and grow[1] == int(0.2 * SR) - 1 - int(0.005 * SR)
    assert pause_changes([int(0.08 * SR)], -SR, SR) == [0]  # under the floor: untouched
    assert pause_changes([], 1000, SR) == []


def test_splice_has_no_click_in_a_loud_pause() -> None:
    """Pause content a hard cut would break (a -20 dBFS 100 Hz hum): the crossfade keeps the steps small."""
    n = SR
    hum = 0.1 * np.sin(2 * np.pi * 100 * np.arange(n) / SR).astype(np.float32)
    pause = [(int(0.2 * SR), int(0.8 * SR))]
    hard = np.concatenate([hum[: int(0.45 * SR)], hum[int(0.5237 * SR) :]])  # what a cut would do
    assert np.max(np.abs(np.diff(hard))) > 5 * np.max(np.abs(np.diff(hum)))
    for target in (n - int(0.0737 * SR), n + int(0.1513 * SR)):
        out, achieved = resize_pauses(hum, SR, pause, target)
        assert len(out) == target and achieved == target - n
        assert np.max(np.abs(np.diff(out.astype(np.float64)))) <= 2.2 * np.max(np.abs(np.diff(hum)))


def test_no_change_and_no_pauses_return_the_input() -> None:
    audio, gaps, _ = tone_gap_tone()
    out, achieved = resize_pauses(audio, SR, gaps, len(audio))
    assert achieved == 0
    np.testing.assert_array_equal(out, audio)
    out, achieved = resize_pauses(audio, SR, [], len(audio) - 4800)
    assert achieved == 0
    np.testing.assert_array_equal(out, audio)


def test_bad_arguments() -> None:
    audio, gaps, _ = tone_gap_tone()
    with pytest.raises(ValueError, match="sorted"):
        resize_pauses(audio, SR, list(reversed(gaps)), len(audio))
    with pytest.raises(ValueError, match="sorted"):
        resize_pauses(audio, SR, [(0, len(audio) + 1)], len(audio))
    with pytest.raises(ValueError, match="target_samples"):
        resize_pauses(audio, SR, gaps, 0)
    with pytest.raises(ValueError, match="grow_factor"):
        resize_pauses(audio, SR, gaps, len(audio) + 10, grow_factor=0.5)


@pytest.mark.slow
@pytest.mark.parametrize("ratio", [0.85, 0.93, 1.07, 1.2])
def test_piper_line(piper_backend: PiperBackend, ratio: float) -> None:
    from revoice.engine.voices.base import SynthesisRequest

    text = "Listen to me, we have ten minutes. Maybe less, if they saw the car."
    synthesis = piper_backend.synthesize(SynthesisRequest(text=text, voice_id="joe", seed=2))
    audio = resample(synthesis.audio, synthesis.sample_rate, SR)
    pauses = find_pauses(audio, SR, synthesis.segments, segment_rate=synthesis.sample_rate)
    assert len(pauses) >= 3  # two commas and the sentence join at least
    # every pause lies inside non-phoneme labels and is quiet
    labelled = np.zeros(len(audio), dtype=bool)
    for seg in synthesis.segments:
        if is_pause_label(seg.label):
            labelled[round(seg.start * SR / synthesis.sample_rate) : round(seg.end * SR / synthesis.sample_rate)] = True
    peak = float(np.max(np.abs(audio)))
    for start, end in pauses:
        assert labelled[start:end].all()
        assert float(np.max(np.abs(audio[start:end]))) < 0.05 * peak
    target = int(round(len(audio) * ratio))
    out, achieved = resize_pauses(audio, SR, pauses, target)
    assert len(out) == len(audio) + achieved
    assert 0 < achieved / (target - len(audio)) <= 1.0
    changes = pause_changes([end - start for start, end in pauses], target - len(audio), SR)
    unchanged_outside(audio, out, pauses, changes)
    # no step at the splices bigger than the quiet pause material itself has
    assert max_jump_in_pauses(out, pauses, changes) <= max(
        1.5 * max_jump_in_pauses(audio, pauses, [0] * len(pauses)), 1e-4)
