"""How the HLS kernel banks its activation buffers, so that every lane's access selects a constant bank.

A buffer is float buf[banks][depth] (hls_templates/layout.j2). A conv/linear layer with P channel
lanes and Q pixel lanes writes P x Q banks, lane (p, q) bank p*Q + q; channel c = cp*G + cg sits in
banks cp*Q.., pixel (y, x) of it in bank cp*Q + x % Q at address cg*(H*W/Q) + y*(W/Q) + x/Q. Pools,
global pools and the input keep one bank; a ReLU or an add keeps the layout of its (first) input.
A bank of more than 4 Kb is block RAM, else LUTRAM. The cost model reads this (a pool's reads spread
over its input's pixel banks; a MAC's depth depends on whether its buffers are block RAM) and the
HLS writer renders it.
"""
from __future__ import annotations

import math
from typing import Mapping

from pycompress.hw.lanewords import LUTRAM_MAX_BITS
from .memory import bram18k
from .model import Lanes, Layer

FLOAT_BITS = 32


def layout(pc: int, g: int, h: int, w: int, pq: int) -> dict:
    """The banking of a (pc x g channels, h, w) activation written by pc x pq lanes."""
    if w % pq:
        raise ValueError(f"{pq} pixel lanes do not divide a row of {w}")
    banks, pb = pc * pq, h * w // pq
    return {"pc": pc, "g": g, "h": h, "w": w, "pq": pq, "lq": pq.bit_length() - 1, "mq": pq - 1, "wq": w // pq,
            "pb": pb, "banks": banks, "depth": g * pb, "big": FLOAT_BITS * g * pb > LUTRAM_MAX_BITS}


def chw(shape) -> tuple[int, int, int]:
    s = tuple(shape)
    return (s[0], s[1], s[2]) if len(s) == 3 else (math.prod(s), 1, 1)


def output_layout(l: Layer, lanes: Lanes, inl: dict) -> dict:
    """The layout of the buffer layer `l` writes, given its lanes (MAC layers) and its input's layout."""
    if l.op == "conv2d":
        c, h, w = l.out_shape
        return layout(lanes.channels, c // lanes.channels, h, w, lanes.pixels)
    if l.op == "linear":
        return layout(lanes.channels, l.n_out // lanes.channels, 1, 1, 1)
    if l.op in ("relu", "add", "flatten"):
        return inl
    c, h, w = chw(l.out_shape)
    return layout(1, c, h, w, 1)


def assign(layers, input_shape, lanes: Mapping[str, Lanes]) -> tuple[dict[str, dict], dict[str, tuple]]:
    """(buffer name -> layout, layer fn -> (input layout, output layout, second input layout or None))."""
    c, h, w = chw(input_shape)
    where = {"a0": layout(1, c, h, w, 1)}
    per = {}
    for l in layers:
        inl = where[l.src]
        outl = output_layout(l, lanes.get(l.fn, Lanes()), inl)
        per[l.fn] = (inl, outl, where[l.src2] if l.src2 else None)
        where[l.dst] = outl
    return where, per


def buffer_bram18k(lay: dict) -> int:
    return lay["banks"] * bram18k(FLOAT_BITS, lay["depth"]) if lay["big"] else 0


def buffer_luts(lay: dict) -> int:
    return 0 if lay["big"] else lay["banks"] * FLOAT_BITS * math.ceil(lay["depth"] / 64)
