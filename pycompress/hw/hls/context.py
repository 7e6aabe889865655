"""Plain values for the HLS templates (kernel v3), read from the accelerator plan (pycompress.hw.plan).

The plan gives the layers, their lanes (channel x pixel lanes, adders on DSP or LUTs), loop
schedules (the II and depth of every pragma, which the rule checker confirms on the generated C++)
and the banking of every buffer (plan.banks); the tables come from `tables.py` (one memory word per
group of P codes, packed by `pycompress.hw.lanewords`). This module only arranges them.
"""
from __future__ import annotations

from pycompress.core.errors import PycompressError
from pycompress.core.graph import Graph
from pycompress.hw import kernel_interface as ki
from pycompress.hw.huffman_layout import HuffmanTables  # issue 15: entropy-coded weights
from pycompress.hw.names import ModelName, unique_identifiers
from pycompress.hw.plan import KernelModel, Layer, plan_hls
from pycompress.hw.plan.model import Lanes
from pycompress.hw.plan.banks import assign
from .ddr import DDR_FIFO_DEPTH, DDR_GROUP_FIFO_DEPTH, IMAGE_FILE, LAYOUT_FILE, WEIGHTS_BUNDLE, WEIGHTS_PORT
from .reference import reciprocal
from pycompress.hw.plan.kernel_model import bias_kernel
from .tables import place_in_ddr, table_values

WEIGHT_PLACES = ("bram", "ddr")  # weight tables in on-chip ROM, or in DDR behind one AXI master per weight


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


def _layer_values(l: Layer, idents: dict[str, str]) -> dict:
    """One layer's template dict: names, sizes, buffers, geometry; weights by identifier."""
    d = {"name": ModelName(l.name), "layer": l.name, "op": l.op, "fn": l.fn, "in_size": l.n_in, "out_size": l.n_out,
         "src": l.src, "dst": l.dst, "fused": l.fused, "relu": l.relu, "in_place": l.in_place, "ddr": False}
    if l.op == "add":
        d["src2"] = l.src2
    if l.op in ("conv2d", "maxpool2d", "avgpool2d", "globalavgpool", "add"):
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


