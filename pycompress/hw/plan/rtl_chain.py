"""One image through the RTL engine's chain: its latency, and the interval once images overlap (an ESTIMATE).

The engines overlap load, compute and drain (two input banks, two output banks), and
a MAC engine starts a pass as soon as the input rows it reads are loaded, so the
latency of one image is not the sum of the stages. This follows the first image
word by word: the input arrives one word a clock; a MAC engine's pass (ic, ky, kx) of its
first bunch (of every bunch, inner order) starts when the rows of channel ic it reads are in
and the previous pass is done; a bunch leaves one word a clock after its last sum is written; a pool walks
its input (and the far padding) one position a clock, an average pool an adder latency a position and the
adds of an input's windows one a clock (and a window's last after the multiply too). All
vectorised (max-plus recurrences as cumulative maxima). The interval is the busiest
stage: its compute, or the words it must take in or send out at one a clock.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .cost_rtl import DRAIN_DELAY, PIPELINE, RTL, EngineConfig, RtlCosts, compute_cycles
from .model import Layer

LOAD_DELAY = 2  # a word's beat to its channel counted (unpack register, write)
MAXPOOL_DELAY = 2  # rtl/maxpool_unit.sv: the row maxima register, then the output register


@dataclass(frozen=True)
class ChainTiming:
    latency: int  # first input word in .. last output word out, one image, empty pipeline
    interval: int  # cycles between images, stages overlapped
    stage_cycles: tuple[int, ...]  # per stage: what bounds its interval
    stage_done: tuple[int, ...]  # per stage: the clock its last output word of the first image leaves
    spans: tuple[int, ...] = ()  # per MAC stage (0 for a pool): the first image's first term to its last sum written

    @property
    def key(self) -> tuple[int, ...]:
        """Throughput first: stage intervals from the slowest down, then the latency."""
        return (*sorted(self.stage_cycles, reverse=True), self.latency)


def _carry(ready: np.ndarray, start: int, step: int) -> np.ndarray:
    """End times of passes i = 0..: end_i = max(end_{i-1}, ready_i) + step, end_{-1} = start."""
    i = np.arange(ready.size, dtype=np.int64)
    return (i + 1) * step + np.maximum.accumulate(np.maximum(ready - i * step, start))


def _pass_ready(layer: Layer, t_in: np.ndarray) -> np.ndarray:
    """(IC, KH) clocks the passes of input channel ic, kernel row ky may start: the input rows every output pixel
    of the pass reads are loaded (rtl/mac_engine.sv in_ok; a Linear: each input word)."""
    c, h, w = layer.in_shape if layer.op == "conv2d" else (layer.n_in, 1, 1)
    kh = layer.kernel[0] if layer.op == "conv2d" else 1
    ph = layer.padding[0] if layer.op == "conv2d" else 0
    oh = layer.out_shape[1] if layer.op == "conv2d" else 1
    rows = np.clip((oh - 1) * layer.stride + np.arange(kh) - ph, 0, h - 1)  # the last row a kernel row's pass reads
    idx = np.arange(c)[:, None] * h * w + (rows[None, :] + 1) * w - 1
    return t_in[idx].astype(np.int64) + LOAD_DELAY


def _mac(layer: Layer, cfg: EngineConfig, t_in: np.ndarray, spans: list | None = None) -> np.ndarray:
    """Output word times of a MAC engine, in C, H, W order."""
    ready = _pass_ready(layer, t_in)  # (IC, KH)
    kw = layer.kernel[1] if layer.op == "conv2d" else 1
    c = ready.shape[0]
    start = int(t_in[0]) + LOAD_DELAY
    if cfg.inner:  # for ic, for k, for (ky, kx): in the last channel bunch k ends after its own passes
        r = np.repeat(np.broadcast_to(ready[:, None, :], (c, cfg.k, ready.shape[1])).reshape(c * cfg.k, -1), kw, axis=1)
        end = _carry(r.reshape(-1), start, cfg.pass_cycles).reshape(c, cfg.k, -1)
        bunch_end = [int(e) for e in end[-1, :, -1]]
    else:  # bunch 0 pass by pass as its input arrives; later bunches: every channel is in
        end = _carry(np.repeat(ready, kw, axis=1).reshape(-1), start, cfg.pass_cycles)
        bunch_end = [int(end[-1])]
        for _ in range(1, cfg.k):
            bunch_end.append(bunch_end[-1] + layer.reduction * cfg.pass_cycles)
    if spans is not None:  # first pass start .. last sum written
        spans.append(bunch_end[-1] + PIPELINE - max(int(ready[0, 0]), start))
    words = cfg.pc * cfg.bunch * cfg.pixels
    out, free = [], 0
    for e in bunch_end:
        start = max(e + PIPELINE + DRAIN_DELAY, free)
        out.append(start + np.arange(words, dtype=np.int64))
        free = start + words
    return np.concatenate(out)


def pool_walk(layer: Layer) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """rtl/pool_window.sv's walk of one channel, (H + YV) x (W + XV) positions in raster order (the far padding
    walked so that windows close in output order), flattened: per position whether it is an input word, the
    windows it is a tap of, whether it is a window's last tap (closing positions come in output order)."""
    _, h, w = layer.in_shape
    k, s, p = layer.kernel[0], layer.stride, _pool_padding(layer)
    oh, ow = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    ht, wt = max(h, (oh - 1) * s + k - p), max(w, (ow - 1) * s + k - p)

    def axis(n: int, o: int) -> tuple[np.ndarray, np.ndarray]:
        tap = (np.arange(n) + p)[:, None] - s * np.arange(o)[None, :]  # position x window -> its tap index
        return ((tap >= 0) & (tap < k)).sum(1), (tap == k - 1).any(1)

    nv, cv = axis(ht, oh)
    nh, ch = axis(wt, ow)
    real = (np.arange(ht)[:, None] < h) & (np.arange(wt)[None, :] < w)
    return real.reshape(-1), (nv[:, None] * nh[None, :]).reshape(-1), (cv[:, None] & ch[None, :]).reshape(-1)


