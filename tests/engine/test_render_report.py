"""The typed render report reads and writes sidecars exactly as they were written (no models needed)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from pathlib import Path

from revoice.engine.model import RenderedLine
from revoice.engine.records import RenderReport, TakeEntry, TakeQc, VoiceProfileUse
from revoice.engine.render import choose_take, load_sidecar, sidecar_path, take_score, write_sidecar

SIDECAR = """{
 "backend": "piper",
 "flags": [],
 "key": "e8094bf369c8ba3ec296c2ee310a60949e71f83e1f361ed6e711d91cecac8833",
 "line_id": "L0003",
 "path": "MAIN_L0003_t1.wav",
 "report": {
  "achieved_span": [
   15840,
   90192
  ],
  "duration_scale": 0.9171,
  "gain_db": 1.77,
  "length_error_samples": 0,
  "limited": false,
  "loudness_lufs": -23.0,
  "loudness_note": "ebu-r128",
  "loudness_target_lufs": -23.0,
  "natural_seconds": 1.6970208333333334,
  "offset_error_ms": -37.7,
  "onset_error_ms": 0.0,
  "pause_change_seconds": 0.0,
  "qc": {
   "asr_text": null,
   "cer": null,
   "clipped_samples": 0,
   "detected_span": [
    15840,
    90192
   ],
   "error_metric": "wer",
   "flags": [],
   "length_error_samples": 0.0,
   "loudness_lufs": -23.0,
   "loudness_target_lufs": -23.0,
   "meters": [],
   "mos": null,
   "offset_error_ms": -37.7,
   "onset_error_ms": 0.0,
   "qc_seconds": 0.011,
   "ratio": 0.9397,
   "sample_peak_dbfs": -3.08,
   "score": 0.0,
   "similarity": null,
   "similarity_floor": null,
   "similarity_to": null,
   "speech_fraction": 0.971,
   "speech_seconds": 1.549,
   "stretch_ratio": 0.9457,
   "true_peak_dbtp": -3.08,
   "voice_similarity": null,
   "voice_similarity_to": null,
   "wer": null
  },
  "ratio": 0.9397,
  "render_seconds": 0.28,
  "rtf": 0.176,
  "seed": 2005393530,
  "slot_samples": 92000,
  "speech_end": 92000,
  "speech_seconds": 1.5946666666666667,
  "speech_start": 15456,
  "stretch_ratio": 0.9457,
  "syntheses": 3,
  "target_from": "original take",
  "target_span": [
   15840,
   92000
  ],
  "true_peak_dbtp": -3.08,
  "voice_profile": {
   "base_backend": "piper",
   "base_voice": "joe",
   "consent": "granted",
   "cross_lingual": false,
   "key": "0f3c",
   "kind": "tint",
   "match_language": "en",
   "name": "MAIN",
   "similarity_base": 0.41,
   "similarity_matched": 0.63,
   "strength": 1.0
  }
 },
 "sample_rate": 48000,
 "settings": {
  "fallback_loudness": "ebu-r128",
  "fit": {
   "hard_min_ratio": 0.35,
   "lead_in_seconds": 0.0,
   "max_duration_scale": 2.2,
   "max_ratio": 1.25,
   "max_syntheses": 3,
   "min_duration_scale": 0.45,
   "min_ratio": 0.8,
   "resize_pauses": true,
   "stretch_method": "wsola",
   "tolerance": 0.01
  },
  "loudness": "ebu-r128",
  "sample_rate": 48000,
  "seed": 0,
  "true_peak_ceiling_dbtp": -2.0,
  "voice_id": null
 },
 "slot_samples": 92000,
 "speech_end": 92000,
 "speech_start": 15456,
 "take": 1,
 "voice_id": "joe"
}"""
"""A take-1 sidecar as Revoice 0.1 writes it (QC with no model meters, and a profile voice)."""


def test_an_old_sidecar_loads_and_is_written_back_byte_for_byte(tmp_path: Path) -> None:
    wav = tmp_path / "MAIN_L0003_t1.wav"
    wav.write_bytes(b"")
    sidecar_path(wav).write_text(SIDECAR, encoding="utf-8")
    data = json.loads(SIDECAR)
    rendered = load_sidecar(wav, data["key"])
    assert rendered is not None and load_sidecar(wav, "another key") is None
    report = rendered.report
    assert report.ratio == 0.9397 and report.target_span == (15840, 92000) and report.target_from == "original take"
    assert report.qc is not None and report.qc.error_metric == "wer" and report.qc.wer is None
    assert report.qc.detected_span == (15840, 90192) and report.qc.flags == () and report.qc.score == 0.0
    assert isinstance(report.voice_profile, VoiceProfileUse) and report.voice_profile.similarity_matched == 0.63
    assert report.to_json() == data["report"] and report.takes is None and report.absent == frozenset()
    sidecar_path(wav).unlink()
    write_sidecar(rendered, data["key"])
    assert sidecar_path(wav).read_text(encoding="utf-8") == SIDECAR


def test_partial_and_newer_reports_round_trip() -> None:
    partial = {"ratio": 0.7, "loudness_lufs": -23.0, "qc": {"score": 0.4, "flags": ["x"]}, "newer": {"a": 1}}
    report = RenderReport.from_json(partial)
    assert report.to_json() == partial and report.extra == {"newer": {"a": 1}}
    assert report.speech_seconds is None and "speech_seconds" in report.absent
    assert report.qc is not None and report.qc.score == 0.4 and report.score == 0.4
    assert report.to_json()["qc"]["flags"] == ["x"] and "takes" not in report.to_json()  # the JSON
    assert RenderReport.from_json({}).to_json() == {} and RenderReport.from_json(report) is report
    silent = RenderReport(slot_samples=10, achieved_span=None, onset_error_ms=None)
    assert silent.to_json()["achieved_span"] is None and "qc" not in silent.to_json()  # written as null / left out


def test_a_report_is_read_from_its_json_into_a_plain_record() -> None:
    line = RenderedLine("L1", Path("x.wav"), 48000, 10, 0, 10, "b", "v", report=RenderReport.from_json({"ratio": 1.1}))
    assert isinstance(line.report, RenderReport) and line.report.ratio == 1.1
    assert not isinstance(line.report, Mapping)  # no dict view: its JSON is to_json()
    assert RenderedLine("L1", Path("x.wav"), 48000, 10, 0, 10, "b", "v").report.to_json() == {}
    qc, entry = TakeQc(score=0.5), TakeEntry(take=1, score=0.5)
    nested = RenderReport.from_json({"qc": qc, "takes": [entry]})  # records inside the JSON are kept as they are
    assert nested.qc is qc and nested.takes == (entry,)


def test_choose_take_lists_every_take(tmp_path: Path) -> None:
    def take(number: int, score: float) -> RenderedLine:
        qc = TakeQc.from_json({"score": score, "flags": []})
        return RenderedLine("L1", tmp_path / f"A_L1_t{number}.wav", 48000, 10, 0, 10, "b", "v", take=number,
                            report=dataclasses.replace(RenderReport.from_json({"ratio": 1.0}), qc=qc))

    takes = [take(1, 0.2), take(2, 0.9)]
    best = choose_take(takes)
    assert best.take == 2 and take_score(best) == 0.9
    assert best.report.chosen_by == "score" and best.report.chosen_take == 2
    assert best.report.to_json()["takes"] == [
        {"take": 1, "file": "A_L1_t1.wav", "score": 0.2, "flags": [], "qc": {"score": 0.2, "flags": []}},
        {"take": 2, "file": "A_L1_t2.wav", "score": 0.9, "flags": [], "qc": {"score": 0.9, "flags": []}}]
    picked = choose_take(takes, prefer=1)
    assert picked.take == 1 and picked.report.chosen_by == "editor"
    assert picked.report.takes is not None and all(isinstance(t, TakeEntry) for t in picked.report.takes)
