"""The VoxCPM2 backend on a tiny randomly initialised model built from voxcpm's own classes.

The session fixture writes a tiny tokenizer (the ``tokenizers`` library, loaded back as
``LlamaTokenizerFast`` as the real one is) and a config.json with small dimensions, builds
``VoxCPM2Model`` + AudioVAE V2 from them, and saves the weights the way ``openbmb/VoxCPM2``
ships them (model.safetensors + audiovae.safetensors). Every test loads that folder through
the adapter's real loader and speaks with a real reference: speech from the offline piper voice
(and a real recording from ../shared/corpus where present).
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
from backend_checks import heavy_modules_imported
from revoice.engine.voices import voxcpm_voice
from revoice.engine.voices.base import BackendOptions, BackendUnavailable, SynthesisRequest, VoiceBackend
from revoice.engine.voices.registry import describe_backends, discover_backends, load_backend
from revoice.engine.voices.voxcpm_model import build_model, load_tokenizer, read_config
from revoice.engine.voices.voxcpm_voice import SPEC, VoxCPMBackend, continuation_text, style_instruction

if TYPE_CHECKING:
    from revoice.engine.voices.piper_voice import PiperBackend

REF_TEXT = "The birch canoe slid on the smooth planks."
SPECIAL_TOKENS = 105
"""VoxCPM2 reserves token ids 101-104 for its audio markers: the tiny vocabulary starts its text after them."""
CHARACTERS = list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,!?'-() ") + list("你好世界我们的语气")


def _write_tokenizer(folder: Path) -> int:
    """A character-level Llama-style tokenizer (metaspace, BPE without merges but one Chinese pair); its size."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers

    tokens = ["<unk>", "<s>", "</s>"] + [f"<reserved_{i}>" for i in range(3, SPECIAL_TOKENS)]
    tokens += ["▁"] + [c for c in CHARACTERS if c != " "] + ["你好"]
    vocab = {token: index for index, token in enumerate(tokens)}
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=[("你", "好")], unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first")
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="first")
    tokenizer.save(str(folder / "tokenizer.json"))
    (folder / "tokenizer_config.json").write_text(json.dumps(
        {"tokenizer_class": "LlamaTokenizerFast", "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"}))
    return len(vocab)


