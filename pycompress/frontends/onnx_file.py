"""The ONNX side of an `.onnx` model: read as data, its one input and output, and run in onnxruntime to check a rebuild.

Reading: protobuf parsed, no code run, external tensors read only from the model's folder.

An ONNX model is a protobuf message, so parsing it runs nothing; the risks are size and the
external-data references (`location` is a path written by whoever made the file). So: the
file and its external data together are bounded (`MAX_BYTES`); `onnx.load` never follows
references (load_external_data=False); each reference is checked here (relative, inside the
model's folder after resolving links, a regular file, offset and length inside it, length equal
to what the tensor's shape and type need) and read into the tensor, so nothing else ever
opens a path taken from the file. Any failure is one line.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from torch import nn

from pycompress.core.errors import PycompressError
from pycompress.core.graph import MAX_ACTIVATION

MAX_BYTES = 2**31 - 1  # a protobuf message cannot be larger; external data counts towards it too
MAX_ELEMENTS = 2**36  # per tensor, as for a .pcz
CHECK_BATCH_VALUES = 4 * MAX_ACTIVATION  # a fixed batch: the onnxruntime check runs one whole batch
CHECK_RTOL, CHECK_ATOL = 1e-4, 1e-5  # onnxruntime sums in another order: ~5e-6 on the worked ResNet's logits


def onnx_module():
    """The `onnx` package, or one line saying how to get it."""
    try:
        import onnx
    except ImportError:
        raise PycompressError("reading .onnx files needs the `onnx` package (pip install onnx; "
                              "it is in requirements.txt)") from None
    return onnx


def load(path: Path):
    """The ModelProto of `path`, every external tensor read into it (after the checks above)."""
    from google.protobuf.message import DecodeError

    onnx = onnx_module()
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise PycompressError(f"{path}: {size:,} bytes; an .onnx file is at most {MAX_BYTES:,} bytes (protobuf limit)")
    try:
        model = onnx.load(str(path), load_external_data=False)
    except (DecodeError, RuntimeError, ValueError, UnicodeDecodeError) as exc:
        text = str(exc).strip().splitlines()
        raise PycompressError(f"{path}: not a readable ONNX model ({text[0][:200] if text else type(exc).__name__})") from None
    if not model.HasField("graph"):
        raise PycompressError(f"{path}: not an ONNX model (no graph in the protobuf message)")
    total = size
    for t in model.graph.initializer:
        _check_shape(path, t)
        if t.data_location == onnx.TensorProto.EXTERNAL:
            total += _read_external(path, t)
            if total > MAX_BYTES:
                raise PycompressError(f"{path}: the model and its external data exceed {MAX_BYTES:,} bytes")
    if len(model.graph.sparse_initializer):
        raise PycompressError(f"{path}: sparse initializers are not supported")
    return model


def _check_shape(path: Path, t) -> None:
    if any(d < 0 for d in t.dims) or int(np.prod([int(d) for d in t.dims], dtype=object)) > MAX_ELEMENTS:
        raise PycompressError(f"{path}: initializer {t.name!r} has shape {list(t.dims)} (negative or more than 2^36 values)")


def _nbytes(path: Path, t) -> int:
    from onnx import helper

    try:
        dtype = helper.tensor_dtype_to_np_dtype(t.data_type)
    except (KeyError, ValueError):
        raise PycompressError(f"{path}: initializer {t.name!r} has an unknown data type {t.data_type}") from None
    if np.dtype(dtype) == object or t.data_type == 8:  # strings
        raise PycompressError(f"{path}: initializer {t.name!r}: external string tensors are not supported")
    return int(np.prod([int(d) for d in t.dims], dtype=object)) * np.dtype(dtype).itemsize


def _read_external(path: Path, t) -> int:
    """Checks one external reference and reads its bytes into `t.raw_data`; returns their number."""
    info = {e.key: e.value for e in t.external_data}
    unknown = set(info) - {"location", "offset", "length", "checksum"}  # basepath: a second root, refused
    if unknown:
        raise PycompressError(f"{path}: initializer {t.name!r}: external-data keys {sorted(unknown)} are not supported")
    location = info.get("location", "")
    folder = path.resolve().parent
    where = Path(location)
    if not location or where.is_absolute() or ".." in where.parts or "\0" in location:
        raise PycompressError(f"{path}: initializer {t.name!r}: external data {location!r} is not a relative path "
                              "inside the model's folder")
    target = (folder / where).resolve()
    if not target.is_relative_to(folder) or not target.is_file():
        raise PycompressError(f"{path}: initializer {t.name!r}: external data {location!r} is not a regular file "
                              "inside the model's folder")
    try:
        offset = int(info.get("offset", "0"))
        length = int(info["length"]) if "length" in info else None
    except ValueError:
        raise PycompressError(f"{path}: initializer {t.name!r}: external-data offset/length are not integers") from None
    need = _nbytes(path, t)
    length = need if length is None else length
    if length != need or offset < 0 or offset + length > target.stat().st_size:
        raise PycompressError(f"{path}: initializer {t.name!r}: external data {location!r} offset {offset} length {length} "
                              f"does not hold the {need} bytes its shape {list(t.dims)} needs")
    with open(target, "rb") as f:
        f.seek(offset)
        data = f.read(length)
    if len(data) != length:
        raise PycompressError(f"{path}: initializer {t.name!r}: external data {location!r} ends early")
    t.raw_data = data
    t.data_location = 0  # DEFAULT: the tensor now holds its bytes
    del t.external_data[:]
    return length


def user_input(path: Path, g) -> tuple[str, tuple[int, ...], int | None]:
    """(name, shape without the batch, the batch size when fixed) of the one float32 input; one output."""
    inits = {i.name for i in g.initializer}
    inputs = [i for i in g.input if i.name not in inits]
    if len(inputs) != 1:
        raise PycompressError(f"{path}: the model takes {len(inputs)} inputs; one input tensor is supported")
    tt = inputs[0].type.tensor_type
    if not inputs[0].type.HasField("tensor_type") or tt.elem_type != 1:
        raise PycompressError(f"{path}: input {inputs[0].name!r} is not a float32 tensor")
    dims = [d.dim_value if d.HasField("dim_value") else None for d in tt.shape.dim]
    if len(dims) < 2 or any(d is None or d <= 0 for d in dims[1:]):
        raise PycompressError(f"{path}: input {inputs[0].name!r} has shape {dims}; expected (batch, ...) with fixed sizes")
    if len(g.output) != 1:
        raise PycompressError(f"{path}: the model returns {len(g.output)} outputs; one output tensor is supported")
    shape = tuple(int(d) for d in dims[1:])
    n = math.prod(shape)  # checked before any sample or check input is allocated: a 200-byte file may declare 2^40
    if n > MAX_ACTIVATION or (dims[0] or 1) * n > CHECK_BATCH_VALUES:
        from .export import Refused

        raise Refused(f"{path}: input {inputs[0].name!r} declares shape {dims}: more than {MAX_ACTIVATION:,} "
                              f"values per item (the activation limit) or {CHECK_BATCH_VALUES:,} in its fixed batch")
    return inputs[0].name, shape, dims[0]


def check_size(module: nn.Module, x: torch.Tensor, fail) -> None:
    """Raise `fail(why)` when the layer's output would exceed the activation limit, worked out on the meta device
    (no memory), so that pads or channels a file declares never make the sample run allocate it. Shapes that do
    not fit the layer pass here: the layer's own run reports them."""
    params = {k: torch.empty_like(v, device="meta") for k, v in module.state_dict().items()}
    try:
        shape = tuple(torch.func.functional_call(module, params, (torch.empty_like(x, device="meta"),)).shape)
    except Exception:  # noqa: BLE001 -- shapes that do not fit: the layer's own run reports them
        return
    if math.prod(shape) > MAX_ACTIVATION:
        raise fail(f"its output of shape {shape} exceeds the activation limit ({MAX_ACTIVATION:,} values)")


