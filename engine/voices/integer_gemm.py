"""Run a dynamically quantized ONNX model's integer convolutions as signed GEMMs: same integers, 3-4x faster.

Kokoro's int8 export (and any ``onnxruntime.quantization.quantize_dynamic`` model
with unsigned weights) computes each convolution as ``ConvInteger`` over uint8
activations and uint8 weights. onnxruntime's CPU kernel for that pair is a
generic im2col + u8u8 GEMM: 55 ms for one of Kokoro's 128-channel, 11-tap
convolutions over 21121 frames, about 65 % of a sentence's render. Its u8 x s8
``MatMulInteger`` runs on the CPU's int8 dot-product instructions (VNNI, AMX):
5 ms for the same product.

:func:`rewrite_integer_ops` rewrites the graph, exactly:

* a weight ``w`` (uint8, zero point ``z``) becomes ``w - 128`` (int8) with zero
  point ``z - 128``, so ``(w - z)`` and therefore every int32 sum are unchanged;
* a 1-D ``ConvInteger`` (one group, stride 1, any dilation and padding) becomes
  Transpose -> Pad (with the input's zero point, as ``ConvInteger`` pads) ->
  Gather (the unfolded taps, frame by frame) -> ``MatMulInteger`` -> Transpose:
  14 ms against 55 ms, the same int32 output;
* a ``MatMulInteger`` with uint8 weights gets the same signed weights.

Some CPUs without VNNI compute u8 x s8 products in 16-bit pairs that saturate,
which would change the sums: :func:`signed_gemm_is_exact` checks this machine's
kernel on products built to saturate, and the caller keeps the original graph
where it is not exact. Needs the ``onnx`` package (imported by the caller).
"""

from __future__ import annotations

import importlib
import logging
from pathlib import Path
from typing import Any

import numpy as np

_LOGGER = logging.getLogger(__name__)

GRAPH_VERSION = 1
"""Joins the rewritten graph's cache name; raise it when the rewrite changes."""
_PREFIX = "revoice_gemm"


def rewrite_integer_ops(model: Any) -> int:
    """Rewrite ``model`` (an ``onnx.ModelProto``) in place as described above; the number of nodes rewritten.

    Nodes whose input is not quantized in the graph (``DynamicQuantizeLinear``, uint8), whose weights or
    zero points are not constant (initializers) or already int8, convolutions with groups, strides or
    more than one spatial axis, and per-channel zero points are left as they are.
    """
    onnx = importlib.import_module("onnx")
    numpy_helper = importlib.import_module("onnx.numpy_helper")
    if not any(item.domain in ("", "ai.onnx") and item.version >= 13 for item in model.opset_import):
        return 0  # Unsqueeze with axes as an input, Pad with a constant input: opset 13
    graph = model.graph
    initializers = {item.name: item for item in graph.initializer}
    # activations quantized in the graph are uint8 (DynamicQuantizeLinear): the u8 x s8 product the check covers
    unsigned = {node.output[0] for node in graph.node if node.op_type == "DynamicQuantizeLinear"}
    constants: dict[str, Any] = {}
    rewritten = 0
    nodes: list[Any] = []

    def constant(name: str, value: np.ndarray) -> str:
        if name not in constants:
            constants[name] = numpy_helper.from_array(value, name)
        return name

    def signed(weight: str, zero_point: str, *, layout: str, suffix: str) -> tuple[str, str] | None:
        """(int8 weight name, int8 zero point name) for a uint8 initializer weight; None when not rewritable."""
        if weight not in initializers or zero_point not in initializers:
            return None
        w = numpy_helper.to_array(initializers[weight])
        z = numpy_helper.to_array(initializers[zero_point])
        if w.dtype != np.uint8 or z.dtype != np.uint8 or z.size != 1:
            return None
        if layout == "conv":  # [out, in, taps] -> [tap * in + channel, out]
            out, channels, taps = w.shape
            w = w.transpose(2, 1, 0).reshape(taps * channels, out)
        shifted = (w.astype(np.int16) - 128).astype(np.int8)
        return (constant(f"{_PREFIX}/{suffix}/w", shifted),
                constant(f"{_PREFIX}/{suffix}/wzp", np.asarray(int(z.reshape(())) - 128, dtype=np.int8)))

    for index, node in enumerate(graph.node):
        suffix = f"{index}"
        if node.op_type in ("MatMulInteger", "ConvInteger") and node.input[0] not in unsigned:
            nodes.append(node)
            continue
        if node.op_type == "MatMulInteger" and len(node.input) >= 4 and node.input[3]:
            weights = signed(node.input[1], node.input[3], layout="matmul", suffix=suffix)
            if weights is not None:
                nodes.append(onnx.helper.make_node(
                    "MatMulInteger", [node.input[0], weights[0], node.input[2], weights[1]], list(node.output),
                    name=node.name))
                rewritten += 1
                continue
        if node.op_type == "ConvInteger":
            replacement = _conv_as_gemm(node, initializers, signed, constant, suffix, onnx, numpy_helper)
            if replacement is not None:
                nodes.extend(replacement)
                rewritten += 1
                continue
        nodes.append(node)
    if rewritten:
        del graph.node[:]
        graph.node.extend(nodes)
        graph.initializer.extend(constants.values())
        used = {name for node in graph.node for name in node.input}
        kept = [item for item in graph.initializer if item.name in used]
        del graph.initializer[:]
        graph.initializer.extend(kept)
    return rewritten


