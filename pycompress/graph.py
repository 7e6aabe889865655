"""The layer graph the hardware generator needs: typed layers, shapes, JSON, and extraction from nn.Module.

Only sequential CNNs are supported (Conv2d, BatchNorm2d folded into the conv
before compression, ReLU, MaxPool2d, AvgPool2d, Flatten, Linear). Anything
else is refused with the layer's name and type, before anything is written.
"""
from __future__ import annotations

import copy
import functools
import operator
from dataclasses import asdict, dataclass, field
from typing import Mapping, Union

import torch
from torch import nn

from .errors import PycompressError

GRAPH_VERSION = 1
# Limits on a graph read from a file, so a small file cannot claim a huge kernel. The whole ZedBoard
# holds 4.9 Mbit of block RAM; one activation of MAX_ACTIVATION floats is 8 MiB.
MAX_LAYERS = 256
MAX_ACTIVATION = 1 << 21  # elements of the input and of every layer's output
MAX_LAYER_PARAMS = 1 << 24  # weights of one Conv2d or Linear layer
MAX_KERNEL = 64


@dataclass(frozen=True)
class Conv2d:
    name: str
    weight: str  # state_dict key, shape (out, in, kh, kw)
    bias: str | None
    in_channels: int
    out_channels: int
    kernel: tuple[int, int]
    stride: int = 1
    padding: tuple[int, int] = (0, 0)
    op: str = field(default="conv2d", init=False)


@dataclass(frozen=True)
class Linear:
    name: str
    weight: str  # shape (out, in)
    bias: str | None
    in_features: int
    out_features: int
    op: str = field(default="linear", init=False)


@dataclass(frozen=True)
class ReLU:
    name: str
    op: str = field(default="relu", init=False)


@dataclass(frozen=True)
class MaxPool2d:
    name: str
    kernel: int
    stride: int
    op: str = field(default="maxpool2d", init=False)


@dataclass(frozen=True)
class AvgPool2d:
    name: str
    kernel: int
    stride: int
    op: str = field(default="avgpool2d", init=False)


@dataclass(frozen=True)
class Flatten:
    name: str
    op: str = field(default="flatten", init=False)


Layer = Union[Conv2d, Linear, ReLU, MaxPool2d, AvgPool2d, Flatten]
_LAYER_TYPES = {cls.__dataclass_fields__["op"].default: cls for cls in (Conv2d, Linear, ReLU, MaxPool2d, AvgPool2d, Flatten)}


