"""Plain values for the HLS templates, built from a CompressedModel and its layer graph.

Widths, depths and table contents come from `hwlayout` (the one packer, shared
with the RTL memory images); this module only arranges them. Each conv2d/linear
weight becomes one packed stream in the loop order of its layer, read P codes
per cycle, with P from `allocate` (or fixed by the user); biases keep
per-element tables.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pycompress.hw import kernel_interface as ki
from pycompress.hw.board import load_board
from pycompress.core.container import CompressedModel
from pycompress.core.errors import PycompressError
from pycompress.hw.huffman_layout import HuffmanTables, huffman_tables, is_huffman  # issue 15: entropy-coded weights
from pycompress.core.formats import get_format, tensor_bits
from pycompress.core.graph import (Add, AvgPool2d, Conv2d, Flatten, GlobalAvgPool, Graph, Linear, MaxPool2d, ReLU,
    graph_of)
from pycompress.hw.layout import (ClusterTables, ExpShareTables, STREAM_WORD_BITS, lane_order, layer_tables,
    pack_stream, raw_codes, stream_codes, window_words)
from pycompress.hw.names import ModelName, sanitize_identifier, unique_identifiers
from .allocate import Budget, allocate
from .ddr import (DDR_FIFO_DEPTH, DDR_GROUP_FIFO_DEPTH, IMAGE_FILE, LAYOUT_FILE, WEIGHTS_BUNDLE, WEIGHTS_PORT,
    DdrImage, build_image, ddr_shifts, ddr_window)
from .plan import KernelPlan
from .resources import Memory, StreamShape
from .reference import reciprocal
from .schedule import ACC_CHAIN, mac_shape, pool_nest

KERNEL_FORMATS = ("fp32", "bf16", "fp16")
KERNELS = ("compressed", "raw", "float")
WEIGHT_PLACES = ("bram", "ddr")  # weight streams in on-chip ROM, or in DDR behind an AXI master  # exponent-shared/clustered; raw bits in the storage format; float32 (old baseline)


@dataclass(frozen=True)
class KernelModel:
    """What both the generator and the reference need: graph, float32 parameter values, table layouts."""

    graph: Graph
    params: dict[str, np.ndarray]  # state_dict key -> float32 values as the kernel sees them (decoded, widened)
    tables: dict[str, ExpShareTables | ClusterTables]  # encoded params only
    format: str


def kernel_model(cm: CompressedModel) -> KernelModel:
    graph = graph_of(cm.graph, cm.info.get("no_graph")[:300] if isinstance(cm.info.get("no_graph"), str) else None)
    tables = {t.name: t for t in (huffman_tables(cm) if is_huffman(cm) else layer_tables(cm))}
    params = {}
    for name in graph.param_names():
        if name not in cm.tensors and name not in cm.raw:
            raise PycompressError(f"layer graph needs tensor {name!r}, which the compressed model does not hold")
        t = tables.get(name)
        if t is not None and t.format.name not in KERNEL_FORMATS:
            raise PycompressError(f"tensor {name!r} is stored in {t.format.name}; the HLS kernel supports {', '.join(KERNEL_FORMATS)}")
        value = cm.tensors[name].decode() if name in cm.tensors else cm.raw[name]
        if not value.is_floating_point():
            raise PycompressError(f"tensor {name!r} is not floating point ({value.dtype})")
        params[name] = tensor_bits(value.float()).view(np.float32).copy()
    return KernelModel(graph, params, tables, cm.format)


def _param_values(name: str, ident: str, km: KernelModel, baseline: bool, lanes: int = 1) -> dict:
    """A per-element table (biases): random access, block-partitioned over the layer's lanes."""
    values = km.params[name]
    t = None if baseline else km.tables.get(name)
    base = {"name": ModelName(name), "tensor": name, "ident": ident, "size": int(values.size), "shape": list(values.shape),
            "role": "table", "lanes": lanes}
    if isinstance(t, ExpShareTables):
        f = t.format
        return {**base, "scheme": "expshare", "format": f.name, "index_bits": t.index_bits,
                "mantissa_bits": t.mantissa_bits, "mantissa_shift": t.mantissa_shift, "exponent_bits": f.exponent_bits,
                "format_exponent_bits": f.exponent_bits, "format_mantissa_bits": f.mantissa_bits,
                "exp_depth": int(t.exponent_rom.size), "exponent_rom": t.exponent_rom, "sign": t.sign, "index": t.index,
                "mantissa": t.mantissa, "index_mask": (1 << t.index_bits) - 1, "mantissa_mask": (1 << t.mantissa_bits) - 1,
                "exponent_mask": (1 << f.exponent_bits) - 1,
                "big": Memory(1 + t.index_bits + t.mantissa_bits, t.depth, lanes).in_bram}
    if isinstance(t, ClusterTables):
        return {**base, "scheme": "cluster", "format": t.format.name, "index_bits": t.index_bits, "k": int(t.codebook_rom.size),
                "format_bits": t.format.total_bits, "codebook": t.codebook_rom, "index": t.index,
                "index_mask": (1 << t.index_bits) - 1, "big": Memory(t.index_bits, t.depth, lanes).in_bram}
    return {**base, "scheme": "float", "format": "fp32", "floats": values, "big": Memory(32, values.size, lanes).in_bram}