def _conv_as_gemm(node: Any, initializers: dict[str, Any], signed: Any, constant: Any, suffix: str,
                  onnx: Any, numpy_helper: Any) -> list[Any] | None:
    """The nodes computing a 1-D, one-group, stride-1 ``ConvInteger`` as an unfolded ``MatMulInteger``, or None."""
    attributes = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
    if len(node.input) < 4 or not node.input[3] or node.input[1] not in initializers:
        return None
    shape = tuple(initializers[node.input[1]].dims)
    if len(shape) != 3 or attributes.get("group", 1) != 1 or list(attributes.get("strides", [1])) != [1]:
        return None
    if attributes.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
        return None
    _, channels, taps = shape
    dilation = int(list(attributes.get("dilations", [1]))[0])
    pads = list(attributes.get("pads", [0, 0]))
    weights = signed(node.input[1], node.input[3], layout="conv", suffix=suffix)
    if weights is None:
        return None
    x, y = node.input[0], node.output[0]
    x_zero = node.input[2] if len(node.input) > 2 and node.input[2] else constant(
        f"{_PREFIX}/u8zero", np.asarray(0, dtype=np.uint8))
    name = f"{_PREFIX}/{suffix}"
    span = dilation * (taps - 1)
    out_length_offset = pads[0] + pads[1] - span  # frames out = frames in + this
    made = [
        onnx.helper.make_node("Transpose", [x], [f"{name}/xt"], perm=[0, 2, 1]),
        onnx.helper.make_node("Pad", [f"{name}/xt", constant(f"{name}/pads", np.asarray(
            [0, pads[0], 0, 0, pads[1], 0], dtype=np.int64)), x_zero], [f"{name}/xp"], mode="constant"),
        onnx.helper.make_node("Shape", [x], [f"{name}/shape"]),
        onnx.helper.make_node("Gather", [f"{name}/shape", constant(f"{_PREFIX}/i64two", np.asarray(
            2, dtype=np.int64))], [f"{name}/frames"], axis=0),
        onnx.helper.make_node("Add", [f"{name}/frames", constant(f"{name}/grow", np.asarray(
            out_length_offset, dtype=np.int64))], [f"{name}/count"]),
        onnx.helper.make_node("Range", [constant(f"{_PREFIX}/i64zero", np.asarray(0, dtype=np.int64)),
                                        f"{name}/count", constant(f"{_PREFIX}/i64one", np.asarray(1, dtype=np.int64))],
                              [f"{name}/starts"]),
        onnx.helper.make_node("Unsqueeze", [f"{name}/starts", constant(f"{_PREFIX}/axis1", np.asarray(
            [1], dtype=np.int64))], [f"{name}/column"]),
        onnx.helper.make_node("Add", [f"{name}/column", constant(f"{name}/taps", (np.arange(
            taps, dtype=np.int64) * dilation).reshape(1, taps))], [f"{name}/index"]),
        onnx.helper.make_node("Gather", [f"{name}/xp", f"{name}/index"], [f"{name}/patches"], axis=1),
        onnx.helper.make_node("Reshape", [f"{name}/patches", constant(f"{name}/rows", np.asarray(
            [0, -1, taps * channels], dtype=np.int64))], [f"{name}/unfolded"]),
        onnx.helper.make_node("MatMulInteger", [f"{name}/unfolded", weights[0], x_zero, weights[1]],
                              [f"{name}/yt"]),
        onnx.helper.make_node("Transpose", [f"{name}/yt"], [y], perm=[0, 2, 1], name=node.name),
    ]
    if taps == 1 and pads == [0, 0]:  # a 1x1 convolution: no unfolding
        made = [made[0],
                onnx.helper.make_node("MatMulInteger", [f"{name}/xt", weights[0], x_zero, weights[1]],
                                      [f"{name}/yt"]),
                made[-1]]
    return made