@dataclass(frozen=True)
class Graph:
    """Input shape (C, H, W) and the layers in order; `dataset` names the test vectors that fit it."""

    input_shape: tuple[int, ...]
    layers: tuple[Layer, ...]
    dataset: str | None = None

    def shapes(self) -> list[tuple[int, ...]]:
        """Activation shape before the first layer and after every layer; raises on a mismatch."""
        shape = tuple(self.input_shape)
        if _size(shape) > MAX_ACTIVATION:
            raise PycompressError(f"layer graph: input {shape} has {_size(shape)} values, "
                                  f"more than the {MAX_ACTIVATION} the hardware generator accepts")
        out = [shape]
        for layer in self.layers:
            shape = _out_shape(layer, shape)
            out.append(shape)
        return out

    @property
    def output_size(self) -> int:
        return _size(self.shapes()[-1])

    @property
    def input_size(self) -> int:
        return _size(self.input_shape)

    def param_names(self) -> list[str]:
        names = []
        for layer in self.layers:
            if isinstance(layer, (Conv2d, Linear)):
                names += [layer.weight] + ([layer.bias] if layer.bias else [])
        return names

    def to_dict(self) -> dict:
        return {"version": GRAPH_VERSION, "input_shape": list(self.input_shape), "dataset": self.dataset,
                "layers": [_layer_dict(l) for l in self.layers]}

    @classmethod
    def from_dict(cls, data: Mapping) -> "Graph":
        """The typed graph of untrusted JSON: every field of the right type and range, activations bounded."""
        from . import validate as v

        try:
            v.need_dict(data, "layer graph")
            v.need_keys(data, "layer graph", ("input_shape", "layers"), ("version", "dataset"))
            layers = tuple(_layer_from_dict(d, i) for i, d in enumerate(v.need_list(data["layers"], "layer graph: layers", MAX_LAYERS)))
            if data.get("version", GRAPH_VERSION) != GRAPH_VERSION:
                raise v.Invalid(f"layer graph: version {v._short(data['version'])}, this version reads {GRAPH_VERSION}")
            dims = v.need_list(data["input_shape"], "layer graph: input_shape", 3)
            if len(dims) not in (1, 3):
                raise v.Invalid(f"layer graph: input_shape has {len(dims)} dimensions, expected (C, H, W) or (N,)")
            shape = tuple(v.need_int(d, "layer graph: input_shape", 1, MAX_ACTIVATION) for d in dims)
            dataset = data.get("dataset")
            if dataset is not None:
                v.need_str(dataset, "layer graph: dataset", 64)
        except v.Invalid as exc:
            raise PycompressError(str(exc)) from None
        graph = cls(shape, layers, dataset)
        graph.shapes()
        return graph

    def check_params(self, shapes: Mapping[str, tuple[int, ...]]) -> None:
        """Each layer's weight and bias exist with the shapes its dimensions imply."""
        for layer in self.layers:
            if isinstance(layer, Conv2d):
                want = {layer.weight: (layer.out_channels, layer.in_channels, *layer.kernel)}
                out = layer.out_channels
            elif isinstance(layer, Linear):
                want, out = {layer.weight: (layer.out_features, layer.in_features)}, layer.out_features
            else:
                continue
            if layer.bias is not None:
                want[layer.bias] = (out,)
            for name, shape in want.items():
                if name not in shapes:
                    raise PycompressError(f"layer {layer.name}: tensor {name!r} is not in the model")
                if tuple(shapes[name]) != shape:
                    raise PycompressError(f"layer {layer.name}: tensor {name!r} has shape {tuple(shapes[name])}, "
                                          f"the layer needs {shape}")


def _layer_from_dict(d: object, i: int) -> Layer:
    from . import validate as v

    what = f"layer graph: layer {i}"
    d = v.need_dict(d, what)
    op = d.get("op")
    kind = _LAYER_TYPES.get(op) if isinstance(op, str) else None
    if kind is None:
        raise v.Invalid(f"layer graph: unknown layer op {v._short(op)}")
    v.need_keys(d, f"{what} ({op})", kind.__dataclass_fields__)
    kw = {}
    for key in kind.__dataclass_fields__:
        if key == "op":
            continue
        value, where = d[key], f"{what} ({op}) {key}"
        if key in ("name", "weight"):
            kw[key] = v.need_str(value, where, 256)
        elif key == "bias":
            kw[key] = None if value is None else v.need_str(value, where, 256)
        elif key in ("in_channels", "out_channels", "in_features", "out_features"):
            kw[key] = v.need_int(value, where, 1, MAX_ACTIVATION)
        elif key == "stride":
            kw[key] = v.need_int(value, where, 1, 2 if kind is Conv2d else MAX_KERNEL)
        elif kind is Conv2d and key in ("kernel", "padding"):
            pair = v.need_list(value, where, 2)
            if len(pair) != 2:
                raise v.Invalid(f"{where}: expected two integers")
            kw[key] = tuple(v.need_int(x, where, 1 if key == "kernel" else 0, MAX_KERNEL) for x in pair)
        elif key == "kernel":
            kw[key] = v.need_int(value, where, 1, MAX_KERNEL)
        else:  # a field added to a dataclass must get its check here
            raise v.Invalid(f"{where}: no check for this field")
    layer = kind(**kw)
    if isinstance(layer, (Conv2d, Linear)):
        n = (layer.out_channels * layer.in_channels * layer.kernel[0] * layer.kernel[1] if isinstance(layer, Conv2d)
             else layer.out_features * layer.in_features)
        if n > MAX_LAYER_PARAMS:
            raise v.Invalid(f"layer graph: layer {layer.name} has {n} weights, limit {MAX_LAYER_PARAMS}")
    return layer


