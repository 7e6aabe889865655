"""Plain values for the HLS templates, built from a CompressedModel and its layer graph (kernel v3).

The layers and their buffers come from the graph (`_layers`), the banking of every buffer from the
lanes (`buffers.py`), every weight and bias table from `tables.py` (one memory word per group of P
codes, from the shared packer `pycompress.hw.lanewords`), and each loop's II and depth from the cycle
model (`schedule.py`), which the rule checker confirms on the generated C++.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pycompress.hw import kernel_interface as ki
from pycompress.hw.board import load_board
from pycompress.core.container import CompressedModel
from pycompress.core.errors import PycompressError
from pycompress.hw.huffman_layout import HuffmanTables, huffman_tables, is_huffman  # issue 15: entropy-coded weights
from pycompress.core.formats import tensor_bits
from pycompress.core.graph import (Add, AvgPool2d, Conv2d, Flatten, GlobalAvgPool, Graph, Linear, MaxPool2d, ReLU,
    graph_of)
from pycompress.hw.layout import ClusterTables, ExpShareTables, layer_tables
from pycompress.hw.names import ModelName, sanitize_identifier, unique_identifiers
from .allocate import Budget, allocate
from .buffers import assign_layouts, buffer_list
from .ddr import DDR_FIFO_DEPTH, DDR_GROUP_FIFO_DEPTH, IMAGE_FILE, LAYOUT_FILE, WEIGHTS_BUNDLE, WEIGHTS_PORT
from .plan import KernelPlan, layer_nests
from .reference import reciprocal
from .schedule import mac_shape
from .tables import TABLE_KERNELS, check_format, place_in_ddr, table_shape, table_values

KERNEL_FORMATS = ("fp32", "bf16", "fp16")
KERNELS = TABLE_KERNELS  # compressed; raw, offset (same-format baselines); float (float32 baseline)
WEIGHT_PLACES = ("bram", "ddr")  # weight tables in on-chip ROM, or in DDR behind one AXI master per weight


@dataclass(frozen=True)
class KernelModel:
    """What both the generator and the reference need: graph, float32 parameter values, table layouts."""

    graph: Graph
    params: dict[str, np.ndarray]  # state_dict key -> float32 values as the kernel sees them (decoded, widened)
    tables: dict[str, ExpShareTables | ClusterTables | HuffmanTables]  # encoded params only
    format: str


def kernel_model(cm: CompressedModel) -> KernelModel:
    graph = graph_of(cm.graph, cm.info.get("no_graph")[:300] if isinstance(cm.info.get("no_graph"), str) else None)
    tables = {t.name: t for t in (huffman_tables(cm) if is_huffman(cm) else layer_tables(cm))}
    params = {}
    for name in graph.param_names():
        if name not in cm.tensors and name not in cm.raw:
            raise PycompressError(f"layer graph needs tensor {name!r}, which the compressed model does not hold")
        check_format(name, tables.get(name))
        value = cm.tensors[name].decode() if name in cm.tensors else cm.raw[name]
        if not value.is_floating_point():
            raise PycompressError(f"tensor {name!r} is not floating point ({value.dtype})")
        params[name] = tensor_bits(value.float()).view(np.float32).copy()
    return KernelModel(graph, params, tables, cm.format)


def is_chain(graph: Graph) -> bool:
    """Every activation read by one layer at most: the graph can run as a DATAFLOW chain."""
    readers = [0] * (len(graph.layers) + 1)
    for src in graph.sources():
        for i in src:
            readers[i] += 1
    return max(readers, default=0) <= 1


def _identifiers(km: KernelModel) -> dict[str, str]:
    """hwlayout's identifiers for encoded tensors; sanitised, collision-free ones for the rest."""
    out = {name: t.ident for name, t in km.tables.items()}
    rest = [name for name in km.graph.param_names() if name not in out]
    out.update(unique_identifiers(rest, taken=out.values()))
    return out


