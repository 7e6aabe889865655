"""The layer graph the hardware generator needs: typed layers, shapes and JSON.

Layers are listed in execution order. A layer reads the output of the layer
before it unless its `inputs` name earlier layers (or INPUT, the graph input):
that is how residual networks are written (a two-input `add`, a shortcut conv
reading an earlier activation). Graphs without any `inputs` and without the
version-2 ops are written as version 1, so older readers keep reading them.
This is the project's model IR, so it lives in core: extraction from an nn.Module, a
.pt2 or an ONNX file, and the built-in models' graphs, are front ends
(pycompress/frontends/graph_extract.py, graph_builtin.py).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Mapping, Union

from .errors import PycompressError

GRAPH_VERSION = 2
READABLE_VERSIONS = (1, 2)
INPUT = "@input"  # the graph input, as a name in `inputs` (no module or fx node name holds '@')
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
    inputs: tuple[str, ...] = ()  # () = the previous layer's output


@dataclass(frozen=True)
class Linear:
    name: str
    weight: str  # shape (out, in)
    bias: str | None
    in_features: int
    out_features: int
    op: str = field(default="linear", init=False)
    inputs: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReLU:
    name: str
    op: str = field(default="relu", init=False)
    inputs: tuple[str, ...] = ()


@dataclass(frozen=True)
class MaxPool2d:
    """Max over each window; with `padding`, the window's taps outside the input are skipped (the maximum
    starts from -inf and takes each inside tap that compares greater)."""

    name: str
    kernel: int
    stride: int
    op: str = field(default="maxpool2d", init=False)
    inputs: tuple[str, ...] = ()
    padding: int = 0


@dataclass(frozen=True)
class AvgPool2d:
    """Sum of each window times 1/(kernel^2); with `padding`, the taps outside are zeros and count (torch's
    count_include_pad=True)."""

    name: str
    kernel: int
    stride: int
    op: str = field(default="avgpool2d", init=False)
    inputs: tuple[str, ...] = ()
    padding: int = 0


@dataclass(frozen=True)
class Flatten:
    name: str
    op: str = field(default="flatten", init=False)
    inputs: tuple[str, ...] = ()


@dataclass(frozen=True)
class GlobalAvgPool:
    """AdaptiveAvgPool2d(1): (C, H, W) -> (C, 1, 1), each channel summed in order then divided by H*W."""

    name: str
    op: str = field(default="globalavgpool", init=False)
    inputs: tuple[str, ...] = ()


# Element-wise activations besides ReLU, with the number of float parameters each takes:
# hardtanh (low, high) covers ReLU6; leaky_relu (negative slope,); gelu is the erf form, gelu_tanh torch's
# approximate='tanh'. pycompress/hw/activations.py defines the float32 arithmetic of each.
ACTIVATIONS = {"hardtanh": 2, "leaky_relu": 1, "hardsigmoid": 0, "hardswish": 0, "sigmoid": 0, "tanh": 0,
               "gelu": 0, "gelu_tanh": 0, "silu": 0}


@dataclass(frozen=True)
class Activation:
    """y = f(x) element by element; `params` as ACTIVATIONS says (hardtanh: low, high; leaky_relu: slope)."""

    name: str
    function: str
    params: tuple[float, ...] = ()
    op: str = field(default="activation", init=False)
    inputs: tuple[str, ...] = ()


@dataclass(frozen=True)
class ScaleShift:
    """y = x * scale[c] + shift[c] per channel (dimension 0 of the activation): a batch norm with no
    convolution or linear layer to fold into."""

    name: str
    scale: str  # state_dict keys, shape (channels,)
    shift: str
    channels: int
    op: str = field(default="scaleshift", init=False)
    inputs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Softmax:
    """Softmax over a (N,) activation (the classes)."""

    name: str
    op: str = field(default="softmax", init=False)
    inputs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Add:
    """Element-wise sum of two earlier activations of the same shape (a residual connection)."""

    name: str
    inputs: tuple[str, ...] = ()  # exactly two names
    op: str = field(default="add", init=False)


Layer = Union[Conv2d, Linear, ReLU, MaxPool2d, AvgPool2d, Flatten, GlobalAvgPool, Add, Activation, ScaleShift, Softmax]
_ALL = (Conv2d, Linear, ReLU, MaxPool2d, AvgPool2d, Flatten, GlobalAvgPool, Add, Activation, ScaleShift, Softmax)
_LAYER_TYPES = {cls.__dataclass_fields__["op"].default: cls for cls in _ALL}
_V2_OPS = ("globalavgpool", "add", "activation", "scaleshift", "softmax")


@dataclass(frozen=True)
class Graph:
    """Input shape (C, H, W) and the layers in order; `dataset` names the test vectors that fit it."""

    input_shape: tuple[int, ...]
    layers: tuple[Layer, ...]
    dataset: str | None = None

    def sources(self) -> list[tuple[int, ...]]:
        """Per layer, the indices into shapes() it reads: 0 is the graph input, k + 1 the output of layer k."""
        seen: dict[str, int] = {}
        dup: set[str] = set()
        out = []
        for k, layer in enumerate(self.layers):
            if not layer.inputs:
                if isinstance(layer, Add):
                    raise PycompressError(f"layer {layer.name}: add needs two inputs")
                out.append((k,))
            else:
                if isinstance(layer, Add) != (len(layer.inputs) == 2) or len(layer.inputs) > 2:
                    raise PycompressError(f"layer {layer.name}: {layer.op} takes {2 if isinstance(layer, Add) else 1} input(s), "
                                          f"the graph gives {len(layer.inputs)}")
                idx = []
                for name in layer.inputs:
                    if name == INPUT:
                        idx.append(0)
                    elif name in dup:
                        raise PycompressError(f"layer {layer.name}: input {name!r} names more than one earlier layer")
                    elif name not in seen:
                        raise PycompressError(f"layer {layer.name}: input {name!r} is not an earlier layer")
                    else:
                        idx.append(seen[name])
                out.append(tuple(idx))
            if layer.name in seen:
                dup.add(layer.name)
            seen[layer.name] = k + 1
        return out

    def shapes(self) -> list[tuple[int, ...]]:
        """Activation shape of the input and after every layer; raises on a mismatch."""
        shape = tuple(self.input_shape)
        if _size(shape) > MAX_ACTIVATION:
            raise PycompressError(f"layer graph: input {shape} has {_size(shape)} values, "
                                  f"more than the {MAX_ACTIVATION} the hardware generator accepts")
        out = [shape]
        for layer, src in zip(self.layers, self.sources()):
            ins = [out[i] for i in src]
            if isinstance(layer, Add) and ins[0] != ins[1]:
                raise PycompressError(f"layer {layer.name}: add of shapes {ins[0]} and {ins[1]}")
            out.append(_out_shape(layer, ins[0]))
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
            elif isinstance(layer, ScaleShift):
                names += [layer.scale, layer.shift]
        return names

    def to_dict(self) -> dict:
        v2 = any(l.inputs or l.op in _V2_OPS or (l.op in ("maxpool2d", "avgpool2d") and l.padding)
                 for l in self.layers)
        return {"version": 2 if v2 else 1, "input_shape": list(self.input_shape), "dataset": self.dataset,
                "layers": [_layer_dict(l, v2) for l in self.layers]}

    @classmethod
    def from_dict(cls, data: Mapping) -> "Graph":
        """The typed graph of untrusted JSON: every field of the right type and range, activations bounded."""
        from .graph_json import graph_from_dict

        return graph_from_dict(data)

    def check_params(self, shapes: Mapping[str, tuple[int, ...]]) -> None:
        """Each layer's weight and bias exist with the shapes its dimensions imply."""
        for layer in self.layers:
            if isinstance(layer, Conv2d):
                want = {layer.weight: (layer.out_channels, layer.in_channels, *layer.kernel)}
                out = layer.out_channels
            elif isinstance(layer, Linear):
                want, out = {layer.weight: (layer.out_features, layer.in_features)}, layer.out_features
            elif isinstance(layer, ScaleShift):
                want, out = {layer.scale: (layer.channels,), layer.shift: (layer.channels,)}, layer.channels
            else:
                continue
            if getattr(layer, "bias", None) is not None:
                want[layer.bias] = (out,)
            for name, shape in want.items():
                if name not in shapes:
                    raise PycompressError(f"layer {layer.name}: tensor {name!r} is not in the model")
                if tuple(shapes[name]) != shape:
                    raise PycompressError(f"layer {layer.name}: tensor {name!r} has shape {tuple(shapes[name])}, "
                                          f"the layer needs {shape}")


