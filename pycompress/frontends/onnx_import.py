"""ONNX models (`.onnx`): the graph rebuilt as ordinary torch layers, like a `.pt2` program.

The file is read as data (`onnx_file.load`: protobuf, no code, external tensors only from the
model's folder). Each node becomes an `nn.Conv2d`, `nn.Linear`, `nn.BatchNorm2d`, ... in an fx
GraphModule, at the path its weight initializer names (`layer1.conv1.weight` -> `layer1.conv1`),
else at the node's name passed through `hwnames.sanitize_identifier`; the `.pt2` loader then
folds batch norm and extracts the hardware graph from it unchanged. Every attribute of a node
either maps onto the layer or the node is refused in one line naming it and its op. The rebuilt
module is checked against onnxruntime (when installed) on seeded random inputs of the model's
input shape.
"""
from __future__ import annotations

import operator
import re
from pathlib import Path

import numpy as np
import torch
from torch import nn

from pycompress.core.errors import PycompressError
from .export import Rebuilt
from .onnx_file import check_onnxruntime, check_size, user_input

ONNX_DOMAINS = ("", "ai.onnx")
_PART = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|[0-9]+")
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
}
# (fewest, most) inputs of each op; absent means (1, 1)
ARITY = {"Conv": (2, 3), "Gemm": (2, 3), "MatMul": (2, 2), "Add": (2, 2), "BatchNormalization": (5, 5),
         "Reshape": (2, 2), "Squeeze": (1, 2), "ReduceMean": (1, 2), "Dropout": (1, 3), "Constant": (0, 0)}


def _fail(path: Path, node, text: str) -> PycompressError:
    return PycompressError(f"{path}: node {node.name or '(unnamed)'!r} ({node.op_type}): {text}")


class _Translator:
    """Walks the (topologically sorted) ONNX nodes once, building an fx graph and a sample activation per value."""

    def __init__(self, model, path: Path) -> None:
        from onnx import numpy_helper

        self.path, self.g = path, model.graph
        self.inits = {t.name: t for t in self.g.initializer}
        self.consts: dict[str, np.ndarray] = {}
        self.to_array = numpy_helper.to_array
        self.root, self.fx = nn.Module(), torch.fx.Graph()
        self.env: dict[str, torch.fx.Node] = {}
        self.sample: dict[str, torch.Tensor] = {}
        self.paths, self.used_params = set[str](), set[str]()
        self.users: dict[str, int] = {}
        for n in self.g.node:
            for i in n.input:
                self.users[i] = self.users.get(i, 0) + 1
        for o in self.g.output:
            self.users[o.name] = self.users.get(o.name, 0) + 1
        self.bias_free: dict[str, nn.Linear] = {}  # MatMul outputs whose Add may supply the bias
        self.declared_batch: int | None = None  # the model input's batch size when fixed

    # ---- values -----------------------------------------------------------------------------------------
    def const(self, name: str, node) -> np.ndarray:
        if name in self.consts:
            return self.consts[name]
        if name in self.inits:  # not cached: each weight is read once, straight into its layer
            try:
                return self.to_array(self.inits[name])
            except Exception as exc:  # a malformed tensor (wrong byte count, type)
                raise _fail(self.path, node, f"initializer {name!r} cannot be read ({str(exc)[:120]})") from None
        raise _fail(self.path, node, f"input {name!r} is computed in the graph, not a stored constant; not supported")

    def param(self, name: str, node, what: str) -> torch.Tensor:
        if name in self.env:
            raise _fail(self.path, node, f"{what} {name!r} is computed in the graph, not an initializer; not supported")
        value = self.const(name, node)
        if value.dtype != np.float32:
            raise _fail(self.path, node, f"{what} {name!r} is {value.dtype}; only float32 weights are supported")
        if name in self.used_params:
            raise _fail(self.path, node, f"initializer {name!r} used by two layers (shared weights) is not supported")
        self.used_params.add(name)
        return torch.from_numpy(value.copy())

    def activation(self, name: str, node) -> str:
        if name not in self.env:
            raise _fail(self.path, node, f"input {name!r} is not the output of a supported layer")
        return name

    # ---- layers -----------------------------------------------------------------------------------------
    def place(self, node, weight: str | None, module: nn.Module) -> str:
        """Module path: the weight initializer's prefix when it is a valid, unused module path, else the node name."""
        scope = node.name.strip("/").split("/")[:-1] if weight and node.name.startswith("/") else []
        for prefix in (weight.rpartition(".")[0] if weight else "", ".".join(scope)):  # conv1.weight; /conv1/Conv
            if self._free(prefix):
                break
        else:
            from pycompress.core.identifiers import sanitize_identifier

            base = sanitize_identifier(node.name or node.op_type, prefix="layer")
            prefix, k = base, 1
            while prefix in self.paths or hasattr(nn.Module, prefix) or hasattr(self.root, prefix):
                k += 1
                prefix = f"{base}_{k}"
        self.paths.add(prefix)
        parent = self.root
        for part in prefix.split(".")[:-1]:
            if not hasattr(parent, part):
                parent.add_module(part, nn.Module())
            parent = getattr(parent, part)
        parent.add_module(prefix.split(".")[-1], module)
        return prefix

    def _free(self, prefix: str) -> bool:
        """A valid module path (torch names, not a Module attribute) that no placed module sits on, in or under."""
        return bool(prefix) and all(_PART.fullmatch(p) and not hasattr(nn.Module, p) for p in prefix.split(".")) and \
            not any(prefix == p or prefix.startswith(p + ".") or p.startswith(prefix + ".") for p in self.paths)

    def call(self, node, module: nn.Module, src: str, weight: str | None = None, out: str | None = None) -> None:
        module.eval()  # batch norm in training mode would update its running statistics on the sample
        target = self.place(node, weight, module)
        out = out or node.output[0]
        with torch.no_grad():
            check_size(module, self.sample[src], lambda why: _fail(self.path, node, why))  # before the run allocates
            try:
                self.sample[out] = module(self.sample[src])
            except Exception as exc:  # shapes that do not fit the layer
                raise _fail(self.path, node, f"does not fit its input of shape {tuple(self.sample[src].shape)} "
                                             f"({str(exc).splitlines()[0][:160]})") from None
        self.env[out] = self.fx.call_module(target, (self.env[src],))

    def alias(self, node, src: str) -> None:
        self.env[node.output[0]], self.sample[node.output[0]] = self.env[src], self.sample[src]