CHECK_MODEL = "signed_gemm_check.onnx"
"""The saturation check's one-node model, shipped beside this module (built by :func:`check_model_bytes`)."""


def _check_operands() -> tuple[np.ndarray, np.ndarray, int, int]:
    """(a uint8, b int8, a's zero point, b's zero point) of a product whose 16-bit pair sums saturate (255 x -128)."""
    rng = np.random.default_rng(0)
    a = rng.choice(np.asarray([0, 1, 254, 255], dtype=np.uint8), size=(64, 256))
    b = rng.choice(np.asarray([-128, -127, 126, 127], dtype=np.int8), size=(256, 32))
    a[0, :], b[:, 0] = 255, -128
    return a, b, 3, -5


def check_model_bytes() -> bytes:
    """The check's model: ``MatMulInteger(a, B, 3, -5)`` with the constant int8 ``B`` (needs ``onnx``)."""
    onnx = importlib.import_module("onnx")
    numpy_helper = importlib.import_module("onnx.numpy_helper")
    a, b, a_zero, b_zero = _check_operands()
    graph = onnx.helper.make_graph(
        [onnx.helper.make_node("MatMulInteger", ["a", "b", "az", "bz"], ["y"])], "signed_gemm_check",
        [onnx.helper.make_tensor_value_info("a", onnx.TensorProto.UINT8, [None, a.shape[1]])],
        [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.INT32, None)],
        [numpy_helper.from_array(b, "b"), numpy_helper.from_array(np.asarray(a_zero, dtype=np.uint8), "az"),
         numpy_helper.from_array(np.asarray(b_zero, dtype=np.int8), "bz")])
    model = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 13)], ir_version=8,
                                   producer_name="revoice")
    return bytes(model.SerializeToString())


def signed_gemm_is_exact(ort: Any) -> bool:
    """Whether onnxruntime's u8 x s8 ``MatMulInteger`` gives exact int32 sums on this CPU (no 16-bit saturation).

    Runs the shipped one-node model (:data:`CHECK_MODEL`) on a product built to
    saturate 16-bit pair sums and compares it with numpy's exact one; a few
    milliseconds, no ``onnx`` import. False, with a warning, when the check itself cannot run.
    """
    a, b, a_zero, b_zero = _check_operands()
    try:
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        model = (Path(__file__).with_name(CHECK_MODEL)).read_bytes()
        session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
        got = session.run(None, {"a": a})[0]
    except Exception as exc:  # noqa: BLE001 - no check (a damaged install): the graphs run as exported
        _LOGGER.warning("the int8 GEMM check could not run (%s); models run their own integer convolutions", exc)
        return False
    want = (a.astype(np.int64) - a_zero) @ (b.astype(np.int64) - b_zero)
    return bool(np.array_equal(np.asarray(got, dtype=np.int64), want))


def integer_gemm_session(model: Path, options: Any, *, default_threads: int) -> Any | None:
    """An onnxruntime session of ``model`` with its integer ops rewritten (kept optimized in the ONNX cache), or None.

    None, and the caller loads the model as it is, when ``options.device`` asks for
    CUDA (its own kernels), the ``onnx`` package is missing, this CPU's signed
    GEMM is not exact (:func:`signed_gemm_is_exact`) or nothing in the graph can
    be rewritten. The first load ever rewrites and optimizes the graph (about 2 s);
    later loads read the cached one.
    """
    import importlib.util

    from revoice.engine.voices._shared import onnx_session

    if str(options.device).startswith("cuda") or importlib.util.find_spec("onnx") is None:
        return None
    ort = importlib.import_module("onnxruntime")
    if not signed_gemm_is_exact(ort):
        _LOGGER.info("%s: this CPU's int8 GEMM saturates; running the model's own integer convolutions", model.name)
        return None

    def rewritten() -> bytes:  # only when the rewritten graph is not in the ONNX cache yet
        onnx = importlib.import_module("onnx")
        proto = onnx.load(str(model))
        if not rewrite_integer_ops(proto):
            raise ValueError("no integer convolution or product with constant uint8 weights")
        return bytes(proto.SerializeToString())

    stat = model.stat()
    try:
        return onnx_session(rewritten, options, default_threads=default_threads,
                            optimized_name=f"{model.stem}.gemm{GRAPH_VERSION}.{stat.st_size}-{stat.st_mtime_ns}")
    except Exception as exc:  # noqa: BLE001 - another export: the model runs as it is, same samples
        _LOGGER.info("%s: integer ops not rewritten (%s); running the model as it is", model.name, exc)
        return None
