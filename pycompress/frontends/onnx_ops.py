"""ONNX ops beyond the layer table of onnx_import.py: attribute and padding checks, the activations,
adds, means and flattens, each onto an ordinary torch layer (or refused in one line naming the node)."""
from __future__ import annotations

import operator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from pycompress.core.errors import PycompressError

if TYPE_CHECKING:
    from .onnx_import import _Translator

def _fail(path: Path, node, text: str) -> PycompressError:
    return PycompressError(f"{path}: node {node.name or '(unnamed)'!r} ({node.op_type}): {text}")


ONNX_DOMAINS = ("", "ai.onnx")
# Attributes each op may carry; any other is refused (a new meaning the rebuild would ignore).
ATTRIBUTES = {
    "Conv": {"auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"},
    "Gemm": {"alpha", "beta", "transA", "transB"},
    "MatMul": set(), "Relu": set(), "Identity": set(), "GlobalAveragePool": set(),
    "Add": set(), "Constant": {"value", "value_int", "value_ints", "value_float", "value_floats"},
    "MaxPool": {"auto_pad", "ceil_mode", "dilations", "kernel_shape", "pads", "storage_order", "strides"},
    "AveragePool": {"auto_pad", "ceil_mode", "count_include_pad", "dilations", "kernel_shape", "pads", "strides"},
    "ReduceMean": {"axes", "keepdims", "noop_with_empty_axes"},
    "Flatten": {"axis"}, "Reshape": {"allowzero"}, "Squeeze": {"axes"},
    "BatchNormalization": {"epsilon", "momentum", "training_mode", "spatial"},
    "Dropout": {"ratio", "seed", "is_test"}, "Softmax": {"axis"},
    "Relu6": set(), "Tanh": set(), "Sigmoid": set(), "HardSwish": set(), "LeakyRelu": {"alpha"},
    "HardSigmoid": {"alpha", "beta"}, "Gelu": {"approximate"}, "Clip": {"min", "max"}, "Mul": set(),
}
# (fewest, most) inputs of each op; absent means (1, 1)
ARITY = {"Conv": (2, 3), "Gemm": (2, 3), "MatMul": (2, 2), "Add": (2, 2), "BatchNormalization": (5, 5),
         "Reshape": (2, 2), "Squeeze": (1, 2), "ReduceMean": (1, 2), "Dropout": (1, 3), "Constant": (0, 0),
         "Clip": (1, 3), "Mul": (2, 2)}


def _attrs(path: Path, node) -> dict:
    from onnx import helper

    allowed = ATTRIBUTES[node.op_type]
    out = {}
    for a in node.attribute:
        if a.name not in allowed:
            raise _fail(path, node, f"attribute {a.name!r} is not supported")
        out[a.name] = helper.get_attribute_value(a)
    return out


