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

import re
from pathlib import Path

import numpy as np
import torch
from torch import nn

from pycompress.core.errors import PycompressError
from .export import Rebuilt, Refused
from .onnx_file import check_onnxruntime, check_size, user_input
from .onnx_ops import (ARITY, ATTRIBUTES, ONNX_DOMAINS, _add, _attrs, _fail, _fill, _flatten, _pads, _pool_args,
    _reduce_mean, activation)

_PART = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|[0-9]+")


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
        self.sigmoid_of: dict[str, str] = {}  # Sigmoid output -> its input (a Mul of the two is SiLU)
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

    def param(self, name: str, node, what: str, shared: bool = False) -> torch.Tensor:
        """A float32 initializer; `shared`: it may also feed another node, each layer getting its own copy
        (biases and batch-norm statistics: exporters store equal tensors once, such as the equal biases of
        convolutions with batch norm fused in). A weight used twice is tied: refused."""
        if name in self.env:
            raise _fail(self.path, node, f"{what} {name!r} is computed in the graph, not an initializer; not supported")
        value = self.const(name, node)
        if value.dtype != np.float32:
            raise _fail(self.path, node, f"{what} {name!r} is {value.dtype}; only float32 weights are supported")
        if name in self.used_params and not shared:
            raise _fail(self.path, node, f"initializer {name!r} used by two layers (shared weights) is not supported")
        if not shared:
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
            check_size(module, self.sample[src], lambda why: Refused(str(_fail(self.path, node, why))))  # before the run allocates
            try:
                self.sample[out] = module(self.sample[src])
            except Exception as exc:  # shapes that do not fit the layer
                raise _fail(self.path, node, f"does not fit its input of shape {tuple(self.sample[src].shape)} "
                                             f"({str(exc).splitlines()[0][:160]})") from None
        self.env[out] = self.fx.call_module(target, (self.env[src],))

    def alias(self, node, src: str) -> None:
        self.env[node.output[0]], self.sample[node.output[0]] = self.env[src], self.sample[src]


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
    src = t.activation(ins[0], node) if op not in ("Add", "Mul") else None
    if op == "Conv":
        w = t.param(ins[1], node, "weight")
        b = t.param(ins[2], node, "bias", shared=True) if len(ins) > 2 and ins[2] else None
        if w.dim() != 4:
            raise _fail(path, node, f"weight of shape {tuple(w.shape)}: only 2-D convolutions are supported")
        if "kernel_shape" in at and tuple(at["kernel_shape"]) != tuple(w.shape[2:]):
            raise _fail(path, node, f"kernel_shape {list(at['kernel_shape'])} differs from the weight's {tuple(w.shape[2:])}")
        group = int(at.get("group", 1))
        stride = tuple(int(v) for v in at.get("strides", (1, 1)))
        dil = tuple(int(v) for v in at.get("dilations", (1, 1)))
        if group < 1 or w.shape[0] % group:
            raise _fail(path, node, f"group={group} does not divide the {w.shape[0]} output channels")
        pads = _pads(path, node, at, tuple(w.shape[2:]), stride, dil, tuple(t.sample[src].shape[2:]))
        m = nn.Conv2d(w.shape[1] * group, w.shape[0], tuple(w.shape[2:]), stride, pads, dil, group, bias=b is not None)
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
        b = t.param(ins[2], node, "bias", shared=True) if op == "Gemm" and len(ins) > 2 and ins[2] else None
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
        scale, bias, mean, var = (t.param(n, node, "batch-norm tensor", shared=True) for n in ins[1:5])
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
        k, s, pad, dil, ceil = _pool_args(path, node, at, tuple(t.sample[src].shape[2:]))
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
    return activation(t, node, at, ins, src)  # the activations of onnx_ops.ATTRIBUTES


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
    if module.graph.eliminate_dead_code():  # a Sigmoid folded into a SiLU
        module.recompile()
    return Rebuilt(module, shape), check_onnxruntime(model, module, name, shape, batch, path)


def load(path: Path) -> tuple[Rebuilt, str]:
    """Parse (as data) and rebuild `path`; (the module and its input shape, a note when unchecked)."""
    from .onnx_file import load as load_proto

    return rebuild(load_proto(path), path)
