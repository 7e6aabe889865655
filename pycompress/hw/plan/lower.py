"""The layer graph lowered for each back end: typed `Layer`s in order, with (HLS) their activation buffers.

HLS: every graph layer is a loop nest; every activation gets its own buffer,
except a flatten (an alias) and a ReLU whose input nobody else reads (in place);
an add reads two buffers. RTL: a chain of engines, each conv/linear with the ReLU
after it fused, each pool a streaming unit, flatten nothing.
"""
from __future__ import annotations

import math

from pycompress.core.errors import PycompressError
from pycompress.core.graph import (Activation, Add, AvgPool2d, Conv2d, Flatten, GlobalAvgPool, Graph, Linear, MaxPool2d,
    ReLU, ScaleShift, Softmax)
from pycompress.hw.names import sanitize_identifier, unique_identifiers
from .model import Buffer, Layer


def _readers(graph: Graph) -> list[int]:
    readers = [0] * len(graph.shapes())
    for src in graph.sources():
        for i in src:
            readers[i] += 1
    return readers


def hls_layers(graph: Graph, dataflow: bool = False) -> tuple[list[Layer], list[Buffer], str, str]:
    """(layers, buffers, input buffer, output buffer) of the HLS kernel. A ReLU right after a conv/linear whose
    output nothing else reads is fused into that layer's last store. `dataflow`: every buffer needs one writer
    and one reader, so any other ReLU writes a buffer of its own, and a graph whose activation is read twice
    (a residual add) is refused in one line."""
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
        fused = (isinstance(layer, ReLU) and src[0] == k and k > 0 and readers[src[0]] == 1
                 and isinstance(graph.layers[k - 1], (Conv2d, Linear)))
        in_place = isinstance(layer, Flatten) or fused or (not dataflow and isinstance(layer, ReLU) and readers[src[0]] == 1
                                                           and src[0] > 0 and not isinstance(graph.layers[src[0] - 1], Flatten))
        if fused:
            layers[-1] = _replace(layers[-1], relu=True)
        dst = where[src[0]]
        if not in_place:
            dst = f"a{len(buffers)}"
            buffers.append(Buffer(dst, math.prod(sout)))
        assert isinstance(layer, (Conv2d, MaxPool2d, AvgPool2d, Linear, ReLU, Flatten, Add, GlobalAvgPool, Activation,
                                  ScaleShift, Softmax))
        kernel = tuple(layer.kernel) if isinstance(layer, Conv2d) else (
            (layer.kernel, layer.kernel) if isinstance(layer, (MaxPool2d, AvgPool2d)) else (1, 1))
        padding = tuple(layer.padding) if isinstance(layer, Conv2d) else (getattr(layer, "padding", 0),) * 2  # pools: one int
        layers.append(Layer(layer.name, layer.op, f"l{k}_{sanitize_identifier(layer.name)}", sin, sout, kernel,
                            getattr(layer, "stride", 1), padding,
                            getattr(layer, "weight", None), getattr(layer, "bias", None) or None, False, fused, in_place,
                            where[src[0]], dst, where[src[1]] if isinstance(layer, Add) else None,
                            params=_hls_params(layer)))
        where.append(dst)
    return layers, buffers, "a0", where[-1]


def _hls_params(layer) -> tuple:
    """An activation's (function, *parameters); a scale-and-shift's (scale, shift) tensor names."""
    if isinstance(layer, Activation):
        return (layer.function, *layer.params)
    if isinstance(layer, ScaleShift):
        return (layer.scale, layer.shift)
    return ()


def _replace(layer: Layer, **changes) -> Layer:
    from dataclasses import replace

    return replace(layer, **changes)


RTL_ACTIVATIONS = ("hardtanh", "leaky_relu")  # rtl/act_unit.sv; the others have no RTL unit
SKIP_IMAGES = 2  # a residual skip's FIFO holds this many images: the branch beside it may hold an image in each bank


