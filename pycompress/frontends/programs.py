"""A model file run as it is, for any architecture: the `.pt2` program (`ExportedProgram.module()`) or
the ONNX graph in onnxruntime, with given weights loaded into it.

This is the fallback when a program cannot be rebuilt from torch layers (an op the rebuild does not
know): the weights-only commands (stats, compress, decompress, cluster) still read its tensors, and
the commands that evaluate still run the user's own network with compressed weights. There is no
layer graph then, so no hardware; the note says why.
"""
from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Callable, Mapping

import numpy as np
import torch
from torch import nn

from pycompress.core.errors import PycompressError


class FixedBatch(nn.Module):
    """Runs a callable whose batch size was fixed at export on any batch: in chunks, the last padded
    with zeros (rows are independent in eval mode). `train()` does not reach the program, which
    refuses it; these modules evaluate only."""

    def __init__(self, run: Callable[[torch.Tensor], torch.Tensor], batch: int | None):
        super().__init__()
        self.run, self.batch = run, batch  # a module `run` is a submodule: parameters() counts its weights

    def train(self, mode: bool = True) -> "FixedBatch":
        self.training = mode
        return self

    @torch.no_grad()
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.batch is None or len(x) == self.batch:
            return self.run(x)
        outs = []
        for i in range(0, len(x), self.batch):
            chunk = x[i:i + self.batch]
            n = len(chunk)
            if n < self.batch:
                chunk = torch.cat([chunk, chunk.new_zeros((self.batch - n, *chunk.shape[1:]))])
            outs.append(self.run(chunk)[:n])
        return torch.cat(outs)


def _check_weights(path: str, own: Mapping[str, torch.Tensor], given: Mapping[str, torch.Tensor]) -> dict:
    missing = sorted(set(own) - set(given))
    if missing:
        raise PycompressError(f"{path}: the weights lack {', '.join(missing[:3])}")
    for k, v in own.items():
        if tuple(given[k].shape) != tuple(v.shape):
            raise PycompressError(f"{path}: tensor {k} has shape {tuple(given[k].shape)}, the program needs {tuple(v.shape)}")
    return {k: given[k].to(v.dtype) for k, v in own.items()}


def _bounded(path: Path, shapes, what: str) -> None:
    """Every intermediate value of a program run as it is has a known size within the limit (what a file
    declares is never allocated on trust): per item, batch dimension aside, at most MAX_ACTIVATION values."""
    from pycompress.core.graph import MAX_ACTIVATION

    from .export import Refused

    for name, dims in shapes:
        if dims is None or any(d is None for d in dims[1:]):
            raise Refused(f"{path}: {what} {name!r} has no static shape ({dims}): cannot bound it to run the model as it is")
        if math.prod(dims[1:]) > MAX_ACTIVATION:
            raise Refused(f"{path}: {what} {name!r} of shape {list(dims)} exceeds the activation limit "
                          f"({MAX_ACTIVATION:,} values per item)")


def _pt2_shapes(ep):
    for node in ep.graph.nodes:
        vals = node.meta.get("val")
        for i, v in enumerate(vals if isinstance(vals, (list, tuple)) else [vals]):
            if isinstance(v, torch.Tensor):
                dims = []
                for d in v.shape:
                    try:
                        dims.append(int(d))
                    except Exception:  # noqa: BLE001 -- a symbolic size without a value
                        dims.append(None)
                yield (node.name if i == 0 else f"{node.name}[{i}]"), (dims or [1, 1])


def _onnx_shapes(model, path: Path):
    from onnx import shape_inference

    try:
        inferred = shape_inference.infer_shapes(model, strict_mode=False)
    except Exception as exc:  # noqa: BLE001 -- onnx raises many kinds on a malformed graph
        from .export import Refused

        raise Refused(f"{path}: cannot infer the model's shapes ({str(exc).splitlines()[0][:160]})") from None
    g = inferred.graph
    inits = {t.name for t in g.initializer}
    for v in list(g.value_info) + list(g.output):
        if v.name in inits or not v.type.HasField("tensor_type"):
            continue
        shape = v.type.tensor_type.shape if v.type.tensor_type.HasField("shape") else None
        dims = None if shape is None else [d.dim_value if d.HasField("dim_value") else None for d in shape.dim]
        yield v.name, ([1] + dims if dims is not None and len(dims) == 1 else dims)
    for n in g.node:  # a value shape inference left without any entry
        for o in n.output:
            if o and o not in {v.name for v in g.value_info} and o not in {v.name for v in g.output}:
                yield o, None


def pt2_program(ep, path: Path) -> tuple[dict[str, torch.Tensor], Callable, tuple[int, ...]]:
    """(state_dict, build(weights) -> module, input shape) of an exported program run as it is."""
    _bounded(path, _pt2_shapes(ep), "value")
    user = [s.arg.name for s in ep.graph_signature.input_specs if s.kind.name == "USER_INPUT"]
    node = next((n for n in ep.graph.nodes if n.op == "placeholder" and n.name in user), None)
    val = node.meta.get("val") if node is not None and len(user) == 1 else None
    if val is None or not hasattr(val, "shape") or len(val.shape) < 2:
        raise PycompressError(f"{path}: the program takes {len(user)} inputs; one (batch, ...) input tensor is supported")
    dims = list(val.shape)
    if not all(isinstance(d, int) for d in dims[1:]):
        raise PycompressError(f"{path}: the program's input has shape {dims}; expected fixed sizes after the batch")
    batch = dims[0] if isinstance(dims[0], int) else None
    template = ep.module()
    own = {k: v.detach() for k, v in template.state_dict().items()}

    def build(weights: Mapping[str, torch.Tensor]) -> nn.Module:
        m = copy.deepcopy(template)
        m.load_state_dict(_check_weights(str(path), own, weights))
        return FixedBatch(m, batch)

    return {k: v.clone() for k, v in own.items()}, build, tuple(int(d) for d in dims[1:])


def onnx_program(model, path: Path) -> tuple[dict[str, torch.Tensor], Callable, tuple[int, ...]]:
    """(state_dict of the initializers, build(weights) -> module running onnxruntime, input shape)."""
    from onnx import numpy_helper

    from .onnx_file import user_input

    try:
        import onnxruntime as ort
    except ImportError:
        raise PycompressError(f"{path}: running this ONNX model needs onnxruntime (pip install onnxruntime)") from None
    name, shape, batch = user_input(path, model.graph)
    _bounded(path, _onnx_shapes(model, path), "value")
    own = {}
    for t in model.graph.initializer:
        try:
            own[t.name] = torch.from_numpy(np.array(numpy_helper.to_array(t)))
        except (TypeError, ValueError) as exc:  # a type torch has no dtype for (strings, ...)
            raise PycompressError(f"{path}: initializer {t.name!r} cannot be read as a tensor ({exc})") from None

    def build(weights: Mapping[str, torch.Tensor]) -> nn.Module:
        given = _check_weights(str(path), own, weights)
        proto = copy.deepcopy(model)
        for t in proto.graph.initializer:
            t.CopyFrom(numpy_helper.from_array(given[t.name].numpy(), t.name))
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.log_severity_level = 3
        session = ort.InferenceSession(proto.SerializeToString(), opts, providers=["CPUExecutionProvider"])

        def run(x: torch.Tensor) -> torch.Tensor:
            return torch.from_numpy(np.asarray(session.run(None, {name: x.numpy().astype(np.float32)})[0]))

        return FixedBatch(run, batch)

    return {k: v.clone() for k, v in own.items()}, build, shape