def _identifiers(km: KernelModel) -> dict[str, str]:
    """hwlayout's identifiers for encoded tensors; sanitised, collision-free ones for the rest."""
    out = {name: t.ident for name, t in km.tables.items()}
    rest = [name for name in km.graph.param_names() if name not in out]
    out.update(unique_identifiers(rest, taken=out.values()))
    return out


def _layers(graph: Graph, idents: dict[str, str], dataflow: bool = False) -> tuple[list[dict], list[dict], str, str]:
    """Layer dicts with source/destination buffers. Every activation gets its own buffer, except a flatten
    (an alias) and a ReLU whose input nobody else reads (in place); an add reads two buffers.
    `dataflow`: every buffer needs one writer and one reader, so a ReLU right after a conv/linear is fused
    into that layer's last store and any other ReLU writes a buffer of its own; a graph whose activation
    is read twice (a residual add) is refused."""
    shapes, sources = graph.shapes(), graph.sources()
    readers = [0] * len(shapes)
    for src in sources:
        for i in src:
            readers[i] += 1
    if dataflow and max(readers, default=0) > 1:
        twice = next(k for k, n in enumerate(readers) if n > 1)
        what = "the input" if twice == 0 else f"the output of layer {graph.layers[twice - 1].name!r}"
        raise PycompressError(f"--dataflow needs a chain of layers, but {what} is read by {readers[twice]} layers "
                              "(a residual add); generate without --dataflow")
    buffers = [{"name": "a0", "size": graph.input_size}]
    where = ["a0"]  # shapes index -> buffer holding that activation
    layers = []
    for k, (layer, src) in enumerate(zip(graph.layers, sources)):
        sin, sout = shapes[src[0]], shapes[k + 1]
        fn = f"l{k}_{sanitize_identifier(layer.name)}"
        nin, nout = int(np.prod(sin)), int(np.prod(sout))
        cur = where[src[0]]
        d = {"name": ModelName(layer.name), "layer": layer.name, "op": layer.op, "fn": fn, "in_size": nin, "out_size": nout,
             "src": cur, "dst": cur}
        fused = (dataflow and isinstance(layer, ReLU) and src[0] == k and k > 0
                 and isinstance(graph.layers[k - 1], (Conv2d, Linear)))
        in_place = isinstance(layer, Flatten) or fused or (not dataflow and isinstance(layer, ReLU) and readers[src[0]] == 1
                                                           and src[0] > 0 and not isinstance(graph.layers[src[0] - 1], Flatten))
        d.update(fused=fused, relu=False)
        if fused:
            layers[-1]["relu"] = True
        if not in_place:
            d["dst"] = f"a{len(buffers)}"
            buffers.append({"name": d["dst"], "size": nout})
        d["in_place"] = in_place
        if isinstance(layer, Add):
            d["src2"] = where[src[1]]
        if isinstance(layer, (Conv2d, MaxPool2d, AvgPool2d, GlobalAvgPool)):
            d.update(ic=sin[0], ih=sin[1], iw=sin[2], oc=sout[0], oh=sout[1], ow=sout[2])
        if isinstance(layer, (Conv2d, MaxPool2d, AvgPool2d)):
            d.update(stride=layer.stride)
        if isinstance(layer, Conv2d):
            d.update(kh=layer.kernel[0], kw=layer.kernel[1], ph=layer.padding[0], pw=layer.padding[1])
        if isinstance(layer, (MaxPool2d, AvgPool2d)):
            d.update(k=layer.kernel)
        if isinstance(layer, (Conv2d, Linear)):
            d.update(weight=idents[layer.weight], bias=idents[layer.bias] if layer.bias else None)
        assert isinstance(layer, (Conv2d, MaxPool2d, AvgPool2d, Linear, ReLU, Flatten, Add, GlobalAvgPool))
        layers.append(d)
        where.append(d["dst"])
    return layers, buffers, "a0", where[-1]


