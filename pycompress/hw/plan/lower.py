"""The layer graph lowered for each back end: typed `Layer`s in order, with (HLS) their activation buffers.

HLS: every graph layer is a loop nest; every activation gets its own buffer,
except a flatten (an alias) and a ReLU whose input nobody else reads (in place);
an add reads two buffers. RTL: a chain of engines, each conv/linear with the ReLU
after it fused, each pool a streaming unit, flatten nothing.
"""
from __future__ import annotations

import math

from pycompress.core.errors import PycompressError
from pycompress.core.graph import (Add, AvgPool2d, Conv2d, Flatten, GlobalAvgPool, Graph, Linear, MaxPool2d, ReLU)
from pycompress.hw.names import sanitize_identifier, unique_identifiers
from .model import Buffer, Layer


def _readers(graph: Graph) -> list[int]:
    readers = [0] * len(graph.shapes())
    for src in graph.sources():
        for i in src:
            readers[i] += 1
    return readers


def hls_layers(graph: Graph, dataflow: bool = False) -> tuple[list[Layer], list[Buffer], str, str]:
    """(layers, buffers, input buffer, output buffer) of the HLS kernel. `dataflow`: every buffer needs one
    writer and one reader, so a ReLU right after a conv/linear is fused into that layer's last store and any
    other ReLU writes a buffer of its own; a graph whose activation is read twice (a residual add) is refused."""
    shapes, sources, readers = graph.shapes(), graph.sources(), _readers(graph)
    if dataflow and max(readers, default=0) > 1:
        twice = next(k for k, n in enumerate(readers) if n > 1)
        what = "the input" if twice == 0 else f"the output of layer {graph.layers[twice - 1].name!r}"
        raise PycompressError(f"--dataflow needs a chain of layers, but {what} is read by {readers[twice]} layers "
                              "(a residual add); generate without --dataflow")
    buffers = [Buffer("a0", graph.input_size)]
    where = ["a0"]  # shapes index -> buffer holding that activation
    layers: list[Layer] = []
    for k, (layer, src) in enumerate(zip(graph.layers, sources)):
        sin, sout = tuple(shapes[src[0]]), tuple(shapes[k + 1])
        fused = (dataflow and isinstance(layer, ReLU) and src[0] == k and k > 0
                 and isinstance(graph.layers[k - 1], (Conv2d, Linear)))
        in_place = isinstance(layer, Flatten) or fused or (not dataflow and isinstance(layer, ReLU) and readers[src[0]] == 1
                                                           and src[0] > 0 and not isinstance(graph.layers[src[0] - 1], Flatten))
        if fused:
            layers[-1] = _replace(layers[-1], relu=True)
        dst = where[src[0]]
        if not in_place:
            dst = f"a{len(buffers)}"
            buffers.append(Buffer(dst, math.prod(sout)))
        assert isinstance(layer, (Conv2d, MaxPool2d, AvgPool2d, Linear, ReLU, Flatten, Add, GlobalAvgPool))
        kernel = tuple(layer.kernel) if isinstance(layer, Conv2d) else (
            (layer.kernel, layer.kernel) if isinstance(layer, (MaxPool2d, AvgPool2d)) else (1, 1))
        padding = tuple(layer.padding) if isinstance(layer, Conv2d) else (getattr(layer, "padding", 0),) * 2  # pools: one int
        layers.append(Layer(layer.name, layer.op, f"l{k}_{sanitize_identifier(layer.name)}", sin, sout, kernel,
                            getattr(layer, "stride", 1), padding,
                            getattr(layer, "weight", None), getattr(layer, "bias", None) or None, False, fused, in_place,
                            where[src[0]], dst, where[src[1]] if isinstance(layer, Add) else None))
        where.append(dst)
    return layers, buffers, "a0", where[-1]


def _replace(layer: Layer, **changes) -> Layer:
    from dataclasses import replace

    return replace(layer, **changes)


def rtl_layers(graph: Graph, start: str | None = None) -> list[Layer]:
    """The graph as a chain of engines; unsupported graphs are refused in one line.
    `start`: the engine from this layer on (its input is that layer's input), for tests of a chain's tail."""
    layers, shapes = list(graph.layers), graph.shapes()
    if any(getattr(l, "inputs", ()) for l in layers):
        raise PycompressError("RTL engine: only a plain chain of layers is supported (this graph has branches)")
    first = 0
    if start is not None:
        names = [l.name for l in layers]
        if start not in names:
            raise PycompressError(f"RTL engine: no layer {start!r} in the graph (layers: {', '.join(names)})")
        first = names.index(start)
    idents = unique_identifiers([l.name for l in layers], taken=("engine",))
    out: list[Layer] = []
    i = first
    while i < len(layers):
        l, ins, outs = layers[i], tuple(shapes[i]), tuple(shapes[i + 1])
        relu = i + 1 < len(layers) and isinstance(layers[i + 1], ReLU)
        if isinstance(l, Conv2d):
            out.append(Layer(l.name, l.op, idents[l.name], ins, outs, tuple(l.kernel), l.stride, tuple(l.padding),
                             l.weight, l.bias, relu))
            i += 2 if relu else 1
        elif isinstance(l, Linear):
            out.append(Layer(l.name, l.op, idents[l.name], (math.prod(ins),), outs, weight=l.weight, bias=l.bias,
                             relu=relu))
            i += 2 if relu else 1
        elif isinstance(l, (MaxPool2d, AvgPool2d)):
            if l.padding:
                raise PycompressError(f"RTL engine: {l.name}: pooling with padding {l.padding} is not supported")
            if l.kernel > l.stride:
                raise PycompressError(f"RTL engine: {l.name}: overlapping pooling windows (kernel {l.kernel} > stride "
                                      f"{l.stride}) are not supported")
            if isinstance(l, AvgPool2d) and (l.kernel * l.kernel) & (l.kernel * l.kernel - 1):
                raise PycompressError(f"RTL engine: {l.name}: average pooling needs a power-of-two window "
                                      f"(kernel {l.kernel})")
            out.append(Layer(l.name, l.op, idents[l.name], ins, outs, (l.kernel, l.kernel), l.stride))
            i += 1
        elif isinstance(l, Flatten):
            i += 1
        else:
            raise PycompressError(f"RTL engine: layer {l.name} ({l.op}) has no RTL engine (supported: conv2d, linear, "
                                  "relu after them, maxpool2d, avgpool2d, flatten)")
    if not out or not out[-1].mac:
        raise PycompressError("RTL engine: the graph must end with a conv2d or linear layer")
    return out