def _pool_padding(layer: Layer) -> int:
    pad = layer.padding
    return int(pad[0] if isinstance(pad, tuple) else pad)


def _pool_gaps(layer: Layer, c: RtlCosts) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per walked position of one channel: clocks from its start to the next position's start, the delay from its
    start to its output word (closing positions), whether it takes an input word, whether it closes a window.
    maxpool_unit: a clock each, the output two after (row maxima, window register). avgpool_unit: an input's adds
    one a clock, the next input an add latency + 1 after the last; a closing input's sum is multiplied
    (`avgpool_cycles_per_window`) and its output word taken before the next; a walked closing position multiplies
    the sum it holds (read into a register first)."""
    real, adds, close = pool_walk(layer)
    if layer.op == "maxpool2d":
        return np.ones(real.size, np.int64), np.full(real.size, MAXPOOL_DELAY, np.int64), real, close
    a, m = c.avgpool_cycles_per_input, c.avgpool_cycles_per_window
    work = real & (adds > 0)
    gap = np.where(work, adds - 1 + a, 1)
    gap = np.where(work & close, np.maximum(gap, a + m), np.where(~real & close, m + 2, gap))
    delay = np.where(real, a + m - 1, m + 1)
    return gap.astype(np.int64), delay.astype(np.int64), real, close


def _gap_gaps(layer: Layer, c: RtlCosts) -> np.ndarray:
    """rtl/gap_unit.sv: an add's latency an input, and the multiply by 1/N after a channel's last."""
    n = math.prod(layer.in_shape[1:])
    gap = np.full(n, c.avgpool_cycles_per_input, np.int64)
    gap[-1] += c.avgpool_cycles_per_window
    return np.tile(gap, layer.in_shape[0])


def avgpool_cycles(layer: Layer, c: RtlCosts = RTL) -> int:
    return pool_cycles(layer, c)


def pool_cycles(layer: Layer, c: RtlCosts = RTL) -> int:
    """One image through a pooling unit at full input rate: its walk, positions past the input included."""
    if layer.op == "globalavgpool":
        return int(_gap_gaps(layer, c).sum())
    return int(_pool_gaps(layer, c)[0].sum()) * layer.in_shape[0]


def pool_times(layer: Layer, t_in: np.ndarray, c: RtlCosts = RTL) -> tuple[np.ndarray, np.ndarray]:
    """(output word times, input word times taken): start_i = max(arrived_i, start_{i-1} + gap_{i-1}) over the
    walked positions (one past the input arrives at once); an output word leaves `delay` after its closing
    position starts, one a clock, in order."""
    gap, delay, real, close = (np.tile(v, layer.in_shape[0]) for v in _pool_gaps(layer, c))
    arrive = np.full(real.size, int(t_in[0]), np.int64)
    arrive[real] = t_in.astype(np.int64)
    g = np.concatenate([[0], np.cumsum(gap)[:-1]])
    start = g + np.maximum.accumulate(arrive - g)
    return _in_order((start + delay)[close]), start[real]


def _pool(layer: Layer, t_in: np.ndarray, c: RtlCosts) -> np.ndarray:
    return pool_times(layer, t_in, c)[0]


ADD_DELAY = 8  # rtl/add_unit.sv: fp32_add LATENCY and the output FIFO
ACT_DELAY = {"relu": 2, "hardtanh": 2, "leaky_relu": 8}  # rtl/act_unit.sv: a register, or fp32_mul; and the FIFO


def _in_order(out: np.ndarray) -> np.ndarray:
    """At most one word a clock, in order."""
    return np.maximum.accumulate(np.maximum(out, out[0] + np.arange(out.size)))


def _gap(layer: Layer, t_in: np.ndarray, c: RtlCosts) -> np.ndarray:
    gaps = _gap_gaps(layer, c)
    g = np.concatenate([[0], np.cumsum(gaps)[:-1]])
    t = g + np.maximum.accumulate(t_in.astype(np.int64) - g)  # accepted_i = max(arrived_i, accepted_{i-1} + gap)
    last = t.reshape(layer.in_shape[0], -1)[:, -1]
    return _in_order(last + c.avgpool_cycles_per_window + c.avgpool_cycles_per_input - 1)


def chain_timing(layers: Sequence[Layer], configs: Sequence[EngineConfig | None], c: RtlCosts = RTL) -> ChainTiming:
    """The stages in stream order, each reading its link(s) (`src`, `src2`; "in" is the image) and writing `dst`
    (a fork `dst2` too); stalls a busy reader would cause upstream are not modelled (an ESTIMATE)."""
    times = {"in": np.arange(layers[0].n_in, dtype=np.int64)}  # the image arrives one word a clock
    if not any(l.src for l in layers):  # a plain chain built without links: each stage reads the one before
        from dataclasses import replace

        layers = [replace(l, src="in" if i == 0 else f"k{i - 1}", dst=f"k{i}") for i, l in enumerate(layers)]
    done, cycles, spans = [], [], []
    for layer, cfg in zip(layers, configs):
        t = times[layer.src]
        if layer.mac:
            t = _mac(layer, cfg, t, spans)
            cycles.append(max(compute_cycles(layer, cfg), layer.n_in, layer.n_out))
        else:
            spans.append(0)
            if layer.op in ("maxpool2d", "avgpool2d"):
                t = _pool(layer, t, c)
            elif layer.op == "globalavgpool":
                t = _gap(layer, t, c)
            elif layer.op == "add":
                t = _in_order(np.maximum(t, times[layer.src2]) + ADD_DELAY)
            elif layer.op == "activation":
                t = _in_order(t + ACT_DELAY[layer.params[0]])
            else:  # fork, fifo: a register
                t = _in_order(t + 1)
            cycles.append(pool_cycles(layer, c) if layer.op in ("maxpool2d", "avgpool2d", "globalavgpool")
                          else layer.n_in)
        times[layer.dst] = t
        if layer.dst2:
            times[layer.dst2] = t
        done.append(int(t[-1]))
    return ChainTiming(int(t[-1]) + 1, max(cycles), tuple(cycles), tuple(done), tuple(spans))


def progressive_flags(layers: Sequence[Layer]) -> list[bool]:
    """Output-ordered (True) or input-ordered MAC layers, alternating from the first: a layer whose input arrives
    channel by channel computes while it arrives (input-ordered, its outputs all finish at the end), and the next
    one, which then gets its whole input at once, sends its outputs bunch by bunch (output-ordered) for the next."""
    flags, progressive = [], True
    for layer in layers:
        if layer.mac:
            flags.append(progressive)
            progressive = not progressive
        else:
            flags.append(False)
    return flags