def _stream_codes(name: str, km: KernelModel, kernel: str) -> tuple[np.ndarray, int, str, str, object]:
    """(codes in C order, code bits, scheme, format, tables) of one weight for the chosen kernel."""
    t = km.tables.get(name)
    if isinstance(t, HuffmanTables) and kernel in ("compressed", "raw"):  # issue 15 (entropy.hls)
        from .huffman import stream_codes_for
        return stream_codes_for(t, kernel)
    if kernel == "compressed" and t is not None:
        codes, bits = stream_codes(t)
        return codes, bits, t.scheme, t.format.name, t
    if kernel == "raw" and t is not None:
        codes, bits = raw_codes(t)
        return codes, bits, "raw", t.format.name, None
    return km.params[name].view(np.uint32).reshape(-1).astype(np.uint64), 32, "float", "fp32", None


def _stream_shape(codes: np.ndarray, bits: int, scheme: str, fmt: str, t) -> StreamShape:
    rom = 0
    if isinstance(t, ExpShareTables):
        rom = t.exponent_rom.size * t.format.exponent_bits
    elif isinstance(t, ClusterTables):
        rom = t.codebook_rom.size * t.format.total_bits
    return StreamShape(scheme, fmt, bits, int(codes.size), rom)


def _stream_values(layer: dict, name: str, ident: str, km: KernelModel, kernel: str, lanes: int) -> dict:
    """A weight as one packed stream in its layer's loop order, P = `lanes` codes per read."""
    if kernel == "compressed" and isinstance(km.tables.get(name), HuffmanTables):  # one decoder per lane
        from .huffman import kernel_stream
        return kernel_stream(layer, name, ident, km.params[name], km.tables[name], lanes)
    codes, bits, scheme, fmt, t = _stream_codes(name, km, kernel)
    outputs, reduction, _ = mac_shape(layer)
    stream = pack_stream(codes, bits, lane_order(outputs, reduction, lanes), lanes)
    mem = _stream_shape(codes, bits, scheme, fmt, t).memory(lanes)
    values = km.params[name]
    f = get_format(fmt)
    d = {"name": ModelName(name), "tensor": name, "ident": ident, "size": int(values.size), "shape": list(values.shape),
         "role": "stream", "scheme": scheme, "format": fmt, "code_bits": bits, "code_mask": (1 << bits) - 1,
         "lanes": lanes, "groups": outputs // lanes, "reduction": reduction, "group_bits": bits * lanes,
         "word_bits": STREAM_WORD_BITS, "word_mask": (1 << STREAM_WORD_BITS) - 1, "words": stream.words,
         "nwords": int(stream.words.size), "banks": window_words(bits, lanes), "big": mem.in_bram,
         "format_exponent_bits": f.exponent_bits, "format_mantissa_bits": f.mantissa_bits, "ddr": False, "packed": stream}
    if isinstance(t, ExpShareTables):
        d.update(index_bits=t.index_bits, mantissa_bits=t.mantissa_bits, mantissa_shift=t.mantissa_shift,
                 exponent_bits=f.exponent_bits, exp_depth=int(t.exponent_rom.size), exponent_rom=t.exponent_rom,
                 index_mask=(1 << t.index_bits) - 1, mantissa_mask=(1 << t.mantissa_bits) - 1,
                 exponent_mask=(1 << f.exponent_bits) - 1)
    elif isinstance(t, ClusterTables):
        d.update(index_bits=t.index_bits, k=int(t.codebook_rom.size), codebook=t.codebook_rom, format_bits=f.total_bits)
    return d