def _tiny_config(vocab_size: int) -> dict[str, Any]:
    """VoxCPM2's config.json with every width and depth cut down (rates and patch size as released)."""
    head_dim = 8
    return {
        "architecture": "voxcpm2",
        "lm_config": {
            "bos_token_id": 1, "eos_token_id": 2, "hidden_size": 32, "intermediate_size": 64,
            "max_position_embeddings": 1024, "num_attention_heads": 4, "num_hidden_layers": 1,
            "num_key_value_heads": 2, "rms_norm_eps": 1e-5, "vocab_size": vocab_size, "use_mup": False,
            "scale_emb": 12, "dim_model_base": 32, "scale_depth": 1.4, "rope_theta": 10000.0,
            "rope_scaling": {"type": "longrope", "long_factor": [1.0] * (head_dim // 2),
                             "short_factor": [1.0] * (head_dim // 2), "original_max_position_embeddings": 1024},
        },
        "patch_size": 4, "feat_dim": 64, "residual_lm_num_layers": 1, "scalar_quantization_latent_dim": 16,
        "scalar_quantization_scale": 9,
        "encoder_config": {"hidden_dim": 32, "ffn_dim": 64, "num_heads": 4, "num_layers": 1},
        "dit_config": {"hidden_dim": 32, "ffn_dim": 64, "num_heads": 4, "num_layers": 1, "cfm_config": {}},
        "audio_vae_config": {"encoder_dim": 4, "encoder_rates": [2, 5, 8, 8], "latent_dim": 64, "decoder_dim": 64,
                             "decoder_rates": [8, 6, 5, 2, 2, 2], "cond_dim": 8},
        "max_length": 1024, "device": "cuda", "dtype": "bfloat16",
    }


def _write_weights(folder: Path) -> dict[str, Any]:
    """Build the tiny model from voxcpm's classes and save it as the release is laid out; its state dict."""
    import torch
    from safetensors.torch import save_file

    vocab_size = _write_tokenizer(folder)
    (folder / "config.json").write_text(json.dumps(_tiny_config(vocab_size)), encoding="utf-8")
    torch.manual_seed(0)
    model = build_model(read_config(folder / "config.json"), load_tokenizer(folder), device="cpu")
    state = {name: tensor.detach().clone().contiguous() for name, tensor in model.state_dict().items()}
    save_file({k: v for k, v in state.items() if not k.startswith("audio_vae.")}, str(folder / "model.safetensors"))
    save_file({k.removeprefix("audio_vae."): v for k, v in state.items() if k.startswith("audio_vae.")},
              str(folder / "audiovae.safetensors"))
    return state


def _missing_packages() -> list[str]:
    return [name for name in voxcpm_voice.REQUIRED_MODULES + ("tokenizers",) if importlib.util.find_spec(name) is None]


@pytest.fixture(scope="session")
def tiny_weights(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    missing = _missing_packages()
    if missing:
        pytest.skip(f"VoxCPM2 packages missing ({', '.join(missing)}): {voxcpm_voice.INSTALL_HINT}")
    import torch

    torch.set_num_threads(1)
    folder = tmp_path_factory.mktemp("voxcpm_weights")
    return folder, _write_weights(folder)


def _fast(folder: Path, **options: Any) -> VoxCPMBackend:
    """The backend with few flow steps and no re-rolls (a random model's stop head rarely fires)."""
    return VoxCPMBackend(BackendOptions(weights_dir=str(folder), threads=1, **options), steps=2,
                         retry_badcase=False)


@pytest.fixture(scope="session")
def voxcpm_backend(tiny_weights: tuple[Path, dict[str, Any]]) -> VoxCPMBackend:
    return _fast(tiny_weights[0], device="cpu")


@pytest.fixture(scope="session")
def references(piper_backend: PiperBackend) -> tuple[SynthesisRequest, np.ndarray, int]:
    """(a request with a real spoken reference and its transcript, another speech clip, its rate)."""
    first = piper_backend.synthesize(SynthesisRequest(text=REF_TEXT, voice_id=piper_backend.voices()[0].voice_id))
    other = piper_backend.synthesize(SynthesisRequest(text="Glue the sheet to the dark blue background.",
                                                      voice_id=piper_backend.voices()[0].voice_id))
    request = SynthesisRequest(text="Hello there.", voice_id="reference", reference_audio=first.audio,
                               reference_sample_rate=first.sample_rate, reference_text=REF_TEXT)
    return request, other.audio, other.sample_rate


def test_import_is_lazy() -> None:
    heavy = ("torch", "voxcpm", "transformers", "librosa", "safetensors", "pydantic")
    assert heavy_modules_imported("revoice.engine.voices.voxcpm_voice", heavy, weights_dir="/nowhere") == []


def test_spec() -> None:
    assert SPEC.name == "voxcpm" and SPEC.sample_rate == 48000
    assert SPEC.licence == "Apache-2.0 (code and weights)" and SPEC.commercial_use
    assert SPEC.clones_from_reference and not SPEC.native_duration_control and not SPEC.needs_gpu
    assert SPEC.emotion_control == ("text",)
    assert len(SPEC.languages) == 30
    assert all(SPEC.supports_language(lang) for lang in ("en-US", "zh", "ja", "de", "fr"))
    assert not SPEC.supports_language("cy")


def test_discovered_with_its_licence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(voxcpm_voice.ENV_WEIGHTS, raising=False)
    specs = {spec.name: spec for spec in discover_backends()}
    assert specs["voxcpm"] is SPEC
    row = describe_backends([SPEC], BackendOptions())[0]
    assert row["licence"] == "Apache-2.0 (code and weights)" and row["commercial_use"] is True
    assert row["available"] is False and row["clones_from_reference"] is True


def test_without_weights_the_reason_says_how_to_set_them(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(voxcpm_voice.ENV_WEIGHTS, raising=False)
    reason = SPEC.availability(BackendOptions())
    assert reason is not None and "\n" not in reason
    assert "no weights folder" in reason and voxcpm_voice.ENV_WEIGHTS in reason and "--weights voxcpm=DIR" in reason
    with pytest.raises(FileNotFoundError, match=f"^no VoxCPM2 weights folder: set {voxcpm_voice.ENV_WEIGHTS}"):
        VoxCPMBackend(BackendOptions())
    absent = tmp_path / "absent"
    with pytest.raises(FileNotFoundError, match=f"^VoxCPM2 weights folder {absent} does not exist$"):
        VoxCPMBackend(BackendOptions(weights_dir=str(absent)))
    monkeypatch.setenv(voxcpm_voice.ENV_WEIGHTS, str(tmp_path))
    assert voxcpm_voice.weights_folder(BackendOptions()) == tmp_path
    assert voxcpm_voice.weights_folder(BackendOptions(weights_dir="/elsewhere")) == Path("/elsewhere")


def test_incomplete_folder_names_each_missing_file(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}", encoding="utf-8")
    (tmp_path / "audiovae.pth").write_bytes(b"")
    reason = SPEC.availability(BackendOptions(weights_dir=str(tmp_path)))
    assert reason == (f"VoxCPM2 weights folder {tmp_path} is incomplete: missing model.safetensors "
                      "(or pytorch_model.bin), tokenizer.json (or tokenizer.model)")
    with pytest.raises(BackendUnavailable, match="missing model.safetensors"):
        load_backend(SPEC, BackendOptions(weights_dir=str(tmp_path)))


def test_missing_packages_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec

    def fake(name: str, *args: object) -> object:
        return None if name in ("voxcpm", "transformers") else real(name)

    monkeypatch.setattr(importlib.util, "find_spec", fake)
    reason = SPEC.availability(BackendOptions(weights_dir="/nowhere"))
    assert reason is not None and "missing Python package(s) voxcpm, transformers" in reason
    assert "pip install --no-deps voxcpm==2.0.3" in reason


def test_complete_folder_is_available(tiny_weights: tuple[Path, dict[str, Any]]) -> None:
    assert SPEC.availability(BackendOptions(weights_dir=str(tiny_weights[0]))) is None


def test_loader_reads_the_saved_weights(voxcpm_backend: VoxCPMBackend,
                                        tiny_weights: tuple[Path, dict[str, Any]]) -> None:
    import torch

    state = voxcpm_backend.model.state_dict()
    saved = tiny_weights[1]
    for name in ("base_lm.embed_tokens.weight", "stop_head.weight", "feat_decoder.estimator.in_proj.weight",
                 "audio_vae.decoder.model.0.weight_v"):
        if name in saved:
            assert torch.equal(state[name].cpu(), saved[name]), name
    assert all(torch.equal(state[name].cpu(), tensor) for name, tensor in saved.items())
    assert voxcpm_backend.device == "cpu" and voxcpm_backend.model.config.dtype == "float32"
    assert all(p.device.type == "cpu" for p in voxcpm_backend.model.parameters())
    assert voxcpm_backend.sample_rate == SPEC.sample_rate and voxcpm_backend.encode_rate == 16000
    assert isinstance(voxcpm_backend, VoiceBackend)
    # the package __init__ (hub downloads, the torchaudio-bound VoxCPM 1.x model) was never run
    assert "torchaudio" not in sys.modules and "voxcpm.core" not in sys.modules


def test_speaks_finite_mono_float32_at_the_declared_rate(
        voxcpm_backend: VoxCPMBackend, references: tuple[SynthesisRequest, np.ndarray, int]) -> None:
    out = voxcpm_backend.synthesize(references[0])
    assert out.sample_rate == SPEC.sample_rate == 48000
    assert out.audio.dtype == np.float32 and out.audio.ndim == 1
    assert len(out.audio) > 0 and len(out.audio) % 1920 == 0  # whole latent frames of AudioVAE V2
    assert np.all(np.isfinite(out.audio)) and 0 < np.max(np.abs(out.audio)) <= 1.0
    assert [(s.label, s.start, s.end) for s in out.segments] == [("Hello there.", 0, len(out.audio))]


@pytest.mark.slow
def test_the_seed_and_the_reference_decide_the_output(
        voxcpm_backend: VoxCPMBackend, references: tuple[SynthesisRequest, np.ndarray, int]) -> None:
    request, other_audio, other_rate = references

    def speak(changed: SynthesisRequest) -> np.ndarray:
        return voxcpm_backend.synthesize(changed).audio

    first = speak(request)
    np.testing.assert_array_equal(first, speak(request))
    variants = {
        "seed": replace(request, seed=7),
        "reference audio (same transcript)": replace(request, reference_audio=other_audio,
                                                     reference_sample_rate=other_rate),
        "reference audio (reference only)": replace(request, reference_audio=other_audio,
                                                    reference_sample_rate=other_rate, reference_text=None),
        "no transcript (reference only)": replace(request, reference_text=None),
        "style instruction": replace(request, emotion="angry", emotion_strength=1.0),
    }
    for what, changed in variants.items():
        audio = speak(changed)
        assert len(audio) != len(first) or not np.allclose(audio, first, atol=1e-5), what


def test_the_same_clip_at_another_rate_gives_the_same_speech(
        voxcpm_backend: VoxCPMBackend, references: tuple[SynthesisRequest, np.ndarray, int]) -> None:
    from revoice.engine.dsp.resample import resample

    request = references[0]
    assert request.reference_audio is not None and request.reference_sample_rate is not None
    at_16k = resample(request.reference_audio, request.reference_sample_rate, 16000)
    direct = voxcpm_backend.synthesize(replace(request, reference_audio=at_16k, reference_sample_rate=16000))
    np.testing.assert_array_equal(direct.audio, voxcpm_backend.synthesize(request).audio)


def test_bad_requests_are_refused_in_one_line(
        voxcpm_backend: VoxCPMBackend, references: tuple[SynthesisRequest, np.ndarray, int]) -> None:
    request = references[0]
    with pytest.raises(ValueError, match="reference_audio"):
        voxcpm_backend.synthesize(replace(request, reference_audio=None))
    with pytest.raises(ValueError, match="no emotion recording"):
        voxcpm_backend.synthesize(replace(request, emotion_audio=np.zeros(100, np.float32), emotion_sample_rate=16000))
    with pytest.raises(ValueError, match="nothing to say"):
        voxcpm_backend.synthesize(replace(request, text="  "))
    with pytest.raises(ValueError, match="non-empty finite"):
        voxcpm_backend.synthesize(replace(request, reference_audio=np.full(100, np.nan, np.float32)))


def test_style_instruction_words() -> None:
    assert style_instruction(None) is None and style_instruction("neutral") is None
    assert style_instruction("whisper") is None and style_instruction("angry:0") is None
    assert style_instruction("angry") == "very angry tone"
    assert style_instruction("sad:0.5") == "sad tone" and style_instruction("happy", strength=0.2) == "slightly happy tone"
    assert style_instruction("afraid", language="zh-CN") == "非常害怕的语气"
    assert style_instruction("softly, (almost) pleading.") == "softly, almost pleading"


def test_prompt_and_text_join_like_speech() -> None:
    assert continuation_text("smooth planks.", "Hello") == " Hello"
    assert continuation_text("你好。", "Hello") == "Hello" and continuation_text("the end", "我们") == "我们"
    assert continuation_text("", "Hello") == "Hello"


def test_pt_checkpoints_load_with_weights_only(tiny_weights: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    import torch

    folder = tmp_path / "pt"
    shutil.copytree(tiny_weights[0], folder)
    saved = tiny_weights[1]
    (folder / "model.safetensors").unlink()
    (folder / "audiovae.safetensors").unlink()
    torch.save({"state_dict": {k: v for k, v in saved.items() if not k.startswith("audio_vae.")}},
               str(folder / "pytorch_model.bin"))
    torch.save({k.removeprefix("audio_vae."): v for k, v in saved.items() if k.startswith("audio_vae.")},
               str(folder / "audiovae.pth"))
    backend = _fast(folder)
    assert torch.equal(backend.model.state_dict()["stop_head.weight"], saved["stop_head.weight"])
    # a pickled object that is not plain tensors is refused by weights_only
    torch.save({"state_dict": dict(saved), "evil": object()}, str(folder / "pytorch_model.bin"))
    with pytest.raises(Exception, match="[Ww]eights.only|Unsupported"):
        _fast(folder)


def test_wrong_weights_are_refused_in_one_line(tiny_weights: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    from safetensors.torch import save_file

    folder = tmp_path / "bad"
    shutil.copytree(tiny_weights[0], folder)
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps(dict(config, architecture="voxcpm")))
    with pytest.raises(ValueError, match=r"architecture 'voxcpm' is not supported; Revoice loads VoxCPM2") as info:
        _fast(folder)
    assert "\n" not in str(info.value)
    (folder / "config.json").write_text(json.dumps({k: v for k, v in config.items() if k != "lm_config"}))
    with pytest.raises(ValueError, match=r"config.json: field lm_config: Field required$"):
        _fast(folder)
    (folder / "config.json").write_text(json.dumps(config))
    saved = {k: v for k, v in tiny_weights[1].items() if not k.startswith("audio_vae.") and k != "stop_head.weight"}
    save_file(saved, str(folder / "model.safetensors"))
    with pytest.raises(ValueError, match=r"lacks 1 of the model's tensors \(first: stop_head.weight\)") as info:
        _fast(folder)
    assert "\n" not in str(info.value)


def test_loaded_through_the_registry_with_its_defaults(
        tiny_weights: tuple[Path, dict[str, Any]], references: tuple[SynthesisRequest, np.ndarray, int]) -> None:
    backend = load_backend(SPEC, BackendOptions(device="cpu", weights_dir=str(tiny_weights[0]), threads=1))
    assert isinstance(backend, VoxCPMBackend)
    out = backend.synthesize(replace(references[0], text="Hi."))
    assert out.sample_rate == 48000 and len(out.audio) > 0 and np.all(np.isfinite(out.audio))


def test_real_recording_as_reference(voxcpm_backend: VoxCPMBackend, shared_corpus: Path) -> None:
    import soundfile as sf

    path = shared_corpus / "voices" / "en_nature_ref.wav"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    audio, rate = sf.read(str(path), dtype="float32", always_2d=True)
    clip = audio[: rate * 6].mean(axis=1)
    out = voxcpm_backend.synthesize(SynthesisRequest(text="Six spoons of fresh snow peas.", voice_id="reference",
                                                     reference_audio=clip, reference_sample_rate=int(rate)))
    assert out.sample_rate == 48000 and len(out.audio) > 0 and np.all(np.isfinite(out.audio))


def test_cuda_request_without_cuda_falls_back_to_cpu(
        tiny_weights: tuple[Path, dict[str, Any]], references: tuple[SynthesisRequest, np.ndarray, int]) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("CUDA is present; the gpu test covers it")
    backend = _fast(tiny_weights[0], device="cuda")
    assert backend.device == "cpu"
    assert len(backend.synthesize(references[0]).audio) > 0


@pytest.mark.gpu
def test_runs_on_cuda(tiny_weights: tuple[Path, dict[str, Any]],
                      references: tuple[SynthesisRequest, np.ndarray, int]) -> None:
    import torch

    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    backend = _fast(tiny_weights[0], device="cuda")
    assert backend.device == "cuda"
    assert all(p.device.type == "cuda" for p in backend.model.parameters())
    out = backend.synthesize(references[0])
    assert out.sample_rate == 48000 and len(out.audio) > 0 and np.all(np.isfinite(out.audio))
    np.testing.assert_array_equal(out.audio, backend.synthesize(references[0]).audio)
