"""onnx_session: the optimized graph kept between processes gives the same samples, and a bad cache costs nothing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from revoice.engine.voices._shared import onnx_session
from revoice.engine.voices.base import BackendOptions

onnx = pytest.importorskip("onnx")


def tiny_model() -> bytes:
    """Conv -> Relu -> Conv, enough for onnxruntime's extended optimizations (fusions) to change the graph."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(3)
    w1 = numpy_helper.from_array(rng.standard_normal((8, 1, 5)).astype(np.float32), "w1")
    b1 = numpy_helper.from_array(rng.standard_normal(8).astype(np.float32), "b1")
    w2 = numpy_helper.from_array(rng.standard_normal((1, 8, 3)).astype(np.float32), "w2")
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w1", "b1"], ["h"], pads=[2, 2]),
         helper.make_node("Relu", ["h"], ["r"]),
         helper.make_node("Conv", ["r", "w2"], ["y"], pads=[1, 1])],
        "tiny", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, None])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1, None])], [w1, b1, w2])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return bytes(model.SerializeToString())


def run(session: object) -> np.ndarray:
    x = np.sin(np.arange(4000, dtype=np.float32) / 7.0).reshape(1, 1, -1)
    return np.asarray(session.run(None, {"x": x})[0])  # type: ignore[attr-defined]


def test_the_saved_graph_is_used_next_time_and_gives_the_same_samples(tmp_path: Path) -> None:
    options = BackendOptions(threads=1)
    calls: list[int] = []

    def model() -> bytes:
        calls.append(1)
        return tiny_model()

    plain = run(onnx_session(tiny_model(), options, default_threads=1))
    first = run(onnx_session(model, options, default_threads=1, optimized_name="tiny.1", cache_dir=tmp_path))
    saved = sorted(tmp_path.glob("tiny.1.ort*.onnx"))
    assert len(saved) == 1 and calls == [1]
    second = run(onnx_session(model, options, default_threads=1, optimized_name="tiny.1", cache_dir=tmp_path))
    assert calls == [1]  # the model was not even read: the saved graph loaded
    assert np.array_equal(first, second) and np.array_equal(first, plain)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left behind


def test_a_damaged_saved_graph_is_optimized_again(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    options = BackendOptions(threads=1)
    good = run(onnx_session(tiny_model, options, default_threads=1, optimized_name="tiny.2", cache_dir=tmp_path))
    (saved,) = tmp_path.glob("tiny.2.ort*.onnx")
    saved.write_bytes(b"not a model")
    again = run(onnx_session(tiny_model, options, default_threads=1, optimized_name="tiny.2", cache_dir=tmp_path))
    assert np.array_equal(good, again) and "optimizing again" in caplog.text
    assert saved.read_bytes() != b"not a model"


def test_a_cache_that_cannot_be_written_optimizes_in_memory(tmp_path: Path) -> None:
    blocked = tmp_path / "cache"
    blocked.write_text("a file where the folder should be", encoding="utf-8")
    options = BackendOptions(threads=1)
    out = run(onnx_session(tiny_model, options, default_threads=1, optimized_name="tiny.3", cache_dir=blocked))
    assert np.array_equal(out, run(onnx_session(tiny_model(), options, default_threads=1)))


def test_a_new_optimized_graph_deletes_the_ones_an_older_copy_of_its_model_left(tmp_path: Path) -> None:
    from revoice.engine.voices._shared import prune_stale_graphs

    names = ["voice.100-1.ort1.31.0.onnx", "voice.100-2.ort1.32.0.onnx",  # older copies of the model
             "voice.100-3.ort1.32.0.onnx",  # the one just written
             "voice.length1.100-1.ort1.32.0.onnx", "other.100-1.ort1.32.0.onnx", "voice.notes.txt"]
    for name in names:
        (tmp_path / name).write_bytes(b"x")
    removed = prune_stale_graphs(tmp_path / names[2])
    assert sorted(p.name for p in removed) == sorted(names[:2])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names[2:])
    assert prune_stale_graphs(tmp_path / "unnamed.onnx") == []  # not a cache name: nothing touched