def _bias_bits(p: dict) -> int:
    if p["scheme"] == "expshare":
        return 1 + p["index_bits"] + p["mantissa_bits"]
    return p["index_bits"] if p["scheme"] == "cluster" else 32


def kernel_plan(km: KernelModel, kernel: str = "compressed") -> tuple[KernelPlan, dict, list[dict], list[dict]]:
    """(plan, identifiers, layer dicts, buffers) of the kernel: what the allocator and the estimate see."""
    if kernel not in KERNELS:
        raise PycompressError(f"unknown kernel {kernel!r} (choose from {', '.join(KERNELS)})")
    idents = _identifiers(km)
    layers, buffers, _, _ = _layers(km.graph, idents)
    by_ident = {v: k for k, v in idents.items()}
    streams, bias_bits = {}, {}
    for l in layers:
        if l["op"] not in ("conv2d", "linear"):
            continue
        streams[l["fn"]] = _stream_shape(*_stream_codes(by_ident[l["weight"]], km, kernel))
        if l["bias"]:
            bias_bits[l["fn"]] = _bias_bits(_param_values(by_ident[l["bias"]], l["bias"], km, kernel != "compressed"))
    top = ki.TOP_FUNCTION if kernel == "compressed" else ki.BASELINE_TOP_FUNCTION
    plan = KernelPlan(top, tuple(layers), streams, bias_bits, tuple((b["name"], b["size"]) for b in buffers),
                      km.graph.input_size, km.graph.output_size)
    return plan, idents, layers, buffers


def kernel_lanes(km: KernelModel, board: str = "zedboard", parallel: dict[str, int] | None = None) -> dict[str, int]:
    """Layer fn -> lanes, allocated on the compressed kernel: the baselines reuse them, so comparisons are like for like."""
    return allocate(kernel_plan(km, "compressed")[0], Budget.for_board(load_board(board)), parallel)


def _place_in_ddr(params: list[dict]) -> DdrImage:
    """Build the DDR image of every weight stream and tell each stream where its words are."""
    streams = [p for p in params if p["role"] == "stream"]
    other = [p for p in streams if "packed" not in p]
    if other:
        raise PycompressError(f"--weights ddr takes fixed-width packed streams; {other[0]['tensor']} is "
                              f"{other[0]['scheme']}-coded (not supported from DDR yet)")
    image = build_image([(p["tensor"], p["ident"], p["packed"], p["lanes"]) for p in streams])
    for p, seg in zip(streams, image.segments):
        p.update(ddr=True, ddr_offset=seg.offset, ddr_words=seg.words, ddr_window=ddr_window(p["code_bits"], p["lanes"]),
                 ddr_shifts=ddr_shifts(p["code_bits"], p["lanes"]))
    return image


