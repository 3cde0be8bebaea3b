"""Voice profiles: JSON round trip, validation, atomic writes, the store, and reference provenance."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import av
import numpy as np
import pytest
import soundfile as sf

from engine.model import DialogueLine
from engine.original import MediaError, read_media_audio
from engine.voices.matching import VoiceMatch, VoiceTint
from engine.voices.profile import (Consent, ProfileError, ProfileStore, ReferenceClip, VoiceProfile, VoiceStats,
                                   load_profile, profile_file_name, save_profile)
from engine.voices.references import editor_references, find_references, parse_ref
from otio_bridge.lines import extract_lines
from otio_bridge.timeline import read_timeline


def sample_profile(**changes: object) -> VoiceProfile:
    match = VoiceMatch(language="en", backend="kokoro", voice_id="jf_alpha",
                       tint=VoiceTint(pitch_semitones=1.5, formant_ratio=0.95, envelope_db=(1.0, -2.5, 0.25)),
                       similarity_base=0.31, similarity_matched=0.52, heldout=True,
                       candidates=(("piper", "joe", 0.2, 0.3), ("kokoro", "jf_alpha", 0.3, 0.5)), seconds=12.5)
    profile = VoiceProfile(
        name="NELL", kind="tint",
        references=(ReferenceClip("/media/scene.wav", 8.52, 11.1, "L0006", 42.0),
                    ReferenceClip("/media/extra take.mov", 0.5, 3.25, None, None)),
        consent=Consent("granted", "A. Editor", "2026-11-21", "signed release"),
        embedding=tuple(float(v) for v in np.linspace(-0.1, 0.1, 8)),
        stats=VoiceStats(188.2, 150.9, 246.2, 5.8), matches=(match,), strength=0.7, created="2026-11-21T15:00:00+00:00")
    return dataclasses.replace(profile, **changes)  # type: ignore[arg-type]


def lines_of(scene: tuple[Path, Path]) -> list[DialogueLine]:
    timeline, subtitles = scene
    lines, _, _ = extract_lines(read_timeline(timeline), subtitle_path=subtitles, timeline_path=timeline)
    return lines


def test_json_round_trip_keeps_everything_and_the_key(tmp_path: Path) -> None:
    profile = sample_profile()
    path = save_profile(profile, tmp_path / "NELL.voice.json")
    again = load_profile(path)
    assert again == profile and again.key == profile.key
    assert isinstance(again.matches[0].tint.envelope_db, tuple) and isinstance(again.matches[0].candidates[0], tuple)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["kind"] == "tint" and data["consent"]["status"] == "granted"
    assert data["references"][0] == {"path": "/media/scene.wav", "start_seconds": 8.52, "end_seconds": 11.1,
                                      "line_id": "L0006", "snr_db": 42.0}
    # the key follows what decides the audio: strength and matches, not consent or provenance notes
    assert sample_profile(strength=0.5).key != profile.key
    assert sample_profile(consent=Consent()).key == profile.key
    report_only = dataclasses.replace(profile.matches[0], similarity_matched=0.9, seconds=1.0, candidates=())
    assert sample_profile(matches=(report_only,)).key == profile.key
    retinted = dataclasses.replace(profile.matches[0], tint=VoiceTint(pitch_semitones=2.0))
    assert sample_profile(matches=(retinted,)).key != profile.key
    assert sample_profile(references=()).references_key != profile.references_key
    assert profile.match_for("en-US") is profile.matches[0] and profile.match_for("zh") is None
    assert profile.editor_supplied and not sample_profile(references=profile.references[:1]).editor_supplied


@pytest.mark.parametrize(("edit", "field"), [
    (lambda d: d.update(strength=1.5), "strength"),
    (lambda d: d.update(kind="deepfake"), "kind"),
    (lambda d: d["consent"].update(status="maybe"), "consent.status"),
    (lambda d: d.pop("name"), "name"),
    (lambda d: d.update(format_version=99), "format_version"),
    (lambda d: d["references"][0].update(end_seconds=1.0), "references[0].end_seconds"),
    (lambda d: d["references"][1].update(colour="red"), "references[1].colour"),
    (lambda d: d["matches"][0]["tint"].update(envelope_db=[1.0, "loud"]), "matches[0].tint.envelope_db"),
    (lambda d: d["matches"][0].update(voice_id=7), "matches[0].voice_id"),
    (lambda d: d.update(embedding=[0.1, None]), "embedding"),
])
def test_validation_errors_name_the_file_and_the_field(tmp_path: Path, edit: object, field: str) -> None:
    path = save_profile(sample_profile(), tmp_path / "NELL.voice.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    edit(data)  # type: ignore[operator]
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ProfileError) as caught:
        load_profile(path)
    assert str(path) in str(caught.value) and f"'{field}'" in str(caught.value)


def test_hand_edits_take_effect_and_the_key_follows(tmp_path: Path) -> None:
    path = save_profile(sample_profile(), tmp_path / "NELL.voice.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    data["strength"] = 0.25  # the stored "key" is now stale: it is recomputed, not trusted
    path.write_text(json.dumps(data), encoding="utf-8")
    edited = load_profile(path)
    assert edited.strength == 0.25 and edited.key == sample_profile(strength=0.25).key != data["key"]


def test_broken_json_and_bad_values_in_code_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.voice.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(ProfileError, match="not valid JSON"):
        load_profile(path)
    with pytest.raises(ProfileError, match="'strength'"):
        sample_profile(strength=-0.1)


def test_atomic_write_leaves_the_old_file_when_writing_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = save_profile(sample_profile(), tmp_path / "NELL.voice.json")
    before = path.read_bytes()

    def broken(*args: object, **kwargs: object) -> str:
        raise OSError("disk full")

    monkeypatch.setattr("engine.voices.profile.json.dumps", broken)
    with pytest.raises(OSError, match="disk full"):
        save_profile(sample_profile(strength=0.1), path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["NELL.voice.json"]  # no temp file left
    with pytest.raises(ProfileError, match="input file"):
        save_profile(sample_profile(), path, protect=[path])


def test_store_saves_lists_and_finds_profiles_by_name(tmp_path: Path) -> None:
    store = ProfileStore(tmp_path / "voices")
    assert store.names() == [] and store.get("NELL") is None
    store.save(sample_profile())
    store.save(sample_profile(name="Old NAGG!"))
    assert store.names() == ["NELL", "Old NAGG!"] and "NELL" in store
    assert store.path_for("Old NAGG!").name == profile_file_name("Old NAGG!") != profile_file_name("Old-NAGG")
    assert store.get("Old NAGG!") == sample_profile(name="Old NAGG!")
    store.path_for("NELL").rename(store.path_for("NAGG"))
    with pytest.raises(ProfileError, match="'name'"):
        store.get("NAGG")
    (tmp_path / "file").write_text("")
    with pytest.raises(ProfileError, match="not a folder"):
        ProfileStore(tmp_path / "file")


def test_references_under_a_speakers_lines_record_their_provenance(endgame_scene: tuple[Path, Path]) -> None:
    lines = lines_of(endgame_scene)
    nell = [line for line in lines if line.speaker == "NELL"]
    reference = find_references(nell)
    assert 4.0 < reference.seconds < 8.0 and reference.sample_rate == 24000
    assert {clip.line_id for clip in reference.clips} == {"L0006", "L0008", "L0010", "L0012"}
    by_id = {line.line_id: line for line in nell}
    for clip in reference.clips:
        (source,) = by_id[str(clip.line_id)].sources
        assert clip.path == str(source.media_path)
        # the speech span sits inside the media range under the line
        assert source.source_start_seconds <= clip.start_seconds < clip.end_seconds
        assert clip.end_seconds <= source.source_start_seconds + source.duration_seconds + 1e-6
        assert clip.snr_db is not None and clip.snr_db > 20
    assert any("L0002" in problem for problem in reference.problems)  # "Yes.": too little speech
    capped = find_references(nell, max_seconds=3.0)
    assert capped.seconds <= 3.1 and 0 < len(capped.clips) < len(reference.clips)


def test_editor_reference_from_a_range_of_a_file(endgame_scene: tuple[Path, Path]) -> None:
    media = Path(str(lines_of(endgame_scene)[0].sources[0].media_path))
    path, start, end = parse_ref(f"{media}:8.4-11.7")
    assert (path, start, end) == (media, 8.4, 11.7)
    assert parse_ref(str(media)) == (media, 0.0, None)
    with pytest.raises(ValueError, match="START-END"):
        parse_ref("take.wav:a-b")
    reference = editor_references([(path, start, end)])
    (clip,) = reference.clips
    assert clip.line_id is None and 8.4 <= clip.start_seconds < clip.end_seconds <= 11.7
    assert 1.5 < reference.seconds < 3.3


def test_pyav_decodes_audio_from_a_video_container_at_the_asked_range(tmp_path: Path) -> None:
    rate = 24000
    t = np.arange(3 * rate) / rate
    left = (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    right = (0.1 * np.sin(2 * np.pi * 330 * t)).astype(np.float32)
    movie = tmp_path / "take.mov"
    with av.open(str(movie), "w") as container:  # 16-bit PCM in QuickTime: soundfile cannot read it
        stream = container.add_stream("pcm_s16le", rate=rate, layout="stereo")
        pcm = np.round(np.stack([left, right]).T * 32767).astype(np.int16).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="stereo")
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    with pytest.raises(sf.LibsndfileError):
        sf.info(str(movie))
    audio, got_rate = read_media_audio(movie, start_seconds=1.0, duration_seconds=0.5)
    assert got_rate == rate and audio.dtype == np.float32 and audio.shape == (rate // 2,)
    expected = (left + right)[rate : rate + rate // 2] / 2
    assert np.max(np.abs(audio - expected)) < 2e-4
    with pytest.raises(MediaError, match="notes.txt: cannot read audio"):
        (tmp_path / "notes.txt").write_text("hello")
        read_media_audio(tmp_path / "notes.txt")
