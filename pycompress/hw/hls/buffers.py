"""Activation buffers of the kernel: which layer writes which buffer, and how each buffer is banked.

A buffer is float buf[banks][depth] (`hls_templates/layout.j2`). A conv/linear layer with P channel
lanes and Q pixel lanes writes P x Q banks, lane (p, q) bank p*Q + q, so every store of a lane goes to
a constant bank; channel c = cp*G + cg sits in banks cp*Q.., pixel (y, x) in bank cp*Q + x % Q at
address cg*(H*W/Q) + y*(W/Q) + x/Q. Pools, global pools and the input keep one bank; a ReLU or an add
keeps the layout of its (first) input. A bank of more than 4 Kb is block RAM, else LUTRAM.
"""
from __future__ import annotations

import math

from pycompress.hw.lanewords import LUTRAM_MAX_BITS

MAC_OPS = ("conv2d", "linear")
FLOAT_BITS = 32


def layout(pc: int, g: int, h: int, w: int, pq: int) -> dict:
    if w % pq:
        raise ValueError(f"{pq} pixel lanes do not divide a row of {w}")
    banks, pb = pc * pq, h * w // pq
    return {"pc": pc, "g": g, "h": h, "w": w, "pq": pq, "lq": pq.bit_length() - 1, "mq": pq - 1, "wq": w // pq,
            "pb": pb, "banks": banks, "depth": g * pb, "big": FLOAT_BITS * g * pb > LUTRAM_MAX_BITS}


def chw(shape) -> tuple[int, int, int]:
    s = tuple(shape)
    return (s[0], s[1], s[2]) if len(s) == 3 else (math.prod(s), 1, 1)


def output_layout(l: dict, lanes: tuple[int, int], inl: dict) -> dict:
    """The layout of the buffer layer `l` writes, given its lanes (MAC layers) and its input's layout."""
    if l["op"] == "conv2d":
        pc, pq = lanes
        return layout(pc, l["oc"] // pc, l["oh"], l["ow"], pq)
    if l["op"] == "linear":
        pc, _ = lanes
        return layout(pc, l["out_size"] // pc, 1, 1, 1)
    if l["op"] in ("relu", "add", "flatten"):
        return inl
    c, h, w = chw(l["out_shape"])
    return layout(1, c, h, w, 1)


def assign_layouts(layers: list[dict], input_shape, lanes: dict) -> dict[str, dict]:
    """Set l["inl"], l["outl"] (and l["inl2"] for add) on every layer; buffer name -> layout.
    `lanes`: layer fn -> (channel lanes, pixel lanes) of the MAC layers (default (1, 1))."""
    c, h, w = chw(input_shape)
    where = {"a0": layout(1, c, h, w, 1)}
    for l in layers:
        inl = where[l["src"]]
        if l["op"] in MAC_OPS:
            own = lanes.get(l["fn"], (1, 1))
            l["lanes"], l["pq"] = own
        outl = output_layout(l, lanes.get(l["fn"], (1, 1)), inl)
        l["inl"], l["outl"] = inl, outl
        if l["op"] == "add":
            l["inl2"] = where[l["src2"]]
        where[l["dst"]] = outl
    return where


def buffer_list(buffers: list[dict], where: dict[str, dict]) -> list[dict]:
    """Template values of the buffers: name, banks, depth, block RAM or LUTRAM."""
    return [{"name": b["name"], "size": b["size"], "banks": where[b["name"]]["banks"],
             "depth": where[b["name"]]["depth"], "big": where[b["name"]]["big"]} for b in buffers]


def buffer_bram18k(lay: dict) -> int:
    from .resources import bram18k

    return lay["banks"] * bram18k(FLOAT_BITS, lay["depth"]) if lay["big"] else 0


def buffer_luts(lay: dict) -> int:
    return 0 if lay["big"] else lay["banks"] * FLOAT_BITS * math.ceil(lay["depth"] / 64)