def _layer_dict(layer: Layer, v2: bool) -> dict:
    d = {k: (list(x) if isinstance(x, tuple) else x) for k, x in asdict(layer).items()}
    if not v2:
        d.pop("inputs")
    if d.get("padding") == 0 and layer.op in ("maxpool2d", "avgpool2d"):
        d.pop("padding")  # unpadded pools are written as before: older readers read them
    return d


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
    if isinstance(layer, (ReLU, Add, Activation)):
        return shape
    if isinstance(layer, ScaleShift):
        if shape[0] != layer.channels:
            raise PycompressError(f"layer {layer.name}: scale-and-shift of {layer.channels} channels, gets {shape}")
        return shape
    if isinstance(layer, Softmax):
        if len(shape) != 1:
            raise PycompressError(f"layer {layer.name}: softmax over the classes of a (N,) activation, gets {shape}")
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
    if isinstance(layer, GlobalAvgPool):
        return (c, 1, 1)
    if isinstance(layer, Conv2d):
        if c != layer.in_channels:
            raise PycompressError(f"layer {layer.name}: Conv2d expects {layer.in_channels} channels, gets {c}")
        (kh, kw), (ph, pw), s = layer.kernel, layer.padding, layer.stride
        oh, ow = (h + 2 * ph - kh) // s + 1, (w + 2 * pw - kw) // s + 1
        if oh < 1 or ow < 1:
            raise PycompressError(f"layer {layer.name}: output would be empty for input {shape}")
        return (layer.out_channels, oh, ow)
    k, s, p = layer.kernel, layer.stride, layer.padding
    if 2 * p > k:
        raise PycompressError(f"layer {layer.name}: pool padding {p} is more than half the kernel {k}")
    oh, ow = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    if oh < 1 or ow < 1:
        raise PycompressError(f"layer {layer.name}: pool output would be empty for input {shape}")
    return (c, oh, ow)


def graph_of(model_graph: dict | None, reason: str | None = None) -> Graph:
    """The typed graph of a container's `graph` field; a clear error (with why, when known) when there is none."""
    if not model_graph:
        why = f": {reason}" if reason else ""
        raise PycompressError(f"the compressed model has no layer graph{why}; compress it from the nn.Module "
                              "(pycompress.compress.compress(module)) or attach one with "
                              "pycompress.frontends.graph_builtin.graph_for(...)")
    return Graph.from_dict(model_graph)