def _layer_dict(layer: Layer) -> dict:
    d = asdict(layer)
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in d.items()}


def _size(shape: tuple[int, ...]) -> int:
    n = 1
    for d in shape:
        n *= int(d)
    return n


def _out_shape(layer: Layer, shape: tuple[int, ...]) -> tuple[int, ...]:
    out = _layer_out_shape(layer, shape)
    if _size(out) > MAX_ACTIVATION:
        raise PycompressError(f"layer {layer.name}: output {out} has {_size(out)} values, "
                              f"more than the {MAX_ACTIVATION} the hardware generator accepts")
    return out


def _layer_out_shape(layer: Layer, shape: tuple[int, ...]) -> tuple[int, ...]:
    if isinstance(layer, (ReLU,)):
        return shape
    if isinstance(layer, Flatten):
        return (_size(shape),)
    if isinstance(layer, Linear):
        if shape != (layer.in_features,):
            raise PycompressError(f"layer {layer.name}: Linear expects ({layer.in_features},), gets {shape}")
        return (layer.out_features,)
    if len(shape) != 3:
        raise PycompressError(f"layer {layer.name}: expects a (C, H, W) input, gets {shape}")
    c, h, w = shape
    if isinstance(layer, Conv2d):
        if c != layer.in_channels:
            raise PycompressError(f"layer {layer.name}: Conv2d expects {layer.in_channels} channels, gets {c}")
        (kh, kw), (ph, pw), s = layer.kernel, layer.padding, layer.stride
        oh, ow = (h + 2 * ph - kh) // s + 1, (w + 2 * pw - kw) // s + 1
        if oh < 1 or ow < 1:
            raise PycompressError(f"layer {layer.name}: output would be empty for input {shape}")
        return (layer.out_channels, oh, ow)
    k, s = layer.kernel, layer.stride
    oh, ow = (h - k) // s + 1, (w - k) // s + 1
    if oh < 1 or ow < 1:
        raise PycompressError(f"layer {layer.name}: pool output would be empty for input {shape}")
    return (c, oh, ow)


# ---------------------------------------------------------------- extraction from nn.Module

def _pair(v) -> tuple[int, int]:
    return (int(v[0]), int(v[1])) if isinstance(v, (tuple, list)) else (int(v), int(v))


def _unsupported(name: str, what: str) -> PycompressError:
    return PycompressError(f"layer {name!r} of type {what} is not supported by the hardware generator "
                           "(supported: Conv2d, BatchNorm2d before a conv, ReLU, MaxPool2d, AvgPool2d, Flatten, Linear)")


def _module_layer(name: str, mod: nn.Module, prefix: str) -> Layer | None:
    key = f"{prefix}{name}"
    if isinstance(mod, nn.Conv2d):
        stride = _pair(mod.stride)
        if stride[0] != stride[1] or stride[0] not in (1, 2):
            raise _unsupported(name, f"Conv2d with stride {mod.stride} (only 1 or 2)")
        if _pair(mod.dilation) != (1, 1) or mod.groups != 1 or isinstance(mod.padding, str) or mod.padding_mode != "zeros":
            raise _unsupported(name, "Conv2d with dilation, groups, string padding or non-zero padding mode")
        return Conv2d(name, f"{key}.weight", f"{key}.bias" if mod.bias is not None else None, mod.in_channels,
                      mod.out_channels, _pair(mod.kernel_size), stride[0], _pair(mod.padding))
    if isinstance(mod, nn.Linear):
        return Linear(name, f"{key}.weight", f"{key}.bias" if mod.bias is not None else None, mod.in_features, mod.out_features)
    if isinstance(mod, nn.ReLU):
        return ReLU(name)
    if isinstance(mod, (nn.MaxPool2d, nn.AvgPool2d)):
        k, s = _pair(mod.kernel_size), _pair(mod.stride if mod.stride is not None else mod.kernel_size)
        if k[0] != k[1] or s[0] != s[1] or _pair(mod.padding) != (0, 0) or mod.ceil_mode:
            raise _unsupported(name, f"{type(mod).__name__} with non-square kernel/stride, padding or ceil_mode")
        if isinstance(mod, nn.MaxPool2d):
            if _pair(mod.dilation) != (1, 1):
                raise _unsupported(name, "MaxPool2d with dilation")
            return MaxPool2d(name, k[0], s[0])
        return AvgPool2d(name, k[0], s[0])
    if isinstance(mod, nn.Flatten):
        if mod.start_dim != 1 or mod.end_dim != -1:
            raise _unsupported(name, "Flatten other than start_dim=1")
        return Flatten(name)
    if isinstance(mod, (nn.Identity, nn.Dropout)):
        return None
    if isinstance(mod, nn.BatchNorm2d):
        raise PycompressError(f"layer {name!r} of type BatchNorm2d is not folded: call fold_batchnorm(module) first "
                              "(it must follow a Conv2d)")
    raise _unsupported(name, type(mod).__name__)