def _pads(path: Path, node, at: dict, kernel: tuple[int, ...], stride: tuple[int, ...], dil: tuple[int, ...],
          size: tuple[int, ...]) -> tuple[int, ...]:
    """Symmetric padding per spatial dimension: the `pads` given, or what auto_pad SAME_* works out to
    (ONNX: total = max((ceil(in / s) - 1) s + (k - 1) d + 1 - in, 0)) when it splits evenly."""
    k = len(kernel)
    pads = list(at.get("pads", [0] * 2 * k))
    auto = at.get("auto_pad", b"NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else str(auto)
    if auto in ("SAME_UPPER", "SAME_LOWER") and not any(pads):
        total = [max((-(-n // s) - 1) * s + (kk - 1) * d + 1 - n, 0) for n, kk, s, d in zip(size, kernel, stride, dil)]
        if any(tt % 2 for tt in total):
            raise _fail(path, node, f"auto_pad={auto} pads {total} in total: asymmetric padding is not supported")
        return tuple(tt // 2 for tt in total)
    if auto not in ("NOTSET", "VALID") or (auto == "VALID" and any(pads)):
        raise _fail(path, node, f"auto_pad={auto} with pads {pads} is not supported")
    if len(pads) != 2 * k or pads[:k] != pads[k:]:
        raise _fail(path, node, f"asymmetric pads {pads} are not supported")
    return tuple(int(p) for p in pads[:k])


def _pool_args(path: Path, node, at: dict, size: tuple[int, ...]) -> tuple:
    k = tuple(int(v) for v in at.get("kernel_shape", ()))
    if len(k) != 2:
        raise _fail(path, node, f"kernel_shape {list(k)}: only 2-D pooling is supported")
    strides = tuple(int(v) for v in at.get("strides", (1, 1)))
    dil = tuple(int(v) for v in at.get("dilations", (1, 1)))
    pad = _pads(path, node, at, k, strides, dil, size)
    if any(2 * p > kk for p, kk in zip(pad, k)):
        raise _fail(path, node, f"pads {list(pad)} larger than half the kernel {list(k)} are not supported")
    if len(node.output) > 1 and node.output[1]:
        raise _fail(path, node, "the Indices output is not supported")
    return k, strides, pad, dil, bool(at.get("ceil_mode", 0))


def _fill(m: nn.Module, **values) -> None:
    with torch.no_grad():
        for name, v in values.items():
            if v is None:
                continue
            dst = getattr(m, name)
            if tuple(dst.shape) != tuple(v.shape):
                raise PycompressError(f"internal error: {name} {tuple(v.shape)} vs {tuple(dst.shape)}")
            dst.copy_(v)


def _add(t: _Translator, node, ins: list[str]) -> None:
    path = t.path
    acts = [i for i in ins if i in t.env]
    if len(ins) == 2 and len(acts) == 2:
        a, b = (t.sample[i] for i in ins)
        if a.shape != b.shape:
            raise _fail(path, node, f"adds shapes {tuple(a.shape)} and {tuple(b.shape)}: only equal shapes (no broadcast)")
        t.env[node.output[0]] = t.fx.call_function(operator.add, (t.env[ins[0]], t.env[ins[1]]))
        t.sample[node.output[0]] = a + b
        return
    if len(ins) == 2 and len(acts) == 1 and acts[0] in t.bias_free and t.users.get(acts[0]) == 1:
        m = t.bias_free.pop(acts[0])
        other = ins[1] if ins[0] == acts[0] else ins[0]
        b = t.param(other, node, "bias", shared=True)
        if b.numel() != m.out_features or b.dim() > 2:
            raise _fail(path, node, f"bias of shape {tuple(b.shape)} is not one value per output ({m.out_features})")
        with torch.no_grad():
            m.bias.copy_(b.reshape(-1))
        t.env[node.output[0]] = t.env[acts[0]]
        t.sample[node.output[0]] = t.sample[acts[0]] + b.reshape(-1)
        return
    raise _fail(path, node, "only a residual add of two activations, or the bias after a MatMul, is supported")


def _reduce_mean(t: _Translator, node, at: dict, ins: list[str], src: str) -> None:
    axes = at.get("axes")
    if axes is None and len(ins) > 1 and ins[1]:
        axes = t.const(ins[1], node).reshape(-1).tolist()
    rank = t.sample[src].dim()
    if rank != 4 or axes is None or sorted(int(a) % 4 for a in axes) != [2, 3]:
        raise _fail(t.path, node, f"mean over axes {axes} of a rank-{rank} tensor: only over (H, W) of (N, C, H, W)")
    t.call(node, nn.AdaptiveAvgPool2d(1), src, out=node.output[0] + "\0pool")
    if int(at.get("keepdims", 1)):
        t.alias(node, node.output[0] + "\0pool")
    else:
        t.call(node, nn.Flatten(), node.output[0] + "\0pool")


def _flatten(t: _Translator, node, at: dict, ins: list[str], src: str) -> None:
    """Flatten(axis=1), Squeeze of trailing 1s and Reshape to (batch, -1) are all nn.Flatten."""
    x = t.sample[src]
    rest = int(np.prod(x.shape[1:]))
    if node.op_type == "Flatten":
        ok = int(at.get("axis", 1)) in (1, 1 - x.dim()) and x.dim() >= 2
        what = f"axis={at.get('axis', 1)}"
    elif node.op_type == "Squeeze":
        axes = at.get("axes")
        if axes is None and len(ins) > 1 and ins[1]:
            axes = t.const(ins[1], node).reshape(-1).tolist()
        axes = sorted(int(a) % x.dim() for a in axes) if axes is not None else None
        ok = x.dim() >= 3 and axes == list(range(2, x.dim())) and all(d == 1 for d in x.shape[2:])
        what = f"axes {axes} of shape {tuple(x.shape)}"
    else:
        dims = [int(d) for d in t.const(ins[1], node).reshape(-1).tolist()]
        copy = not int(at.get("allowzero", 0))  # a 0 copies the input's dimension
        if len(dims) == 2 and x.dim() >= 2:
            keeps = (dims[0] == 0 and copy) or dims[0] == t.declared_batch  # the batch, whatever its size
            features = int(x.shape[1]) if dims[1] == 0 and copy else dims[1]
            ok = (keeps or dims[0] == -1) and features == rest or keeps and features == -1
        else:
            ok = False
        what = f"to {dims} from {tuple(x.shape)}"
    if not ok:
        raise _fail(t.path, node, f"{what}: only a flatten to (batch, features) is supported")
    if x.dim() == 2:
        return t.alias(node, src)
    t.call(node, nn.Flatten(), src)


def float_attr(value) -> float:
    """A float32 attribute as the shortest decimal it came from (0.1, not 0.10000000149), as torch wrote it."""
    return float(str(np.float32(value)))


def activation(t: _Translator, node, at: dict, ins: list[str], src: str) -> None:
    """Relu6, Tanh, Sigmoid, LeakyRelu, Gelu, HardSigmoid (torch's 1/6 and 1/2), HardSwish, Clip with constant
    bounds; Mul of x and Sigmoid(x) is SiLU (how torch exports it)."""
    op, path = node.op_type, t.path
    if op == "Mul":
        return _silu(t, node, ins)
    if op == "Sigmoid":
        t.sigmoid_of[node.output[0]] = src
    if op in ("Relu6", "Tanh", "Sigmoid", "HardSwish"):
        return t.call(node, {"Relu6": nn.ReLU6, "Tanh": nn.Tanh, "Sigmoid": nn.Sigmoid, "HardSwish": nn.Hardswish}[op](), src)
    if op == "LeakyRelu":
        return t.call(node, nn.LeakyReLU(float_attr(at.get("alpha", 0.01))), src)
    if op == "Gelu":
        approx = at.get("approximate", b"none")
        approx = approx.decode() if isinstance(approx, bytes) else str(approx)
        if approx not in ("none", "tanh"):
            raise _fail(path, node, f"approximate={approx!r} is not supported")
        return t.call(node, nn.GELU(approx), src)
    if op == "HardSigmoid":
        alpha, beta = np.float32(at.get("alpha", 0.2)), np.float32(at.get("beta", 0.5))
        if alpha != np.float32(1 / 6) or beta != np.float32(0.5):
            raise _fail(path, node, f"alpha={alpha}, beta={beta}: only torch's hardsigmoid (alpha=1/6, beta=1/2) is supported")
        return t.call(node, nn.Hardsigmoid(), src)
    # Clip: bounds as inputs (opset >= 11) or attributes (older)
    lo = at.get("min") if len(ins) < 2 or not ins[1] else t.const(ins[1], node).reshape(-1)[0]
    hi = at.get("max") if len(ins) < 3 or not ins[2] else t.const(ins[2], node).reshape(-1)[0]
    if lo is None or hi is None or not np.isfinite(lo) or not np.isfinite(hi) or not lo < hi:
        raise _fail(path, node, f"Clip with bounds {lo}, {hi}: only finite constant bounds low < high are supported")
    lo, hi = float_attr(lo), float_attr(hi)
    return t.call(node, nn.ReLU6() if (lo, hi) == (0.0, 6.0) else nn.Hardtanh(lo, hi), src)


def _silu(t: _Translator, node, ins: list[str]) -> None:
    for x, s in (ins, ins[::-1]):
        if t.sigmoid_of.get(s) == x and x in t.env and t.users.get(s) == 1:
            return t.call(node, nn.SiLU(), x)  # the Sigmoid node is left without users: dropped as dead code
    raise _fail(t.path, node, "only x * Sigmoid(x) (SiLU) is supported")
