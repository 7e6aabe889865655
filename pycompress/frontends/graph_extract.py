"""Layer graph of an nn.Module, traced with torch.fx, after `fold_batchnorm` (batchnorm.py).

Every argument of a layer either reaches the graph or the layer is refused,
so the hardware never runs a different network than the module. Identities
(Dropout in eval, Identity, a flatten of an already flat tensor) are skipped.
The `.pt2` and ONNX front ends rebuild their programs as modules of the same
torch layers and come through here too: one contract, one graph.
"""
from __future__ import annotations

import operator
from dataclasses import dataclass

import torch
from torch import nn

from pycompress.core.errors import PycompressError
from pycompress.core.graph import (INPUT, Activation, Add, AvgPool2d, Conv2d, Flatten, GlobalAvgPool, Graph, Layer,
    Linear, MaxPool2d, ReLU, ScaleShift, Softmax, _out_shape, _size)
from .batchnorm import fold_batchnorm  # noqa: F401 (the public name callers import from here)
from .layers import ScaleShift as ScaleShiftModule, function_activation, module_activation, trace as _trace

SUPPORTED = ("Conv2d, BatchNorm, ReLU, ReLU6/Hardtanh, LeakyReLU, Sigmoid, Tanh, GELU, SiLU, Hardsigmoid, Hardswish, "
             "MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, mean over (H, W), Flatten/view, Linear, residual add, Dropout, "
             "Softmax")


def _pair(v) -> tuple[int, int]:
    return (int(v[0]), int(v[1])) if isinstance(v, (tuple, list)) else (int(v), int(v))


def _unsupported(name: str, what: str) -> PycompressError:
    return PycompressError(f"layer {name!r} of type {what} is not supported by the hardware generator (supported: {SUPPORTED})")


def _conv(name: str, key: str, mod: nn.Conv2d) -> Conv2d:
    stride = _pair(mod.stride)
    if stride[0] != stride[1] or stride[0] not in (1, 2):
        raise _unsupported(name, f"Conv2d with stride {mod.stride} (only 1 or 2)")
    if _pair(mod.dilation) != (1, 1):
        raise _unsupported(name, f"Conv2d with dilation {mod.dilation}")
    if mod.groups != 1:
        raise _unsupported(name, f"Conv2d with groups={mod.groups}")
    padding = _same_padding(name, mod) if mod.padding == "same" else (0, 0) if mod.padding == "valid" else mod.padding
    if mod.padding_mode != "zeros" and _pair(padding) != (0, 0):
        raise _unsupported(name, f"Conv2d with padding_mode={mod.padding_mode!r}")
    return Conv2d(name, f"{key}.weight", f"{key}.bias" if mod.bias is not None else None, mod.in_channels,
                  mod.out_channels, _pair(mod.kernel_size), stride[0], _pair(padding))