_FUNCTIONS = {torch.relu: "relu", nn.functional.relu: "relu", torch.flatten: "flatten"}


def _trace(module: nn.Module):
    import torch.fx

    try:
        return torch.fx.symbolic_trace(module)
    except Exception as exc:  # fx raises many kinds for untraceable control flow
        raise PycompressError(f"cannot trace {type(module).__name__} with torch.fx: {str(exc).splitlines()[0]}") from None


def extract_graph(module: nn.Module, input_shape: tuple[int, ...], dataset: str | None = None, prefix: str = "") -> Graph:
    """The sequential layer graph of `module` (after fold_batchnorm), traced with torch.fx."""
    gm = _trace(module)
    layers: list[Layer] = []
    previous = None
    for node in gm.graph.nodes:
        if node.op in ("placeholder", "output"):
            continue
        if node.op == "get_attr":
            raise _unsupported(node.target, "parameter used in forward (get_attr)")
        ins = [a for a in node.all_input_nodes]
        if len(ins) != 1 or (previous is not None and ins[0] is not previous) or (previous is None and ins[0].op != "placeholder"):
            what = "residual add" if node.target in (operator.add, torch.add) else str(getattr(node.target, "__name__", node.target))
            raise _unsupported(node.name, f"{what} (not a sequential chain)")
        if node.op == "call_module":
            layer = _module_layer(node.target, gm.get_submodule(node.target), prefix)
        elif node.op in ("call_function", "call_method"):
            kind = _FUNCTIONS.get(node.target) or {"relu": "relu", "flatten": "flatten", "view": None}.get(node.target, "?")
            if kind == "relu":
                layer = ReLU(node.name)
            elif kind == "flatten" and (node.args[1:] == (1,) or node.kwargs.get("start_dim") == 1):
                layer = Flatten(node.name)
            else:
                raise _unsupported(node.name, f"function {getattr(node.target, '__name__', node.target)}")
        else:
            raise _unsupported(node.name, node.op)
        previous = node
        if layer is not None:
            layers.append(layer)
    graph = Graph(tuple(int(d) for d in input_shape), tuple(layers), dataset)
    graph.shapes()
    return graph


@torch.no_grad()
def fold_batchnorm(module: nn.Module) -> nn.Module:
    """A copy with every BatchNorm2d that follows a Conv2d folded into that conv (BN replaced by Identity).

    w' = w * g / sqrt(var + eps), b' = (b - mean) * g / sqrt(var + eps) + beta, in float64 then cast.
    """
    module = copy.deepcopy(module).eval()
    gm = _trace(module)
    for node in gm.graph.nodes:
        if node.op != "call_module" or not isinstance(gm.get_submodule(node.target), nn.BatchNorm2d):
            continue
        bn = gm.get_submodule(node.target)
        src = node.args[0] if node.args else None
        conv = gm.get_submodule(src.target) if getattr(src, "op", None) == "call_module" else None
        if not isinstance(conv, nn.Conv2d) or len(src.users) != 1:
            raise PycompressError(f"layer {node.target!r} of type BatchNorm2d does not follow a Conv2d: cannot fold it")
        scale = (bn.weight.double() if bn.affine else 1.0) / torch.sqrt(bn.running_var.double() + bn.eps)
        beta = bn.bias.double() if bn.affine else 0.0
        bias = conv.bias.double() if conv.bias is not None else torch.zeros(conv.out_channels, dtype=torch.float64)
        w = (conv.weight.double() * scale.reshape(-1, 1, 1, 1)).to(conv.weight.dtype)
        b = ((bias - bn.running_mean.double()) * scale + beta).to(conv.weight.dtype)
        conv.weight = nn.Parameter(w)
        conv.bias = nn.Parameter(b)
        _set_submodule(module, node.target, nn.Identity())
    return module


