"""Plain values for the HLS templates, built from a CompressedModel and its layer graph.

Widths, depths and table contents come from `hwlayout.layer_tables` (the one
packer, shared with the RTL memory images); this module only arranges them.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import kernel_interface as ki
from ..board import load_board
from ..container import CompressedModel
from ..errors import PycompressError
from ..formats import tensor_bits
from ..graph import AvgPool2d, Conv2d, Flatten, Graph, Linear, MaxPool2d, ReLU, graph_of
from ..hwlayout import ClusterTables, ExpShareTables, layer_tables, sanitize_identifier, unique_identifiers

BRAM_MIN_BITS = 1024  # tables above this many bits are bound to BRAM, smaller ones to LUTs
KERNEL_FORMATS = ("fp32", "bf16", "fp16")


@dataclass(frozen=True)
class KernelModel:
    """What both the generator and the reference need: graph, float32 parameter values, table layouts."""

    graph: Graph
    params: dict[str, np.ndarray]  # state_dict key -> float32 values as the kernel sees them (decoded, widened)
    tables: dict[str, ExpShareTables | ClusterTables]  # encoded params only
    format: str


def kernel_model(cm: CompressedModel) -> KernelModel:
    graph = graph_of(cm.graph)
    tables = {t.name: t for t in layer_tables(cm)}
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


def _param_values(name: str, ident: str, km: KernelModel, baseline: bool) -> dict:
    values = km.params[name]
    t = None if baseline else km.tables.get(name)
    base = {"name": name, "ident": ident, "size": int(values.size), "shape": list(values.shape)}
    if isinstance(t, ExpShareTables):
        f = t.format
        return {**base, "scheme": "expshare", "format": f.name, "index_bits": t.index_bits,
                "mantissa_bits": t.mantissa_bits, "mantissa_shift": t.mantissa_shift, "exponent_bits": f.exponent_bits,
                "format_exponent_bits": f.exponent_bits, "format_mantissa_bits": f.mantissa_bits,
                "exp_depth": int(t.exponent_rom.size), "exponent_rom": t.exponent_rom, "sign": t.sign, "index": t.index,
                "mantissa": t.mantissa, "index_mask": (1 << t.index_bits) - 1, "mantissa_mask": (1 << t.mantissa_bits) - 1,
                "exponent_mask": (1 << f.exponent_bits) - 1,
                "big": t.depth * (1 + t.index_bits + t.mantissa_bits) > BRAM_MIN_BITS}
    if isinstance(t, ClusterTables):
        return {**base, "scheme": "cluster", "format": t.format.name, "index_bits": t.index_bits, "k": int(t.codebook_rom.size),
                "format_bits": t.format.total_bits, "codebook": t.codebook_rom, "index": t.index,
                "index_mask": (1 << t.index_bits) - 1, "big": t.depth * t.index_bits > BRAM_MIN_BITS}
    return {**base, "scheme": "float", "format": "fp32", "floats": values, "big": values.size * 32 > BRAM_MIN_BITS}


def _identifiers(km: KernelModel) -> dict[str, str]:
    """hwlayout's identifiers for encoded tensors; sanitised, collision-free ones for the rest."""
    out = {name: t.ident for name, t in km.tables.items()}
    rest = [name for name in km.graph.param_names() if name not in out]
    out.update(unique_identifiers(rest, taken=out.values()))
    return out


def _layers(graph: Graph, idents: dict[str, str]) -> tuple[list[dict], list[dict], str, str]:
    shapes = graph.shapes()
    buffers = [{"name": "a0", "size": graph.input_size}]
    cur = "a0"
    layers = []
    for k, (layer, sin, sout) in enumerate(zip(graph.layers, shapes, shapes[1:])):
        fn = f"l{k}_{sanitize_identifier(layer.name)}"
        nin, nout = int(np.prod(sin)), int(np.prod(sout))
        d = {"name": layer.name, "op": layer.op, "fn": fn, "in_size": nin, "out_size": nout, "src": cur, "dst": cur}
        if isinstance(layer, (Conv2d, MaxPool2d, AvgPool2d, Linear)):
            d["dst"] = f"a{len(buffers)}"
            buffers.append({"name": d["dst"], "size": nout})
        if isinstance(layer, (Conv2d, MaxPool2d, AvgPool2d)):
            d.update(ic=sin[0], ih=sin[1], iw=sin[2], oc=sout[0], oh=sout[1], ow=sout[2], stride=layer.stride)
        if isinstance(layer, Conv2d):
            d.update(kh=layer.kernel[0], kw=layer.kernel[1], ph=layer.padding[0], pw=layer.padding[1])
        if isinstance(layer, (MaxPool2d, AvgPool2d)):
            d.update(k=layer.kernel)
        if isinstance(layer, (Conv2d, Linear)):
            d.update(weight=idents[layer.weight], bias=idents[layer.bias] if layer.bias else None)
        assert isinstance(layer, (Conv2d, MaxPool2d, AvgPool2d, Linear, ReLU, Flatten))
        layers.append(d)
        cur = d["dst"]
    return layers, buffers, "a0", cur


def template_values(km: KernelModel, baseline: bool = False, board: str = "zedboard") -> dict:
    """Everything the templates render from, as plain values."""
    idents = _identifiers(km)
    layers, buffers, inbuf, outbuf = _layers(km.graph, idents)
    params = [_param_values(name, idents[name], km, baseline) for name in km.graph.param_names()]
    b = load_board(board)
    top = ki.BASELINE_TOP_FUNCTION if baseline else ki.TOP_FUNCTION
    kind = "uncompressed baseline (plain float weight arrays)" if baseline else f"compressed weights ({km.format} storage)"
    return {
        "top": top, "baseline": baseline, "hls_project": f"prj_{top}", "solution": "solution1", "description": f"{top}: {kind}",
        "ports": {"input": ki.INPUT_PORT, "output": ki.OUTPUT_PORT, "control": ki.CONTROL_BUNDLE},
        "axis_bits": ki.AXIS_DATA_BITS, "input_size": km.graph.input_size, "output_size": km.graph.output_size,
        "input_shape": list(km.graph.input_shape), "layers": layers, "buffers": buffers, "params": params,
        "input_buffer": inbuf, "output_buffer": outbuf, "part": b.part, "board": b.name,
        "clock_period_ns": f"{b.clock_period_ns:g}",
        "ip": {"vendor": ki.IP_VENDOR, "library": ki.IP_LIBRARY, "version": ki.IP_VERSION},
    }
