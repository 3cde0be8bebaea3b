"""Voice profiles: JSON round trip, validation, atomic writes, the store, and reference provenance."""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
import soundfile as sf
from revoice.engine.characters.profile import (
    Consent,
    ProfileError,
    ProfileStore,
    ReferenceClip,
    VoiceProfile,
    VoiceStats,
    load_profile,
    profile_file_name,
    save_profile,
)
from revoice.engine.characters.references import editor_references, find_references, parse_ref
from revoice.engine.characters.tint import VoiceMatch, VoiceTint
from revoice.engine.characters.tuning import TuningCancelled
from revoice.engine.files import LockPolicy
from revoice.engine.model import DialogueLine
from revoice.engine.original import MediaError, read_media_audio
from revoice.otio_bridge.lines import extract_lines
from revoice.otio_bridge.timeline import read_timeline


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


def test_consent_scope_round_trips_and_files_without_one_still_load(tmp_path: Path) -> None:
    path = save_profile(sample_profile(), tmp_path / "NELL.voice.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    # no scope: the file is as before (older Revoice refuses consent keys it does not know), and it loads
    assert data["consent"] == {"status": "granted", "by": "A. Editor", "date": "2026-11-21", "note": "signed release"}
    assert data["format_version"] == 1 and load_profile(path).consent.scope == ""
    scoped = sample_profile(consent=Consent("granted", "A. Editor", "2026-11-21", "signed release", "this production"))
    again = load_profile(save_profile(scoped, path))
    assert again == scoped and again.consent.scope == "this production" and again.key == sample_profile().key
    assert json.loads(path.read_text(encoding="utf-8"))["consent"]["scope"] == "this production"
    assert again.consent.words == "granted by A. Editor on 2026-11-21 for this production"
    assert again.consent.recorded and not Consent().recorded and Consent().words == "unknown"
    data["consent"]["scope"] = 7
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ProfileError, match="'consent.scope'"):
        load_profile(path)


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

    monkeypatch.setattr("revoice.engine.characters.profile.json.dumps", broken)
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


# -- the per-profile lock (shards sharing one voices folder) ---------------------------------

REPO = Path(__file__).parents[3]

SHARD = """
import os, sys, time
from pathlib import Path
from revoice.engine.characters.profile import ProfileStore, VoiceProfile
from revoice.engine.files import LockPolicy

store, go, mode = ProfileStore(Path(sys.argv[1])), Path(sys.argv[2]), sys.argv[3]
Path(sys.argv[2] + "." + str(os.getpid())).touch()  # ready
while not go.exists():
    time.sleep(0.005)
if mode == "die":  # take the lock and die without releasing it
    store.claim("NELL").acquire()
    os._exit(0)
if mode == "hold":  # take the lock and keep it until killed
    store.claim("NELL").acquire()
    print("holding", flush=True)
    time.sleep(600)
with store.claim("NELL", policy=LockPolicy(poll_seconds=0.01)) as lock:
    stored = store.get("NELL")
    if stored is None:
        time.sleep(0.4)  # tuning
        store.save(VoiceProfile(name="NELL", created=str(os.getpid())))
        print("built", os.getpid(), flush=True)
    else:
        print("reused", stored.created, flush=True)
"""


def start_shards(tmp_path: Path, store: ProfileStore, modes: list[str]) -> list[subprocess.Popen[str]]:
    """Processes running SHARD on ``store``, all released at the same instant once they have started."""
    go = tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, "-c", SHARD, str(store.folder), str(go), mode], cwd=REPO,
                              stdout=subprocess.PIPE, text=True) for mode in modes]
    deadline = time.monotonic() + 120
    while len(list(tmp_path.glob("go.*"))) < len(procs):
        assert time.monotonic() < deadline and all(p.poll() is None for p in procs), "shards did not start"
        time.sleep(0.01)
    go.touch()
    return procs


def test_processes_claiming_one_profile_build_it_once_and_the_others_reuse_it(tmp_path: Path) -> None:
    store = ProfileStore(tmp_path / "voices")
    procs = start_shards(tmp_path, store, ["claim", "claim", "claim"])
    try:
        said = sorted(proc.communicate(timeout=120)[0].split() for proc in procs)
    finally:
        for proc in procs:
            proc.kill()
    assert all(proc.returncode == 0 for proc in procs)
    builders = [words for words in said if words[0] == "built"]
    assert len(builders) == 1, said
    builder = builders[0][1]
    assert [words for words in said if words[0] == "reused"] == [["reused", builder]] * 2  # the builder's profile
    stored = store.get("NELL")
    assert stored is not None and stored.created == builder
    assert not store.lock_path("NELL").exists()