def _same_padding(name: str, mod: nn.Conv2d) -> tuple[int, int]:
    """padding='same' as explicit padding: symmetric (k - 1) / 2 on each side, so odd kernels only."""
    k = _pair(mod.kernel_size)
    if any(d % 2 == 0 for d in k):
        raise _unsupported(name, f"Conv2d with padding='same' and even kernel {tuple(k)} (asymmetric padding)")
    return (k[0] // 2, k[1] // 2)


def _pool(name: str, kind: str, kernel, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False,
          count_include_pad=True, divisor_override=None) -> Layer:
    """A square pool, symmetric padding (an average pool counting the padded zeros), no dilation, ceil_mode
    or odd divisor; anything else is refused."""
    k, s = _pair(kernel), _pair(stride if stride is not None and stride != [] else kernel)
    pad = _pair(padding)
    if k[0] != k[1] or s[0] != s[1] or pad[0] != pad[1]:
        raise _unsupported(name, f"{kind} with non-square kernel {kernel}, stride {stride} or padding {padding}")
    if ceil_mode:
        raise _unsupported(name, f"{kind} with ceil_mode=True")
    if kind == "MaxPool2d":
        if _pair(dilation) != (1, 1) or return_indices:
            raise _unsupported(name, "MaxPool2d with dilation or return_indices")
        return MaxPool2d(name, k[0], s[0], padding=pad[0])
    if pad[0] and not count_include_pad:
        raise _unsupported(name, f"AvgPool2d with padding {padding} and count_include_pad=False (a divisor per window)")
    if divisor_override is not None and divisor_override != k[0] * k[1]:
        raise _unsupported(name, f"AvgPool2d with divisor_override={divisor_override} (the kernel divides by {k[0] * k[1]})")
    return AvgPool2d(name, k[0], s[0], padding=pad[0])


def _adaptive(name: str, out_size, shape: tuple[int, ...]) -> Layer:
    """AdaptiveAvgPool2d(1) is global average pooling; other sizes only where they equal an AvgPool2d."""
    if len(shape) != 3:
        raise _unsupported(name, f"AdaptiveAvgPool2d on a {shape} input")
    oh, ow = _pair(out_size if out_size is not None else shape[1])
    oh, ow = oh or shape[1], ow or shape[2]
    if (oh, ow) == (1, 1):
        return GlobalAvgPool(name)
    h, w = shape[1:]
    if oh == ow and h == w and h % oh == 0:
        return AvgPool2d(name, h // oh, h // oh)
    raise _unsupported(name, f"AdaptiveAvgPool2d({out_size}) on {shape} (not equal to an AvgPool2d)")


_MAXPOOL_ARGS = ("input", "kernel_size", "stride", "padding", "dilation", "ceil_mode", "return_indices")
_AVGPOOL_ARGS = ("input", "kernel_size", "stride", "padding", "ceil_mode", "count_include_pad", "divisor_override")


def _bind(node, names: tuple[str, ...]) -> dict:
    kw = dict(zip(names, node.args))
    kw.update(node.kwargs)
    kw.pop("input", None)
    kw["kernel"] = kw.pop("kernel_size")
    return kw


@dataclass(frozen=True)
class Extraction:
    graph: Graph
    notes: tuple[str, ...]  # layers skipped as identities, e.g. a final Softmax


class _Walker:
    """Walks the fx graph once; `producer` maps each fx node to the layer name whose output it is."""

    def __init__(self, gm, input_shape: tuple[int, ...], prefix: str) -> None:
        self.gm, self.prefix = gm, prefix
        self.layers: list[Layer] = []
        self.notes: list[str] = []
        self.producer: dict = {}
        self.shape: dict[str, tuple[int, ...]] = {INPUT: tuple(int(d) for d in input_shape)}
        self.used_modules: set[str] = set()

    def _last(self) -> str:
        return self.layers[-1].name if self.layers else INPUT

    def add(self, make, node, srcs: list) -> None:
        """Append a layer reading `srcs` (fx nodes); `inputs` left empty when it reads the previous layer."""
        names = [self.producer[s] for s in srcs]
        name = node.target if node.op == "call_module" and node.target not in self.shape else node.name
        while name in self.shape:  # a module called twice: its later calls take the unique fx node name
            name += "_"
        layer = make(name)
        inputs = () if len(names) == 1 and names[0] == self._last() else tuple(names)
        layer = type(layer)(**{**{k: getattr(layer, k) for k in layer.__dataclass_fields__ if k != "op"}, "inputs": inputs})
        if isinstance(layer, Add) and self.shape[names[0]] != self.shape[names[1]]:
            raise PycompressError(f"node {node.name!r} (add): shapes {self.shape[names[0]]} and {self.shape[names[1]]} differ")
        self.shape[name] = _out_shape(layer, self.shape[names[0]])
        self.layers.append(layer)
        self.producer[node] = name

    def alias(self, node, src) -> None:
        self.producer[node] = self.producer[src]

    def module(self, node) -> None:
        mod = self.gm.get_submodule(node.target)
        src = node.args[0]
        shape = self.shape[self.producer[src]]
        key = f"{self.prefix}{node.target}"
        if isinstance(mod, (nn.Conv2d, nn.Linear)):
            if node.target in self.used_modules:
                raise _unsupported(node.target, f"{type(mod).__name__} called twice (shared weights)")
            self.used_modules.add(node.target)
        if isinstance(mod, nn.Conv2d):
            return self.add(lambda n: _conv(n, key, mod), node, [src])
        if isinstance(mod, nn.Linear):
            return self.add(lambda n: Linear(n, f"{key}.weight", f"{key}.bias" if mod.bias is not None else None,
                                             mod.in_features, mod.out_features), node, [src])
        if isinstance(mod, nn.ReLU):
            return self.add(ReLU, node, [src])
        act = module_activation(mod)
        if act is not None:
            return self.add(lambda n: Activation(n, *act), node, [src])
        if isinstance(mod, ScaleShiftModule):
            return self.add(lambda n: ScaleShift(n, f"{key}.scale", f"{key}.shift", mod.scale.numel()), node, [src])
        if isinstance(mod, nn.MaxPool2d):
            return self.add(lambda n: _pool(n, "MaxPool2d", mod.kernel_size, mod.stride, mod.padding, mod.dilation,
                                            mod.ceil_mode, mod.return_indices), node, [src])
        if isinstance(mod, nn.AvgPool2d):
            return self.add(lambda n: _pool(n, "AvgPool2d", mod.kernel_size, mod.stride, mod.padding, ceil_mode=mod.ceil_mode,
                                            count_include_pad=mod.count_include_pad,
                                            divisor_override=mod.divisor_override), node, [src])
        if isinstance(mod, nn.AdaptiveAvgPool2d):
            return self.add(lambda n: _adaptive(n, mod.output_size, shape), node, [src])
        if isinstance(mod, nn.Flatten):
            if mod.start_dim != 1 or mod.end_dim != -1:
                raise _unsupported(node.target, "Flatten other than start_dim=1, end_dim=-1")
            return self.flatten(node, src)
        if isinstance(mod, (nn.Identity, nn.Dropout, nn.Dropout2d, nn.Dropout1d)):
            return self.alias(node, src)  # identities in eval mode
        if isinstance(mod, nn.Softmax):
            return self.softmax(node, src, mod.dim)
        if isinstance(mod, (nn.BatchNorm2d, nn.BatchNorm1d)):
            raise PycompressError(f"layer {node.target!r} of type {type(mod).__name__}: the graph is extracted after "
                                  "pycompress.frontends.graph_extract.fold_batchnorm(module), which removes every batch norm")
        raise _unsupported(node.target, type(mod).__name__)

    def flatten(self, node, src) -> None:
        if len(self.shape[self.producer[src]]) == 1:
            return self.alias(node, src)
        self.add(Flatten, node, [src])

    def softmax(self, node, src, dim) -> None:
        if dim not in (1, -1, None) or len(self.shape[self.producer[src]]) != 1:
            raise _unsupported(node.name, f"Softmax over dim={dim} of a {self.shape[self.producer[src]]} activation "
                                          "(only over the classes of (batch, classes))")
        self.add(Softmax, node, [src])

    def mean(self, node, src, dims, keepdim) -> None:
        """mean over (H, W) of (C, H, W): global average pooling, flattened unless keepdim."""
        shape = self.shape[self.producer[src]]
        dims = [dims] if isinstance(dims, int) else list(dims or [])
        if len(shape) != 3 or sorted(int(d) % 4 for d in dims) != [2, 3]:
            raise _unsupported(node.name, f"mean over dims {dims} of a {shape} activation (only over (H, W))")
        self.add(GlobalAvgPool, node, [src])
        if not keepdim:
            self.add(Flatten, node, [node])

    def function(self, node) -> None:
        t, args = node.target, node.args
        name = getattr(t, "__name__", str(t))
        if t in (operator.add, torch.add) or (node.op == "call_method" and t == "add"):
            tensors = [a for a in args if isinstance(a, torch.fx.Node)]
            if len(tensors) != 2 or len(args) != 2 or node.kwargs:
                raise _unsupported(node.name, "add other than of two activations")
            return self.add(lambda n: Add(n, ("?", "?")), node, tensors)
        if t in (torch.relu, nn.functional.relu) or (node.op == "call_method" and t in ("relu", "relu_")):
            return self.add(ReLU, node, [args[0]])
        act = function_activation(node)
        if act is not None:
            return self.add(lambda n: Activation(n, *act), node, [args[0]])
        if t is torch.mean or (node.op == "call_method" and t == "mean"):
            dims = args[1] if len(args) > 1 else node.kwargs.get("dim")
            keep = args[2] if len(args) > 2 else node.kwargs.get("keepdim", False)
            if dims is None or set(node.kwargs) - {"dim", "keepdim"}:
                raise _unsupported(node.name, "mean other than over (H, W) with keepdim")
            return self.mean(node, args[0], dims, bool(keep))
        if t in (torch.flatten,) or (node.op == "call_method" and t == "flatten"):
            start = args[1] if len(args) > 1 else node.kwargs.get("start_dim", 0)
            end = args[2] if len(args) > 2 else node.kwargs.get("end_dim", -1)
            if start != 1 or end != -1:
                raise _unsupported(node.name, "flatten other than start_dim=1")
            return self.flatten(node, args[0])
        if node.op == "call_method" and t in ("view", "reshape"):
            return self.view(node)
        if node.op == "call_method" and t == "size":
            return None  # only read by view/reshape, checked there
        if name == "max_pool2d":  # F.max_pool2d (a boolean_dispatch named after the function)
            return self.add(lambda n: _pool(n, "MaxPool2d", **_bind(node, _MAXPOOL_ARGS)), node, [args[0]])
        if name == "avg_pool2d":
            return self.add(lambda n: _pool(n, "AvgPool2d", **_bind(node, _AVGPOOL_ARGS)), node, [args[0]])
        if name == "adaptive_avg_pool2d":
            src = args[0]
            out = args[1] if len(args) > 1 else node.kwargs.get("output_size")
            return self.add(lambda n: _adaptive(n, out, self.shape[self.producer[src]]), node, [src])
        if name == "softmax" or (node.op == "call_method" and t == "softmax"):
            dim = args[1] if len(args) > 1 else node.kwargs.get("dim")
            return self.softmax(node, args[0], dim)
        raise PycompressError(f"node {node.name!r}: op {name} is not supported by the hardware generator "
                              f"(supported: {SUPPORTED})")

    def view(self, node) -> None:
        src, dims = node.args[0], list(node.args[1:])
        if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
            dims = list(dims[0])
        n = _size(self.shape[self.producer[src]])
        batch = (len(dims) == 2 and (dims[0] == -1 or (isinstance(dims[0], torch.fx.Node) and dims[0].target == "size"
                                                         and dims[0].args[1:] in ((0,), ()) and dims[0].args[0] is src)))
        if not batch or dims[1] not in (-1, n) or (dims[0] == -1 and dims[1] == -1):
            raise _unsupported(node.name, f"{node.target} to {tuple(d if not isinstance(d, torch.fx.Node) else 'size' for d in dims)} "
                                          f"(only (-1, {n}) or (x.size(0), -1))")
        self.flatten(node, src)


def extract(module: nn.Module, input_shape: tuple[int, ...], dataset: str | None = None, prefix: str = "") -> Extraction:
    """The layer graph of `module` (after fold_batchnorm) and notes on what was skipped."""
    import torch.fx

    gm = _trace(module)
    w = _Walker(gm, input_shape, prefix)
    for node in gm.graph.nodes:
        if node.op == "placeholder":
            if w.producer:
                raise _unsupported(node.name, "second input of forward")
            w.producer[node] = INPUT
            continue
        if node.op == "output":
            out = node.args[0]
            if not isinstance(out, torch.fx.Node) or w.producer.get(out) != w._last():
                raise PycompressError("the module's output is not the last layer's activation (tuple output or unused layers)")
            continue
        if node.op == "get_attr":
            raise _unsupported(node.target, "parameter used in forward (get_attr)")
        for a in node.all_input_nodes:
            if a not in w.producer and not (a.op == "call_method" and a.target == "size"):
                raise _unsupported(node.name, f"{getattr(node.target, '__name__', node.target)} reading a non-activation")
        if node.op == "call_module":
            w.module(node)
        elif node.op in ("call_function", "call_method"):
            w.function(node)
        else:
            raise _unsupported(node.name, node.op)
    graph = Graph(tuple(int(d) for d in input_shape), tuple(w.layers), dataset)
    graph.shapes()
    return Extraction(graph, tuple(w.notes))


def extract_graph(module: nn.Module, input_shape: tuple[int, ...], dataset: str | None = None, prefix: str = "") -> Graph:
    """The layer graph of `module` (after fold_batchnorm), traced with torch.fx."""
    return extract(module, input_shape, dataset, prefix).graph
