"""Plain values for the HLS templates, read from the accelerator plan (pycompress.hw.plan).

The plan gives the layers, their lanes, loop schedules, buffers and memories; the
tables (hw.layout, the one packer shared with the RTL memory images) give widths
and contents. This module only arranges them: each conv2d/linear weight becomes
one packed stream in the loop order of its layer, read P codes per cycle; biases
keep per-element tables.
"""
from __future__ import annotations

import numpy as np

from pycompress.hw import kernel_interface as ki
from pycompress.core.errors import PycompressError
from pycompress.hw.huffman_layout import HuffmanTables  # issue 15: entropy-coded weights
from pycompress.core.formats import get_format
from pycompress.hw.layout import ClusterTables, ExpShareTables, STREAM_WORD_BITS, lane_order, pack_stream
from pycompress.hw.names import ModelName, unique_identifiers
from pycompress.hw.plan import KernelModel, Layer, LayerPlan, plan_hls
from pycompress.hw.plan.memory import Memory
from .ddr import (DDR_FIFO_DEPTH, DDR_GROUP_FIFO_DEPTH, IMAGE_FILE, LAYOUT_FILE, WEIGHTS_BUNDLE, WEIGHTS_PORT,
    DdrImage, build_image, ddr_shifts, ddr_window)
from .reference import reciprocal

WEIGHT_PLACES = ("bram", "ddr")  # weight streams in on-chip ROM, or in DDR behind an AXI master


def _param_values(name: str, ident: str, km: KernelModel, baseline: bool, lanes: int, mem: Memory) -> dict:
    """A per-element table (biases): random access, block-partitioned over the layer's lanes (`mem`, from the plan)."""
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
                "big": mem.in_bram}
    if isinstance(t, ClusterTables):
        return {**base, "scheme": "cluster", "format": t.format.name, "index_bits": t.index_bits, "k": int(t.codebook_rom.size),
                "format_bits": t.format.total_bits, "codebook": t.codebook_rom, "index": t.index,
                "index_mask": (1 << t.index_bits) - 1, "big": mem.in_bram}
    return {**base, "scheme": "float", "format": "fp32", "floats": values, "big": mem.in_bram}


def _identifiers(km: KernelModel) -> dict[str, str]:
    """hwlayout's identifiers for encoded tensors; sanitised, collision-free ones for the rest."""
    out = {name: t.ident for name, t in km.tables.items()}
    rest = [name for name in km.graph.param_names() if name not in out]
    out.update(unique_identifiers(rest, taken=out.values()))
    return out


def _layer_values(l: Layer, idents: dict[str, str]) -> dict:
    """One layer's template dict: names, sizes, buffers, geometry; weights by identifier."""
    d = {"name": ModelName(l.name), "layer": l.name, "op": l.op, "fn": l.fn, "in_size": l.n_in, "out_size": l.n_out,
         "src": l.src, "dst": l.dst, "fused": l.fused, "relu": l.relu, "in_place": l.in_place}
    if l.op == "add":
        d["src2"] = l.src2
    if l.op in ("conv2d", "maxpool2d", "avgpool2d", "globalavgpool"):
        (ic, ih, iw), (oc, oh, ow) = l.in_shape, l.out_shape
        d.update(ic=ic, ih=ih, iw=iw, oc=oc, oh=oh, ow=ow)
    if l.op in ("conv2d", "maxpool2d", "avgpool2d"):
        d.update(stride=l.stride)
    if l.op == "conv2d":
        d.update(kh=l.kernel[0], kw=l.kernel[1], ph=l.padding[0], pw=l.padding[1])
    if l.op in ("maxpool2d", "avgpool2d"):
        d.update(k=l.kernel[0])
    if l.mac:
        d.update(weight=idents[l.weight], bias=idents[l.bias] if l.bias else None)
    return d


def _stream_codes(name: str, km: KernelModel, scheme: str) -> tuple[np.ndarray, object]:
    """(codes in C order, tables or None) of one weight for the plan's stream scheme."""
    t = km.tables.get(name)
    if scheme == "float":
        return km.params[name].view(np.uint32).reshape(-1).astype(np.uint64), None
    if scheme == "raw":
        return t.raw_codes()[0], None
    return t.stream_codes()[0], t