def test_threads_claiming_one_profile_take_turns_and_the_waiter_sees_the_saved_profile(tmp_path: Path) -> None:
    store = ProfileStore(tmp_path / "voices")
    inside = threading.Event()
    events: list[str] = []
    seen: list[VoiceProfile | None] = []
    waited: list[str] = []

    def first() -> None:
        with store.claim("NELL"):
            inside.set()
            time.sleep(0.3)
            store.save(sample_profile())
            events.append("saved")

    def second() -> None:
        inside.wait()
        with store.claim("NELL", policy=LockPolicy(poll_seconds=0.01),
                         on_wait=lambda lock: waited.append(lock.waiting_message)):
            events.append("entered")
            seen.append(store.get("NELL"))

    threads = [threading.Thread(target=first, daemon=True), threading.Thread(target=second, daemon=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not any(thread.is_alive() for thread in threads), "the waiter never got the lock"
    assert events == ["saved", "entered"] and seen == [sample_profile()]
    assert len(waited) == 1 and "waiting for another shard to finish voice profile NELL" in waited[0]
    assert str(store.lock_path("NELL")) in waited[0] and f"pid {os.getpid()}" in waited[0]
    assert not store.lock_path("NELL").exists() and store.names() == ["NELL"]  # the lock is no profile


def test_the_lock_holds_host_pid_and_start_and_goes_away_after_an_exception(tmp_path: Path) -> None:
    store = ProfileStore(tmp_path / "voices")
    with pytest.raises(RuntimeError, match="tuning failed"):
        with store.claim("Old NELL!", policy=LockPolicy(clock=lambda: 1_800_000_000.0)) as lock:
            assert lock.path == store.lock_path("Old NELL!") and lock.path.name.endswith(".voice.json.lock")
            data = json.loads(lock.path.read_text(encoding="utf-8"))
            assert data["host"] == socket.gethostname() and data["pid"] == os.getpid()
            assert data["started"] == 1_800_000_000.0 and data["started_iso"] == "2027-01-15T08:00:00+00:00"
            assert data["name"] == "Old NELL!"
            raise RuntimeError("tuning failed")
    assert not store.lock_path("Old NELL!").exists()
    with store.claim("Old NELL!") as again:  # free again, without waiting
        assert again.holder is None and again.warnings == []


def test_a_lock_left_by_a_dead_process_is_taken_over_with_a_warning(tmp_path: Path) -> None:
    store = ProfileStore(tmp_path / "voices")
    (dead,) = start_shards(tmp_path, store, ["die"])
    assert dead.wait(60) == 0
    lock_file = store.lock_path("NELL")
    assert json.loads(lock_file.read_text(encoding="utf-8"))["pid"] == dead.pid

    def sleep(seconds: float) -> None:
        raise AssertionError("waited for a dead process")

    with store.claim("NELL", policy=LockPolicy(sleep=sleep)) as lock:
        assert json.loads(lock_file.read_text(encoding="utf-8"))["pid"] == os.getpid()
    assert len(lock.warnings) == 1
    assert f"took over the voice profile lock {lock_file}" in lock.warnings[0]
    assert f"process {dead.pid} on {socket.gethostname()} is not running" in lock.warnings[0]
    assert not lock_file.exists()


def test_a_live_holder_is_waited_for_and_taken_over_once_it_is_killed(tmp_path: Path) -> None:
    store = ProfileStore(tmp_path / "voices")
    (holder,) = start_shards(tmp_path, store, ["hold"])
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        lock = store.claim("NELL")
        assert not lock.try_acquire() and lock.holder is not None and lock.holder.pid == holder.pid
        assert lock.warnings == [] and store.lock_path("NELL").exists()
    finally:
        holder.kill()
        holder.communicate(timeout=60)
    assert lock.try_acquire() and len(lock.warnings) == 1 and f"process {holder.pid}" in lock.warnings[0]
    lock.release()
    assert not store.lock_path("NELL").exists()


def test_a_lock_from_another_machine_is_taken_over_only_once_it_is_stale(tmp_path: Path) -> None:
    store = ProfileStore(tmp_path / "voices")
    lock_file = store.lock_path("NELL")
    lock_file.parent.mkdir(parents=True)
    lock_file.write_text(json.dumps({"host": "render-07", "pid": 4242, "started": 1000.0, "token": "x"}))
    os.utime(lock_file, (1000.0, 1000.0))
    now = [1000.0 + 29 * 60]
    policy = LockPolicy(stale_seconds=30 * 60, clock=lambda: now[0])
    lock = store.claim("NELL", policy=policy)
    assert not lock.try_acquire() and lock.holder is not None and lock.holder.host == "render-07"
    assert "host render-07, pid 4242" in lock.waiting_message
    os.utime(lock_file, (1000.0 + 20 * 60,) * 2)  # the holder's heartbeat
    now[0] = 1000.0 + 45 * 60
    assert not lock.try_acquire()  # touched 25 min ago
    now[0] = 1000.0 + 51 * 60
    assert lock.try_acquire() and len(lock.warnings) == 1
    assert f"took over the voice profile lock {lock_file} (host render-07, pid 4242" in lock.warnings[0]
    assert "untouched for 31.0 min" in lock.warnings[0]
    assert json.loads(lock_file.read_text(encoding="utf-8"))["pid"] == os.getpid()
    lock.release()
    assert not lock_file.exists()


def test_the_holder_keeps_its_lock_fresh_while_it_works(tmp_path: Path) -> None:
    store = ProfileStore(tmp_path / "voices")
    policy = LockPolicy(stale_seconds=4.0)
    assert policy.heartbeat_seconds == 1.0 and LockPolicy().heartbeat_seconds == 60.0
    with store.claim("NELL", policy=policy) as lock:
        os.utime(lock.path, (1000.0, 1000.0))  # as if it had not been touched for ages
        time.sleep(1.6)
        assert time.time() - lock.path.stat().st_mtime < 1.5
        assert store.claim("NELL", policy=policy).try_acquire() is False


def test_cancel_while_waiting_raises_tuning_cancelled_and_leaves_the_holders_lock(tmp_path: Path) -> None:
    store = ProfileStore(tmp_path / "voices")
    polls = iter([False, False, True])
    sleeps: list[float] = []
    with store.claim("NELL") as held:
        before = held.path.read_bytes()
        waiter = store.claim("NELL", policy=LockPolicy(poll_seconds=0.5, sleep=sleeps.append),
                             should_cancel=lambda: next(polls))
        with pytest.raises(TuningCancelled, match="waiting for another shard to finish voice profile NELL"):
            waiter.acquire()
        assert sleeps == [0.5, 0.5] and not waiter.held and held.path.read_bytes() == before
    assert not held.path.exists()


def test_release_leaves_a_lock_that_another_process_took_over(tmp_path: Path) -> None:
    store = ProfileStore(tmp_path / "voices")
    lock = store.claim("NELL")
    lock.acquire()
    theirs = json.dumps({"host": "render-07", "pid": 4242, "started": time.time(), "token": "theirs"})
    lock.path.write_text(theirs)
    lock.release()
    assert lock.path.read_text() == theirs


def test_claims_do_free_names_first_then_wait_for_the_busy_ones(tmp_path: Path) -> None:
    store = ProfileStore(tmp_path / "voices")
    other = store.claim("NAGG")
    other.acquire()  # another shard is tuning NAGG
    sleeps: list[float] = []
    waited: list[str] = []
    done: list[tuple[str, bool]] = []

    def sleep(seconds: float) -> None:
        assert len(sleeps) < 2, "still waiting after the other shard finished"
        sleeps.append(seconds)
        if len(sleeps) == 2:  # the other shard finishes
            store.save(sample_profile(name="NAGG"))
            other.release()

    claimed = store.claims(["NAGG", "NELL", "CLOV"], policy=LockPolicy(poll_seconds=1.0, sleep=sleep),
                           on_wait=lambda lock: waited.append(lock.name))
    for name in claimed:
        done.append((name, name in store))
        assert store.lock_path(name).exists()
    assert done == [("NELL", False), ("CLOV", False), ("NAGG", True)]
    assert sleeps == [1.0, 1.0] and waited == ["NAGG"]
    assert list(store.folder.glob("*.lock")) == []
    claimed = store.claims(["NELL", "CLOV"])
    assert next(claimed) == "NELL" and store.lock_path("NELL").exists()
    claimed.close()  # e.g. the caller raised
    assert list(store.folder.glob("*.lock")) == []


def test_a_folder_where_no_lock_can_be_made_is_used_unlocked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = ProfileStore(tmp_path / "voices")
    store.save(sample_profile())
    real_open = os.open

    def read_only(path: Any, flags: int, *args: Any) -> int:
        if str(path).endswith(".lock"):
            raise PermissionError(13, "Read-only file system")
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", read_only)
    with store.claim("NELL") as lock:
        assert lock.unlocked is not None and "Read-only file system" in lock.unlocked
        assert any("no shard lock" in w and "NELL" in w for w in lock.warnings)
        assert store.get("NELL") == sample_profile()
    assert not lock.held