def _set_submodule(root: nn.Module, target: str, new: nn.Module) -> None:
    parent, _, leaf = target.rpartition(".")
    setattr(root.get_submodule(parent) if parent else root, leaf, new)


# ---------------------------------------------------------------- known models from a plain state_dict

@functools.lru_cache(maxsize=None)
def _known_models() -> tuple[tuple[dict, Graph], ...]:
    """(key -> shape signature, graph) of the built-in models, computed once per process."""
    from .digits_cnn import DIGITS_INPUT_SHAPE, DigitsCNN
    from .lenet import LeNet5

    out = []
    for cls, shape, dataset in ((LeNet5, (1, 28, 28), "mnist28"), (DigitsCNN, DIGITS_INPUT_SHAPE, "digits8")):
        folded = fold_batchnorm(cls())
        sig = {k: tuple(v.shape) for k, v in folded.state_dict().items()}
        out.append((sig, extract_graph(folded, shape, dataset)))
    return tuple(out)


def _known_graph(state_dict: Mapping[str, torch.Tensor]) -> Graph | None:
    for sig, graph in _known_models():
        if set(sig) == set(state_dict) and all(tuple(state_dict[k].shape) == v for k, v in sig.items()):
            return graph
    return None


def module_graph(module: nn.Module) -> tuple[nn.Module, dict] | None:
    """(BN-folded copy, graph JSON) of a supported sequential CNN whose input shape is known, else None.

    The input shape comes from a built-in model with the same parameters or a
    `module.input_shape` attribute; None means "compress without a graph".
    """
    try:
        folded = fold_batchnorm(module)
        shape = getattr(module, "input_shape", None)
        known = _known_graph(folded.state_dict())
        if shape is None and known is None:
            return None
        if shape is None:
            shape = known.input_shape
        dataset = getattr(module, "dataset", None) or (known.dataset if known else None)
        return folded, extract_graph(folded, tuple(shape), dataset).to_dict()
    except PycompressError:
        return None


def infer_graph(state_dict: Mapping[str, torch.Tensor]) -> dict | None:
    """The graph of a known model (default LeNet-5, digits CNN) whose keys and shapes match, else None."""
    graph = _known_graph(state_dict)
    return graph.to_dict() if graph is not None else None


def graph_for(model: nn.Module | Mapping[str, torch.Tensor], input_shape: tuple[int, ...] | None = None,
              dataset: str | None = None) -> dict:
    """Graph JSON for a (BN-folded) module or a known-model state_dict; for writers of CompressedModel."""
    if isinstance(model, nn.Module):
        model = fold_batchnorm(model)  # the graph describes the folded model: compress its state_dict
        dataset = dataset or getattr(model, "dataset", None)
        if input_shape is None:
            input_shape = getattr(model, "input_shape", None)
        if input_shape is None:
            known = _known_graph(model.state_dict())
            if known is None:
                raise PycompressError(f"graph_for({type(model).__name__}): pass input_shape=(C, H, W)")
            input_shape, dataset = known.input_shape, dataset or known.dataset
        return extract_graph(model, input_shape, dataset).to_dict()
    graph = infer_graph(model)
    if graph is None:
        raise PycompressError("no layer graph: the state_dict matches no known model; compress the nn.Module instead")
    return graph


def graph_of(model_graph: dict | None) -> Graph:
    """The typed graph of a container's `graph` field; a clear error when there is none."""
    if not model_graph:
        raise PycompressError("the compressed model has no layer graph: compress it from the nn.Module "
                              "(pycompress.compress.compress(module)) or attach one with pycompress.graph.graph_for(...)")
    return Graph.from_dict(model_graph)