def rtl_layers(graph: Graph, start: str | None = None) -> list[Layer]:
    """The graph as the engine's stages in stream order, linked by AXI4-Stream links (`src`, `src2`, `dst`, `dst2`:
    "in", then "k<i>"), the last stage's `dst` the output. A conv/linear takes the ReLU after it (when it alone reads
    the conv's output), an add too; an activation read twice is forked (stream_fork) and the branch that reaches
    an add without an engine gets a FIFO of SKIP_IMAGES images. Unsupported layers are refused in one line.
    `start`: the engine from this layer on (its input is that layer's input), for tests of a chain's tail."""
    layers, shapes, sources, readers = list(graph.layers), graph.shapes(), graph.sources(), _readers(graph)
    first = 0
    if start is not None:
        names = [l.name for l in layers]
        if start not in names:
            raise PycompressError(f"RTL engine: no layer {start!r} in the graph (layers: {', '.join(names)})")
        first = names.index(start)
        if any(i < first for src in sources[first:] for i in src):
            raise PycompressError(f"RTL engine: --start {start}: a later layer reads an activation before it")
    idents = unique_identifiers([l.name for l in layers], taken=("engine",))
    stages: list[Layer] = []
    link = {first: "in"}  # graph activation index -> the link that carries it
    fused = set()  # layer indices of ReLUs computed by the stage before them

    def new_link() -> str:
        return f"k{len(stages)}"

    for k in range(first, len(layers)):
        l, src = layers[k], sources[k]
        if k in fused:
            link[k + 1] = link[k]
            continue
        ins, outs = tuple(shapes[src[0]]), tuple(shapes[k + 1])
        nxt = layers[k + 1] if k + 1 < len(layers) else None
        relu = (isinstance(nxt, ReLU) and sources[k + 1] == (k + 1,) and readers[k + 1] == 1
                and isinstance(l, (Conv2d, Linear, Add)))
        if relu:
            fused.add(k + 1)
        if isinstance(l, Flatten):
            link[k + 1] = link[src[0]]
            continue
        common = dict(name=l.name, fn=idents[l.name], in_shape=ins, out_shape=outs, src=link[src[0]], dst=new_link())
        if isinstance(l, Conv2d):
            stage = Layer(op=l.op, kernel=tuple(l.kernel), stride=l.stride, padding=tuple(l.padding), weight=l.weight,
                          bias=l.bias, relu=relu, **common)
        elif isinstance(l, Linear):
            stage = Layer(op=l.op, weight=l.weight, bias=l.bias, relu=relu, **{**common, "in_shape": (math.prod(ins),)})
        elif isinstance(l, (MaxPool2d, AvgPool2d)):
            _check_pool(l)
            stage = Layer(op=l.op, kernel=(l.kernel, l.kernel), stride=l.stride, padding=(l.padding, l.padding), **common)
        elif isinstance(l, GlobalAvgPool):
            stage = Layer(op=l.op, **common)
        elif isinstance(l, Add):
            stage = Layer(op="add", relu=relu, src2=link[src[1]], **common)
        elif isinstance(l, Activation) and l.function in RTL_ACTIVATIONS:
            stage = Layer(op="activation", params=(l.function, *l.params), **common)
        elif isinstance(l, ReLU):
            stage = Layer(op="activation", params=("relu",), **common)
        else:
            what = f"{l.op} {l.function}" if isinstance(l, Activation) else l.op
            raise PycompressError(f"RTL engine: layer {l.name} ({what}) has no RTL unit (supported: conv2d, linear, "
                                  f"relu, {', '.join(RTL_ACTIVATIONS)}, maxpool2d, avgpool2d, globalavgpool, add, flatten)")
        stages.append(stage)
        link[k + 1] = stage.dst
    if not stages or not stages[-1].mac:
        raise PycompressError("RTL engine: the graph must end with a conv2d or linear layer")
    return _forks(stages, idents)


def _check_pool(l) -> None:
    """rtl/maxpool_unit.sv, rtl/avgpool_unit.sv: any kernel, stride and overlap, padding below the kernel."""
    if not 0 <= l.padding < l.kernel:
        raise PycompressError(f"RTL engine: {l.name}: pooling padding {l.padding} must be below the kernel {l.kernel}")


def _forks(stages: list[Layer], idents: dict) -> list[Layer]:
    """Every link read by two stages gets a stream_fork in front of its readers (a FIFO on a branch that reaches
    an add with no engine of its own to hold the image); links are renamed so each has one writer, one reader."""
    reads: dict[str, list[tuple[int, str]]] = {}
    for i, st in enumerate(stages):
        for field in ("src", "src2"):
            name = getattr(st, field)
            if name is not None:
                reads.setdefault(name, []).append((i, field))
    out: list[Layer] = []
    taken = set(idents.values())
    renamed: dict[tuple[int, str], str] = {}
    inserted: dict[int, list[Layer]] = {}  # forks go before the first reader of their link
    for name, users in reads.items():
        if len(users) == 1:
            continue
        if len(users) > 2:
            raise PycompressError(f"RTL engine: an activation read by {len(users)} layers (at most two: one residual add)")
        (ia, fa), (ib, fb) = users
        base = next(s for s in stages if s.dst == name) if name != "in" else None
        shape = base.out_shape if base is not None else stages[0].in_shape
        ident = _fresh(f"{base.fn if base is not None else 'input'}_fork", taken)
        a, b = f"{name}a", f"{name}b"
        fork = Layer(name=f"{base.name if base is not None else 'input'} (fork)", op="fork", fn=ident, in_shape=shape,
                     out_shape=shape, src=name, dst=a, dst2=b)
        group = [fork]
        renamed[(ia, fa)] = a
        if stages[ib].op == "add":  # the skip: hold its images while the other branch computes
            fifo = Layer(name=f"{fork.name[:-7]} (skip FIFO)", op="fifo", fn=_fresh(f"{fork.fn}_skip", taken),
                         in_shape=shape, out_shape=shape, src=b, dst=f"{name}s", depth=SKIP_IMAGES * math.prod(shape))
            group.append(fifo)
            b = fifo.dst
        renamed[(ib, fb)] = b
        inserted.setdefault(min(ia, ib), []).extend(group)
    for i, st in enumerate(stages):
        out.extend(inserted.get(i, []))
        changes = {f: renamed[(i, f)] for f in ("src", "src2") if (i, f) in renamed}
        out.append(_replace(st, **changes) if changes else st)
    return out


def _fresh(base: str, taken: set) -> str:
    name, k = base, 1
    while name in taken:
        k += 1
        name = f"{base}_{k}"
    taken.add(name)
    return name