@torch.no_grad()
def check_onnxruntime(model, module: nn.Module, name: str, shape: tuple[int, ...], batch: int | None, path: Path) -> str:
    """The rebuilt module computes what onnxruntime computes, on seeded random inputs; '' or a note why unchecked."""
    try:
        import onnxruntime as ort
    except ImportError:
        return "not checked against onnxruntime (not installed)"
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL  # the graph as written
    opts.intra_op_num_threads = 1
    opts.log_severity_level = 3
    try:
        session = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
        x = torch.randn((batch or 2, *shape), generator=torch.Generator().manual_seed(0))
        want = torch.from_numpy(np.asarray(session.run(None, {name: x.numpy()})[0]))
    except Exception as exc:  # onnxruntime refuses what the file does not define properly
        raise PycompressError(f"{path}: onnxruntime cannot run the model ({str(exc).strip().splitlines()[0][:200]})") from None
    del session
    got = module(x)
    if got.shape != want.shape or not torch.allclose(got, want.to(got.dtype), rtol=CHECK_RTOL, atol=CHECK_ATOL,
                                                      equal_nan=True):
        diff = (got - want).abs().max().item() if got.shape == want.shape else float("nan")
        from .export import RebuildMismatch

        raise RebuildMismatch(f"{path}: internal error: the rebuilt module differs from onnxruntime on random inputs "
                              f"(max abs diff {diff:.3g})")
    return ""
