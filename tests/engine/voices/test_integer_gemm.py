"""Integer convolutions as signed GEMMs: the rewritten graph gives the same integers, and the CPU check guards it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from revoice.engine.voices import integer_gemm
from revoice.engine.voices.base import BackendOptions
from revoice.engine.voices.integer_gemm import (
    CHECK_MODEL,
    check_model_bytes,
    integer_gemm_session,
    rewrite_integer_ops,
    signed_gemm_is_exact,
)

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

CHANNELS, OUT = 6, 5


def _quantized_model(*, taps: int, dilation: int, pads: tuple[int, int], stride: int = 1) -> Any:
    """float x [1, CHANNELS, frames] -> DynamicQuantizeLinear -> ConvInteger -> MatMulInteger -> float, uint8 weights."""
    rng = np.random.default_rng(taps * 100 + dilation * 10 + pads[0])
    conv_w = rng.integers(0, 256, size=(OUT, CHANNELS, taps)).astype(np.uint8)
    dense_w = rng.integers(0, 256, size=(OUT, 3)).astype(np.uint8)
    nodes = [
        helper.make_node("DynamicQuantizeLinear", ["x"], ["xq", "xs", "xz"]),
        helper.make_node("ConvInteger", ["xq", "cw", "xz", "cwz"], ["conv"], kernel_shape=[taps],
                         dilations=[dilation], pads=list(pads), strides=[stride]),
        helper.make_node("Cast", ["conv"], ["convf"], to=TensorProto.FLOAT),
        helper.make_node("Transpose", ["convf"], ["rows"], perm=[0, 2, 1]),
        helper.make_node("DynamicQuantizeLinear", ["rows"], ["rq", "rs", "rz"]),
        helper.make_node("MatMulInteger", ["rq", "dw", "rz", "dwz"], ["dense"]),
        helper.make_node("Cast", ["dense"], ["y"], to=TensorProto.FLOAT),
    ]
    graph = helper.make_graph(
        nodes, "quantized", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, CHANNELS, None])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(conv_w, "cw"), numpy_helper.from_array(np.asarray(71, np.uint8), "cwz"),
         numpy_helper.from_array(dense_w, "dw"), numpy_helper.from_array(np.asarray(200, np.uint8), "dwz")])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _run(model: Any, x: np.ndarray) -> np.ndarray:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    return np.asarray(session.run(None, {"x": x})[0])


@pytest.fixture(scope="module")
def exact_here() -> None:
    if not signed_gemm_is_exact(ort):
        pytest.skip("this CPU's u8 x s8 GEMM saturates: the rewrite is not used here")


@pytest.mark.usefixtures("exact_here")
@pytest.mark.parametrize("frames", [1, 37, 400])
@pytest.mark.parametrize(("taps", "dilation", "pads"), [(1, 1, (0, 0)), (3, 1, (1, 1)), (11, 5, (25, 25)),
                                                        (7, 3, (9, 9)), (5, 1, (0, 4))])
def test_rewritten_graph_gives_the_same_numbers(frames: int, taps: int, dilation: int, pads: tuple[int, int]) -> None:
    if frames + pads[0] + pads[1] - dilation * (taps - 1) < 1:
        pytest.skip("no output frame")
    model = _quantized_model(taps=taps, dilation=dilation, pads=pads)
    x = np.random.default_rng(frames).normal(size=(1, CHANNELS, frames)).astype(np.float32) * 3
    before = _run(model, x)
    assert rewrite_integer_ops(model) == 2
    assert [n.op_type for n in model.graph.node].count("ConvInteger") == 0
    assert np.array_equal(_run(model, x), before)


def test_strided_convolutions_and_signed_weights_are_left_alone() -> None:
    model = _quantized_model(taps=3, dilation=1, pads=(1, 1), stride=2)
    assert rewrite_integer_ops(model) == 1  # the MatMulInteger only
    assert [n.op_type for n in model.graph.node].count("ConvInteger") == 1
    assert rewrite_integer_ops(model) == 0  # its weights are int8 now: nothing more to do


def test_old_opsets_are_left_alone() -> None:
    model = _quantized_model(taps=3, dilation=1, pads=(1, 1))
    model.opset_import[0].version = 11
    assert rewrite_integer_ops(model) == 0


def test_the_shipped_check_model_is_the_one_the_code_builds() -> None:
    assert (Path(integer_gemm.__file__).with_name(CHECK_MODEL)).read_bytes() == check_model_bytes()


class _Kernel:
    """A stand-in onnxruntime whose MatMulInteger either sums exactly or in saturating 16-bit pairs (AVX2 u8 x s8)."""

    def __init__(self, *, saturating: bool) -> None:
        self.saturating = saturating

    def SessionOptions(self) -> Any:  # noqa: N802 - onnxruntime's name
        return ort.SessionOptions()

    def InferenceSession(self, model: bytes, options: Any, providers: Any) -> Any:  # noqa: N802
        proto = onnx.load_from_string(model)
        weights = {i.name: numpy_helper.to_array(i).astype(np.int64) for i in proto.graph.initializer}
        saturating = self.saturating

        class Session:
            def run(self, _: Any, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
                a = feeds["a"].astype(np.int64)
                b = weights["b"]
                if not saturating:
                    return [((a - weights["az"]) @ (b - weights["bz"])).astype(np.int32)]
                pairs = a[:, :, None] * b[None, :, :]  # vpmaddubsw: raw u8 x s8 products summed in pairs, saturated
                pairs = np.clip(pairs[:, 0::2] + pairs[:, 1::2], -32768, 32767).sum(axis=1)
                corrections = (weights["az"] * b.sum(axis=0)[None, :] + weights["bz"] * a.sum(axis=1)[:, None]
                               - weights["az"] * weights["bz"] * a.shape[1])
                return [(pairs - corrections).astype(np.int32)]

        return Session()


def test_the_cpu_check_tells_a_saturating_kernel_from_an_exact_one() -> None:
    assert signed_gemm_is_exact(_Kernel(saturating=False)) is True
    assert signed_gemm_is_exact(_Kernel(saturating=True)) is False


def test_no_rewritten_session_on_cuda_or_a_saturating_cpu(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    model = tmp_path / "m.onnx"
    onnx.save(_quantized_model(taps=3, dilation=1, pads=(1, 1)), str(model))
    assert integer_gemm_session(model, BackendOptions(device="cuda"), default_threads=1) is None
    monkeypatch.setattr(integer_gemm, "signed_gemm_is_exact", lambda _ort: False)
    assert integer_gemm_session(model, BackendOptions(), default_threads=1) is None


@pytest.mark.usefixtures("exact_here")
def test_a_rewritten_session_is_kept_in_the_cache_and_runs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    model = tmp_path / "m.onnx"
    proto = _quantized_model(taps=3, dilation=1, pads=(1, 1))
    onnx.save(proto, str(model))
    session = integer_gemm_session(model, BackendOptions(), default_threads=1)
    assert session is not None
    x = np.random.default_rng(1).normal(size=(1, CHANNELS, 50)).astype(np.float32)
    assert np.array_equal(session.run(None, {"x": x})[0], _run(proto, x))
    assert [p.name for p in (tmp_path / ".cache" / "revoice" / "onnx").iterdir()][0].startswith("m.gemm1.")


def test_products_of_activations_not_quantized_in_the_graph_are_left_alone() -> None:
    """An int8 activation from outside (not DynamicQuantizeLinear's uint8) is not what the CPU check covers."""
    weights = np.random.default_rng(3).integers(0, 256, size=(4, 3)).astype(np.uint8)
    graph = helper.make_graph(
        [helper.make_node("MatMulInteger", ["a", "w", "az", "wz"], ["y"])], "outside",
        [helper.make_tensor_value_info("a", TensorProto.INT8, [None, 4]),
         helper.make_tensor_value_info("az", TensorProto.INT8, [])],
        [helper.make_tensor_value_info("y", TensorProto.INT32, None)],
        [numpy_helper.from_array(weights, "w"), numpy_helper.from_array(np.asarray(9, np.uint8), "wz")])
    assert rewrite_integer_ops(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])) == 0


def test_a_check_that_cannot_run_keeps_the_exported_graph(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(integer_gemm, "CHECK_MODEL", "no-such-check.onnx")
    assert signed_gemm_is_exact(ort) is False