def template_values(km: KernelModel, baseline: bool = False, board: str = "zedboard", kernel: str | None = None,
                    parallel: dict[str, int] | None = None, weights: str = "bram", dataflow: bool = False) -> dict:
    """Everything the templates render from: numbers, sanitised identifiers, and names as `ModelName`.

    `kernel` is compressed (default), raw (the same-format baseline) or float (float32
    arrays; `baseline=True`); `parallel` fixes lanes for model layer names; `weights` is
    bram (streams in on-chip ROMs) or ddr (the same streams read from DDR through an AXI
    master; `ddr_image` holds the image the host places there); `dataflow`: layers as concurrent
    processes joined by ping-pong buffers under DATAFLOW (chains of layers only), ReLU fused.
    """
    if weights not in WEIGHT_PLACES:
        raise PycompressError(f"unknown weight placement {weights!r} (choose from {', '.join(WEIGHT_PLACES)})")
    kernel = kernel or ("float" if baseline else "compressed")
    baseline = kernel != "compressed"
    plan, idents, _, _ = kernel_plan(km, kernel)
    layers, buffers, inbuf, outbuf = _layers(km.graph, idents, dataflow)
    lanes = kernel_lanes(km, board, parallel)
    by_ident = {v: k for k, v in idents.items()}
    params = []
    for l in layers:
        if l["op"] not in ("conv2d", "linear"):
            continue
        p = lanes[l["fn"]]
        outputs, reduction, pixels = mac_shape(l)
        l.update(lanes=p, groups=outputs // p, reduction=reduction, pixels=pixels, distance=outputs // p * pixels,
                 dependence_free=outputs // p * pixels >= ACC_CHAIN)
        params.append(_stream_values(l, by_ident[l["weight"]], l["weight"], km, kernel, p))
        if l["bias"]:
            params.append(_param_values(by_ident[l["bias"]], l["bias"], km, baseline, p))
    if weights == "ddr" and any(p["scheme"] == "huffman" for p in params):
        raise PycompressError("entropy-coded (huffman) weights are decoded from on-chip ROMs only: use --weights bram")
    image = _place_in_ddr(params) if weights == "ddr" else None
    for l in layers:
        if l["op"] in ("maxpool2d", "avgpool2d"):
            l["ii"] = pool_nest(l).ii
        if l["op"] == "avgpool2d":
            l["recip"] = reciprocal(l["k"] * l["k"])
        elif l["op"] == "globalavgpool":
            l["recip"] = reciprocal(l["ih"] * l["iw"])
    banks = {l["dst"]: l["lanes"] for l in layers if l["op"] in ("conv2d", "linear")}
    for b in buffers:
        b["banks"] = banks.get(b["name"], 1)
        b["big"] = Memory(32, b["size"], b["banks"]).in_bram
    b = load_board(board)
    top = plan.top
    kind = {"compressed": f"compressed weights ({km.format} storage)", "raw": "same-format baseline (raw weight bits in packed streams)",
            "float": "float32 baseline (raw float32 weight bits in packed streams)"}[kernel]
    return {
        "top": top, "baseline": baseline, "kernel": kernel,
        "lanes": {l["layer"]: l["lanes"] for l in layers if "lanes" in l}, "hls_project": f"prj_{top}", "solution": "solution1", "description": f"{top}: {kind}",
        "ports": {"input": ki.INPUT_PORT, "output": ki.OUTPUT_PORT, "control": ki.CONTROL_BUNDLE},
        "axis_bits": ki.AXIS_DATA_BITS, "input_size": km.graph.input_size, "output_size": km.graph.output_size,
        "input_shape": list(km.graph.input_shape), "layers": layers, "buffers": buffers, "params": params,
        "input_buffer": inbuf, "output_buffer": outbuf, "part": b.part, "board": b.name,
        "clock_period_ns": f"{b.clock_period_ns:g}",
        "ip": {"vendor": ki.IP_VENDOR, "library": ki.IP_LIBRARY, "version": ki.IP_VERSION},
        "weights": weights, "ddr": image is not None, "ddr_image": image, "ddr_port": WEIGHTS_PORT,
        "ddr_bundle": WEIGHTS_BUNDLE, "ddr_fifo_depth": DDR_FIFO_DEPTH, "ddr_group_fifo_depth": DDR_GROUP_FIFO_DEPTH, "ddr_image_file": IMAGE_FILE,
        "ddr_layout_file": LAYOUT_FILE, "ddr_total_words": int(image.words.size) if image is not None else 0,
        "dataflow": dataflow,
    }