def template_values(km: KernelModel, baseline: bool = False, board: str = "zedboard", kernel: str | None = None,
                    parallel: dict | None = None, weights: str = "bram", dataflow: bool = False,
                    lanes: dict | None = None) -> dict:
    """Everything the templates render from: numbers, sanitised identifiers, and names as `ModelName`.

    `kernel`: compressed (default), raw or offset (same-format baselines) or float (float32 tables;
    `baseline=True`); `parallel` fixes lanes for model layer names (`lanes`: every layer's, by function, as
    the plan gives them); `weights`: bram (tables in on-chip ROM) or ddr (each weight read from DDR through its
    own AXI master; `ddr_image` holds the image the host places there); `dataflow`: layers as concurrent
    processes joined by ping-pong buffers (chains only).
    """
    if weights not in WEIGHT_PLACES:
        raise PycompressError(f"unknown weight placement {weights!r} (choose from {', '.join(WEIGHT_PLACES)})")
    kernel = kernel or ("float" if baseline else "compressed")
    plan = plan_hls(km, kernel, board, parallel, dataflow, lanes=lanes, ddr=weights == "ddr")
    idents = _identifiers(km)
    chosen = {lp.ident: Lanes(lp.lanes, lp.pixel_lanes, lp.fabric_adders) for lp in plan.layers if lp.mac}
    where, per = assign([lp.layer for lp in plan.layers], plan.input_shape, chosen)
    layers, params, ports = [], [], {}
    for lp in plan.layers:
        l = _layer_values(lp.layer, idents)
        inl, outl, inl2 = per[lp.ident]
        l.update(inl=inl, outl=outl, ii=lp.schedule.ii, depth=lp.schedule.depth, distance=lp.schedule.distance)
        if inl2 is not None:
            l["inl2"] = inl2
        layers.append(l)
        if lp.op == "avgpool2d":
            l["recip"] = reciprocal(l["k"] * l["k"])
        elif lp.op == "globalavgpool":
            l["recip"] = reciprocal(l["ih"] * l["iw"])
        if not lp.mac:
            continue
        p = lp.lanes
        l.update(lanes=p, pq=lp.pixel_lanes, fadd_fabric=lp.fabric_adders, groups=lp.outputs // p,
                 reduction=lp.reduction, owq=l.get("ow", 1) // lp.pixel_lanes)
        if weights == "ddr":
            ports[l["weight"]] = l["ddr_port"] = f"{WEIGHTS_PORT}_{l['weight']}"
            l["ddr"] = True
        if kernel == "compressed" and isinstance(km.tables.get(lp.weight), HuffmanTables):
            from .huffman import kernel_stream
            params.append(kernel_stream(lp.layer, lp.weight, l["weight"], km.params[lp.weight], km.tables[lp.weight], p))
        else:
            params.append(table_values(lp.weight, l["weight"], "weight", km, kernel, lp.outputs, lp.reduction, p))
        if lp.bias:
            params.append(table_values(lp.bias, l["bias"], "bias", km, bias_kernel(km, lp.bias, kernel), lp.outputs, 1, p))
    image = place_in_ddr(params, ports) if weights == "ddr" else None
    segments = {s.ident: s for s in image.segments} if image is not None else {}
    ddr_ports = [{"port": ports[i], "bundle": f"{WEIGHTS_BUNDLE}{n}", "words": segments[i].words,
                  "offset": segments[i].offset, "ident": i} for n, i in enumerate(ports)]
    top = plan.estimate.top
    kind = {"compressed": f"compressed weights ({km.format} storage)",
            "raw": "same-format baseline (raw weight bits, same tables)",
            "offset": "offset-exponent baseline (exponent minus the layer's smallest, same tables)",
            "float": "float32 baseline (raw float32 weight bits, same tables)"}[kernel]
    b = plan.board
    buffers = [{"name": x.name, "size": x.size, "banks": where[x.name]["banks"], "depth": where[x.name]["depth"],
                "big": where[x.name]["big"]} for x in plan.buffers]
    return {
        "top": top, "baseline": kernel != "compressed", "kernel": kernel,
        "lanes": {l["layer"]: l["lanes"] for l in layers if "lanes" in l},
        "pixel_lanes": {l["layer"]: l["pq"] for l in layers if "pq" in l},
        "fabric_adders": {l["layer"]: l["fadd_fabric"] for l in layers if "pq" in l},
        "hls_project": f"prj_{top}", "solution": "solution1", "description": f"{top}: {kind}",
        "ports": {"input": ki.INPUT_PORT, "output": ki.OUTPUT_PORT, "control": ki.CONTROL_BUNDLE},
        "axis_bits": ki.AXIS_DATA_BITS, "input_size": km.graph.input_size, "output_size": km.graph.output_size,
        "input_shape": list(km.graph.input_shape), "layers": layers, "buffers": buffers,
        "params": params, "input_buffer": plan.input_buffer, "output_buffer": plan.output_buffer,
        "input_layout": where[plan.input_buffer], "output_layout": where[plan.output_buffer],
        "part": b.part, "board": b.name, "clock_period_ns": f"{b.clock_period_ns:g}",
        "ip": {"vendor": ki.IP_VENDOR, "library": ki.IP_LIBRARY, "version": ki.IP_VERSION},
        "weights": weights, "ddr": image is not None, "ddr_image": image, "ddr_ports": ddr_ports,
        "ddr_fifo_depth": DDR_FIFO_DEPTH, "ddr_group_fifo_depth": DDR_GROUP_FIFO_DEPTH, "ddr_image_file": IMAGE_FILE,
        "ddr_layout_file": LAYOUT_FILE, "ddr_total_words": int(image.words.size) if image is not None else 0,
        "dataflow": dataflow, "plan": plan,
    }