def _stream_values(lp: LayerPlan, ident: str, km: KernelModel, kernel: str) -> dict:
    """A weight as one packed stream in its layer's loop order, P = lanes codes per read."""
    name, lanes, outputs, reduction = lp.weight, lp.lanes, lp.outputs, lp.reduction
    if kernel == "compressed" and isinstance(km.tables.get(name), HuffmanTables):  # one decoder per lane
        from .huffman import kernel_stream
        return kernel_stream(lp.layer, name, ident, km.params[name], km.tables[name], lanes)
    scheme, fmt, bits = lp.stream.scheme, lp.stream.format, lp.stream.code_bits
    codes, t = _stream_codes(name, km, scheme)
    stream = pack_stream(codes, bits, lane_order(outputs, reduction, lanes), lanes)
    mem = dict(lp.memories)["weights"]
    values = km.params[name]
    f = get_format(fmt)
    d = {"name": ModelName(name), "tensor": name, "ident": ident, "size": int(values.size), "shape": list(values.shape),
         "role": "stream", "scheme": scheme, "format": fmt, "code_bits": bits, "code_mask": (1 << bits) - 1,
         "lanes": lanes, "groups": outputs // lanes, "reduction": reduction, "group_bits": bits * lanes,
         "word_bits": STREAM_WORD_BITS, "word_mask": (1 << STREAM_WORD_BITS) - 1, "words": stream.words,
         "nwords": int(stream.words.size), "banks": mem.banks, "big": mem.in_bram,
         "format_exponent_bits": f.exponent_bits, "format_mantissa_bits": f.mantissa_bits, "ddr": False, "packed": stream}
    if isinstance(t, ExpShareTables):
        d.update(index_bits=t.index_bits, mantissa_bits=t.mantissa_bits, mantissa_shift=t.mantissa_shift,
                 exponent_bits=f.exponent_bits, exp_depth=int(t.exponent_rom.size), exponent_rom=t.exponent_rom,
                 index_mask=(1 << t.index_bits) - 1, mantissa_mask=(1 << t.mantissa_bits) - 1,
                 exponent_mask=(1 << f.exponent_bits) - 1)
    elif isinstance(t, ClusterTables):
        d.update(index_bits=t.index_bits, k=int(t.codebook_rom.size), codebook=t.codebook_rom, format_bits=f.total_bits)
    return d


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
    plan = plan_hls(km, kernel, board, parallel, dataflow)
    idents = _identifiers(km)
    layers = [_layer_values(lp.layer, idents) for lp in plan.layers]
    params = []
    for lp, l in zip(plan.layers, layers):
        if not lp.mac:
            continue
        s = lp.schedule
        l.update(lanes=lp.lanes, groups=lp.groups, reduction=lp.reduction, pixels=lp.pixels, distance=s.distance,
                 dependence_free=s.ii == 1)  # the plan's II is 1 exactly when an accumulator recurs after its chain
        params.append(_stream_values(lp, l["weight"], km, kernel))
        if lp.bias:
            params.append(_param_values(lp.bias, l["bias"], km, baseline, lp.lanes, dict(lp.memories)["bias"]))
    if weights == "ddr" and any(p["scheme"] == "huffman" for p in params):
        raise PycompressError("entropy-coded (huffman) weights are decoded from on-chip ROMs only: use --weights bram")
    image = _place_in_ddr(params) if weights == "ddr" else None
    for lp, l in zip(plan.layers, layers):
        if l["op"] in ("maxpool2d", "avgpool2d"):
            l["ii"] = lp.schedule.ii
        if l["op"] == "avgpool2d":
            l["recip"] = reciprocal(l["k"] * l["k"])
        elif l["op"] == "globalavgpool":
            l["recip"] = reciprocal(l["ih"] * l["iw"])
    buffers = [{"name": b.name, "size": b.size, "banks": b.banks, "big": b.memory.in_bram} for b in plan.buffers]
    inbuf, outbuf = plan.input_buffer, plan.output_buffer
    b = plan.board
    top = plan.estimate.top
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