def _attrs(path: Path, node) -> dict:
    from onnx import helper

    allowed = ATTRIBUTES[node.op_type]
    out = {}
    for a in node.attribute:
        if a.name not in allowed:
            raise _fail(path, node, f"attribute {a.name!r} is not supported")
        out[a.name] = helper.get_attribute_value(a)
    return out


def _pads(path: Path, node, at: dict, k: int = 2) -> tuple[int, ...]:
    pads = list(at.get("pads", [0] * 2 * k))
    auto = at.get("auto_pad", b"NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else str(auto)
    if auto not in ("NOTSET", "VALID") or (auto == "VALID" and any(pads)):
        raise _fail(path, node, f"auto_pad={auto} is not supported (pads given explicitly are)")
    if len(pads) != 2 * k or pads[:k] != pads[k:]:
        raise _fail(path, node, f"asymmetric pads {pads} are not supported")
    return tuple(int(p) for p in pads[:k])


def _pool_args(path: Path, node, at: dict) -> tuple:
    k = tuple(int(v) for v in at.get("kernel_shape", ()))
    if len(k) != 2:
        raise _fail(path, node, f"kernel_shape {list(k)}: only 2-D pooling is supported")
    strides = tuple(int(v) for v in at.get("strides", (1, 1)))
    dil = tuple(int(v) for v in at.get("dilations", (1, 1)))
    pad = _pads(path, node, at)
    if any(2 * p > kk for p, kk in zip(pad, k)):
        raise _fail(path, node, f"pads {list(pad)} larger than half the kernel {list(k)} are not supported")
    if len(node.output) > 1 and node.output[1]:
        raise _fail(path, node, "the Indices output is not supported")
    return k, strides, pad, dil, bool(at.get("ceil_mode", 0))


def translate(t: _Translator, node) -> None:
    """One node into the fx graph (or a constant, or an alias)."""
    path, op = t.path, node.op_type
    if node.domain not in ONNX_DOMAINS or op not in ATTRIBUTES:
        raise _fail(path, node, f"op {node.domain + '::' if node.domain not in ONNX_DOMAINS else ''}{op} is not supported")
    at = _attrs(path, node)
    ins = list(node.input)
    lo, hi = ARITY.get(op, (1, 1))
    if not lo <= len(ins) <= hi or not all(ins[:lo]) or not node.output or not node.output[0]:
        raise _fail(path, node, f"{len(ins)} inputs and {len(node.output)} outputs: not a well-formed {op}")
    if op == "Constant":
        if len(at) != 1:
            raise _fail(path, node, "a Constant needs exactly one value attribute")
        value = at.get("value")
        t.consts[node.output[0]] = t.to_array(value) if value is not None else np.asarray(next(iter(at.values())))
        return
    if op == "Identity" and ins[0] not in t.env:  # a constant under another name (exporters deduplicate equal tensors)
        t.consts[node.output[0]] = t.const(ins[0], node)
        return
    src = t.activation(ins[0], node) if op not in ("Add",) else None
    if op == "Conv":
        w = t.param(ins[1], node, "weight")
        b = t.param(ins[2], node, "bias") if len(ins) > 2 and ins[2] else None
        if w.dim() != 4:
            raise _fail(path, node, f"weight of shape {tuple(w.shape)}: only 2-D convolutions are supported")
        if "kernel_shape" in at and tuple(at["kernel_shape"]) != tuple(w.shape[2:]):
            raise _fail(path, node, f"kernel_shape {list(at['kernel_shape'])} differs from the weight's {tuple(w.shape[2:])}")
        group = int(at.get("group", 1))
        stride = tuple(int(v) for v in at.get("strides", (1, 1)))
        dil = tuple(int(v) for v in at.get("dilations", (1, 1)))
        if group < 1 or w.shape[0] % group:
            raise _fail(path, node, f"group={group} does not divide the {w.shape[0]} output channels")
        m = nn.Conv2d(w.shape[1] * group, w.shape[0], tuple(w.shape[2:]), stride, _pads(path, node, at), dil, group,
                      bias=b is not None)
        _fill(m, weight=w, bias=b)
        return t.call(node, m, src, ins[1])
    if op in ("Gemm", "MatMul"):
        if t.sample[src].dim() != 2:
            raise _fail(path, node, f"input of rank {t.sample[src].dim()}: only (batch, features) inputs are supported")
        if float(at.get("alpha", 1.0)) != 1.0 or float(at.get("beta", 1.0)) != 1.0 or int(at.get("transA", 0)):
            raise _fail(path, node, f"alpha={at.get('alpha', 1.0)}, beta={at.get('beta', 1.0)}, transA={at.get('transA', 0)}: "
                                    "only alpha=1, beta=1, transA=0 are supported")
        w = t.param(ins[1], node, "weight")
        if w.dim() != 2:
            raise _fail(path, node, f"weight of shape {tuple(w.shape)} is not a matrix")
        w = w if int(at.get("transB", 0)) else w.t().contiguous()  # nn.Linear holds (out, in)
        b = t.param(ins[2], node, "bias") if op == "Gemm" and len(ins) > 2 and ins[2] else None
        if b is not None:
            if b.numel() != w.shape[0] or b.dim() > 2:
                raise _fail(path, node, f"bias of shape {tuple(b.shape)} is not one value per output ({w.shape[0]})")
            b = b.reshape(-1)
        m = nn.Linear(w.shape[1], w.shape[0], bias=b is not None or op == "MatMul")
        _fill(m, weight=w, bias=b)
        if op == "MatMul":
            with torch.no_grad():
                m.bias.zero_()
            t.bias_free[node.output[0]] = m
        return t.call(node, m, src, ins[1])
    if op == "Add":
        return _add(t, node, ins)
    if op == "BatchNormalization":
        if int(at.get("training_mode", 0)) or int(at.get("spatial", 1)) != 1 or len([o for o in node.output if o]) > 1:
            raise _fail(path, node, "training mode (or spatial=0, or running-statistics outputs) is not supported; "
                                    "export the model after model.eval()")
        scale, bias, mean, var = (t.param(n, node, "batch-norm tensor") for n in ins[1:5])
        rank = t.sample[src].dim()
        cls = {4: nn.BatchNorm2d, 2: nn.BatchNorm1d}.get(rank)
        if cls is None:
            raise _fail(path, node, f"batch norm on a rank-{rank} tensor is not supported")
        eps = float(str(np.float32(at.get("epsilon", 1e-5))))  # a float32 attribute: the shortest decimal it came from
        m = cls(mean.numel(), eps=eps)
        _fill(m, weight=scale, bias=bias, running_mean=mean, running_var=var)
        return t.call(node, m, src, ins[1])
    if op == "Relu":
        return t.call(node, nn.ReLU(), src)
    if op in ("MaxPool", "AveragePool"):
        k, s, pad, dil, ceil = _pool_args(path, node, at)
        if op == "MaxPool":
            return t.call(node, nn.MaxPool2d(k, s, pad, dil, ceil_mode=ceil), src)
        if dil != (1, 1):
            raise _fail(path, node, f"dilations {list(dil)} are not supported")
        return t.call(node, nn.AvgPool2d(k, s, pad, ceil, bool(at.get("count_include_pad", 0))), src)
    if op == "GlobalAveragePool":
        if t.sample[src].dim() != 4:
            raise _fail(path, node, "only 2-D (N, C, H, W) inputs are supported")
        return t.call(node, nn.AdaptiveAvgPool2d(1), src)
    if op == "ReduceMean":
        return _reduce_mean(t, node, at, ins, src)
    if op in ("Flatten", "Reshape", "Squeeze"):
        return _flatten(t, node, at, ins, src)
    if op in ("Dropout", "Identity"):
        training = t.const(ins[2], node) if op == "Dropout" and len(ins) > 2 and ins[2] else np.array(False)
        if bool(training.reshape(-1)[0]) or (len(node.output) > 1 and node.output[1] and t.users.get(node.output[1])):
            raise _fail(path, node, "dropout in training mode (or its mask output) is not supported")
        return t.alias(node, src)
    if op == "Softmax":
        axis = int(at.get("axis", -1))
        if t.sample[src].dim() != 2 or axis not in (1, -1):
            raise _fail(path, node, f"softmax over axis {axis} of a rank-{t.sample[src].dim()} tensor: only over the "
                                    "classes of (batch, classes) is supported")
        return t.call(node, nn.Softmax(dim=1), src)
    raise _fail(path, node, f"op {op} is not supported")  # pragma: no cover (ATTRIBUTES lists the ops above)


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
        b = t.param(other, node, "bias")
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


def rebuild(model, path: Path) -> tuple[Rebuilt, str]:
    """The ONNX graph as an fx GraphModule of torch layers (eval mode), checked against onnxruntime; and a note."""
    name, shape, batch = user_input(path, model.graph)
    t = _Translator(model, path)
    t.declared_batch = batch
    t.env[name] = t.fx.placeholder("x")
    t.sample[name] = torch.zeros((1, *shape))
    left = dict(t.users)  # uses of each value still to come: samples are freed after their last use
    for node in model.graph.node:
        try:
            translate(t, node)
        except PycompressError:
            raise
        except (ValueError, TypeError, RuntimeError, IndexError, KeyError, OverflowError) as exc:  # malformed attributes
            text = str(exc).strip().splitlines()
            raise _fail(path, node, f"malformed ({text[0][:160] if text else type(exc).__name__})") from None
        for value in node.input:
            left[value] = left.get(value, 1) - 1
            if left[value] <= 0:
                t.sample.pop(value, None)
    out = model.graph.output[0].name
    if out not in t.env:
        raise PycompressError(f"{path}: the output {out!r} is not the output of a supported layer")
    t.fx.output(t.env[out])
    module = torch.fx.GraphModule(t.root, t.fx, class_name="RebuiltOnnx").eval()
    return Rebuilt(module, shape), check_onnxruntime(model, module, name, shape, batch, path)


def load(path: Path) -> tuple[Rebuilt, str]:
    """Parse (as data) and rebuild `path`; (the module and its input shape, a note when unchecked)."""
    from .onnx_file import load as load_proto

    return rebuild(load_proto(path), path)