def _layers(graph: Graph, idents: dict[str, str], dataflow: bool = False) -> tuple[list[dict], list[dict], str, str]:
    """Layer dicts with source/destination buffers. Every activation gets its own buffer, except a flatten
    (an alias) and a ReLU that is fused into the conv/linear before it (that layer's output has no other
    reader) or runs in place (not under --dataflow). `dataflow`: every buffer needs one writer and one
    reader, so a graph whose activation is read twice (a residual add) is refused."""
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
    layers: list[dict] = []
    for k, (layer, src) in enumerate(zip(graph.layers, sources)):
        sin, sout = shapes[src[0]], shapes[k + 1]
        fn = f"l{k}_{sanitize_identifier(layer.name)}"
        nin, nout = int(np.prod(sin)), int(np.prod(sout))
        cur = where[src[0]]
        d = {"name": ModelName(layer.name), "layer": layer.name, "op": layer.op, "fn": fn, "in_size": nin, "out_size": nout,
             "src": cur, "dst": cur, "out_shape": tuple(sout), "in_shape": tuple(sin), "ddr": False}
        fused = (isinstance(layer, ReLU) and src[0] == k and k > 0 and readers[src[0]] == 1
                 and isinstance(graph.layers[k - 1], (Conv2d, Linear)))
        in_place = isinstance(layer, Flatten) or fused or (not dataflow and isinstance(layer, ReLU) and readers[src[0]] == 1
                                                           and src[0] > 0 and not isinstance(graph.layers[src[0] - 1], Flatten))
        d.update(fused=fused, relu=False, in_place=in_place)
        if fused:
            layers[-1]["relu"] = True
        if not in_place:
            d["dst"] = f"a{len(buffers)}"
            buffers.append({"name": d["dst"], "size": nout})
        if isinstance(layer, Add):
            d["src2"] = where[src[1]]
        if isinstance(layer, (Conv2d, MaxPool2d, AvgPool2d, GlobalAvgPool, Add)):
            d.update(ic=sin[0], ih=sin[1], iw=sin[2], oc=sout[0], oh=sout[1], ow=sout[2])
        if isinstance(layer, (Conv2d, MaxPool2d, AvgPool2d)):
            d.update(stride=layer.stride)
        if isinstance(layer, Conv2d):
            d.update(kh=layer.kernel[0], kw=layer.kernel[1], ph=layer.padding[0], pw=layer.padding[1])
        if isinstance(layer, (MaxPool2d, AvgPool2d)):
            d.update(k=layer.kernel)
        if isinstance(layer, (Conv2d, Linear)):
            d.update(weight=idents[layer.weight], bias=idents[layer.bias] if layer.bias else None,
                     weight_tensor=layer.weight, bias_tensor=layer.bias)
        assert isinstance(layer, (Conv2d, MaxPool2d, AvgPool2d, Linear, ReLU, Flatten, Add, GlobalAvgPool))
        layers.append(d)
        where.append(d["dst"])
    return layers, buffers, "a0", where[-1]


def kernel_plan(km: KernelModel, kernel: str = "compressed", dataflow: bool = False) -> KernelPlan:
    """What the allocator and the estimate see of the kernel: layers, buffers and the shape of every table."""
    if kernel not in KERNELS:
        raise PycompressError(f"unknown kernel {kernel!r} (choose from {', '.join(KERNELS)})")
    idents = _identifiers(km)
    layers, buffers, _, _ = _layers(km.graph, idents, dataflow)
    weights, biases = {}, {}
    for l in layers:
        if l["op"] in ("conv2d", "linear"):
            outputs, reduction, _ = mac_shape(l)
            weights[l["fn"]] = table_shape(l["weight_tensor"], km, kernel, outputs, reduction)
            if l["bias"]:
                biases[l["fn"]] = table_shape(l["bias_tensor"], km, kernel, outputs, 1)
    top = ki.TOP_FUNCTION if kernel == "compressed" else ki.BASELINE_TOP_FUNCTION
    return KernelPlan(top, tuple(layers), weights, biases, tuple((b["name"], b["size"]) for b in buffers),
                      km.graph.input_size, km.graph.output_size, tuple(km.graph.input_shape), dataflow)


def kernel_lanes(km: KernelModel, board: str = "zedboard", parallel: dict | None = None,
                 dataflow: bool = False) -> dict[str, tuple[int, int]]:
    """Layer fn -> (channel lanes, pixel lanes), allocated on the compressed kernel: the baselines reuse them,
    so comparisons are like for like."""
    return allocate(kernel_plan(km, "compressed", dataflow), Budget.for_board(load_board(board)), parallel)


def template_values(km: KernelModel, baseline: bool = False, board: str = "zedboard", kernel: str | None = None,
                    parallel: dict | None = None, weights: str = "bram", dataflow: bool = False) -> dict:
    """Everything the templates render from: numbers, sanitised identifiers, and names as `ModelName`.

    `kernel`: compressed (default), raw or offset (same-format baselines) or float (float32 tables;
    `baseline=True`); `parallel` fixes lanes for model layer names; `weights`: bram (tables in on-chip ROM)
    or ddr (each weight read from DDR through its own AXI master; `ddr_image` holds the image the host
    places there); `dataflow`: layers as concurrent processes joined by ping-pong buffers (chains only).
    """
    if weights not in WEIGHT_PLACES:
        raise PycompressError(f"unknown weight placement {weights!r} (choose from {', '.join(WEIGHT_PLACES)})")
    kernel = kernel or ("float" if baseline else "compressed")
    plan = kernel_plan(km, kernel, dataflow)
    idents = _identifiers(km)
    layers, buffers, inbuf, outbuf = _layers(km.graph, idents, dataflow)
    lanes = kernel_lanes(km, board, parallel, dataflow)
    where = assign_layouts(layers, km.graph.input_shape, lanes)
    params, ports = [], {}
    for k, l in enumerate(l for l in layers if l["op"] in ("conv2d", "linear")):
        p = l["lanes"]
        outputs, reduction, pixels = mac_shape(l)
        l.update(groups=outputs // p, reduction=reduction, owq=l.get("ow", 1) // l["pq"],
                 fadd_fabric=bool(l.get("fadd_fabric", False)))
        if weights == "ddr":
            ports[l["weight"]] = l["ddr_port"] = f"{WEIGHTS_PORT}_{l['weight']}"
            l["ddr"] = True
        if kernel == "compressed" and isinstance(km.tables.get(l["weight_tensor"]), HuffmanTables):
            from .huffman import kernel_stream
            params.append(kernel_stream(l, l["weight_tensor"], l["weight"], km.params[l["weight_tensor"]],
                                        km.tables[l["weight_tensor"]], p))
        else:
            params.append(table_values(l["weight_tensor"], l["weight"], "weight", km, kernel, outputs, reduction, p))
        if l["bias"]:
            params.append(table_values(l["bias_tensor"], l["bias"], "bias", km, kernel, outputs, 1, p))
    image = place_in_ddr(params, ports) if weights == "ddr" else None
    nests = layer_nests(plan, lanes, ddr=weights == "ddr")
    for l in layers:
        n = nests.get(l["fn"])
        if n is not None:
            l.update(ii=n.ii, depth=n.depth, distance=n.distance)
        if l["op"] == "avgpool2d":
            l["recip"] = reciprocal(l["k"] * l["k"])
        elif l["op"] == "globalavgpool":
            l["recip"] = reciprocal(l["ih"] * l["iw"])
    segments = {s.ident: s for s in image.segments} if image is not None else {}
    ddr_ports = [{"port": ports[i], "bundle": f"{WEIGHTS_BUNDLE}{n}", "words": segments[i].words,
                  "offset": segments[i].offset, "ident": i} for n, i in enumerate(ports)]
    b = load_board(board)
    top = plan.top
    kind = {"compressed": f"compressed weights ({km.format} storage)",
            "raw": "same-format baseline (raw weight bits, same tables)",
            "offset": "offset-exponent baseline (exponent minus the layer's smallest, same tables)",
            "float": "float32 baseline (raw float32 weight bits, same tables)"}[kernel]
    return {
        "top": top, "baseline": kernel != "compressed", "kernel": kernel,
        "lanes": {l["layer"]: l["lanes"] for l in layers if "lanes" in l},
        "pixel_lanes": {l["layer"]: l["pq"] for l in layers if "pq" in l},
        "hls_project": f"prj_{top}", "solution": "solution1", "description": f"{top}: {kind}",
        "ports": {"input": ki.INPUT_PORT, "output": ki.OUTPUT_PORT, "control": ki.CONTROL_BUNDLE},
        "axis_bits": ki.AXIS_DATA_BITS, "input_size": km.graph.input_size, "output_size": km.graph.output_size,
        "input_shape": list(km.graph.input_shape), "layers": layers, "buffers": buffer_list(buffers, where),
        "params": params, "input_buffer": inbuf, "output_buffer": outbuf, "input_layout": where[inbuf],
        "output_layout": where[outbuf], "part": b.part, "board": b.name, "clock_period_ns": f"{b.clock_period_ns:g}",
        "ip": {"vendor": ki.IP_VENDOR, "library": ki.IP_LIBRARY, "version": ki.IP_VERSION},
        "weights": weights, "ddr": image is not None, "ddr_image": image, "ddr_ports": ddr_ports,
        "ddr_fifo_depth": DDR_FIFO_DEPTH, "ddr_group_fifo_depth": DDR_GROUP_FIFO_DEPTH, "ddr_image_file": IMAGE_FILE,
        "ddr_layout_file": LAYOUT_FILE, "ddr_total_words": int(image.words.size) if image is not None else 0,
        "dataflow": dataflow,
    }
