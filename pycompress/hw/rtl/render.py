"""Render the RTL engine of an accelerator plan (pycompress.hw.plan.plan_rtl): network top, lane images, sources.

Every hardware text comes from rtl/templates/ (the top) or rtl/*.sv (copied
beside it, so the folder is self-contained for Verilator and Yosys run inside it);
Python passes plain values. Deterministic: the same model and lanes give the same bytes.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from pycompress.core.errors import PycompressError
from pycompress.hw.names import Code, ModelName
from pycompress.hw.plan import AcceleratorPlan, LayerPlan, kernel_model, plan_rtl
from pycompress.hw.plan import cost_rtl
from .images import RTL_DIR, _env, streamer_params
from .lanes import lane_images

ENGINE_TOP = "pycompress_engine"
FILE_LIST = f"{ENGINE_TOP}.f"
# hand-written sources in compile order: the MAC engine's, then each pooling unit's
MAC_SOURCES = ("fp32_unpack.sv", "fp32_mul_core.sv", "fp32_add.sv", "fp32_widen.sv", "sync_fifo.sv", "word_fetch.sv",
               "lane_wsrc.sv", "lane_hsrc.sv", "mac_ctl.sv", "mac_lane.sv", "engine_loader.sv", "engine_drain.sv",
               "mac_engine.sv")
POOL_SOURCES = {"maxpool": ("pool_window.sv", "maxpool_unit.sv"),
                "avgpool": ("fp32_unpack.sv", "fp32_mul_core.sv", "fp32_mul.sv", "fp32_add.sv", "pool_window.sv",
                            "avgpool_unit.sv"),
                "gap": ("fp32_unpack.sv", "fp32_mul_core.sv", "fp32_mul.sv", "fp32_add.sv", "gap_unit.sv"),
                "add": ("fp32_add.sv", "sync_fifo.sv", "add_unit.sv"), "fork": ("stream_fork.sv",),
                "fifo": ("sync_fifo.sv",),
                "act": ("fp32_unpack.sv", "fp32_mul_core.sv", "fp32_mul.sv", "sync_fifo.sv", "act_unit.sv")}
ACT_FUNCTIONS = {"hardtanh": 0, "leaky_relu": 1, "relu": 2}  # rtl/act_unit.sv FUNCTION


def engine_sources(plan: AcceleratorPlan) -> list[Path]:
    """The rtl/*.sv files the plan's top needs, in compile order, each once."""
    names: list[str] = []
    for s in plan.layers:
        extra = MAC_SOURCES if s.mac else POOL_SOURCES[s.kind]
        names += [n for n in extra if n not in names]
    missing = [n for n in names if not (RTL_DIR / n).is_file()]
    if missing:
        raise PycompressError(f"RTL engine: rtl/{missing[0]} is not there")
    return [RTL_DIR / n for n in names]


def _bits(value: float) -> str:
    return f"{int(np.float32(value).view(np.uint32)):08x}"


def link_indices(plan: AcceleratorPlan) -> dict[str, int]:
    """Each stream link of the plan (its stages' `dst`, `dst2`; "in" the image) -> its index in the top."""
    links = {"in": 0}
    for s in plan.layers:
        for name in (s.layer.dst, s.layer.dst2):
            if name and name not in links:
                links[name] = len(links)
    return links


def _stage_view(s: LayerPlan, plan: AcceleratorPlan, km, links: dict[str, int]) -> dict:
    """Plain values of one stage for the template."""
    l = s.layer
    view = {"kind": s.kind, "name": ModelName(s.name), "ident": s.ident, "in_shape": s.in_shape,
            "out_shape": s.out_shape, "lanes": s.lanes, "relu": s.relu, "n_in": s.n_in, "kernel": s.kernel,
            "stride": s.stride, "mac": s.mac, "si": links[l.src], "di": links[l.dst],
            "si2": links[l.src2] if l.src2 else None, "di2": links[l.dst2] if l.dst2 else None, "depth": l.depth}
    if s.kind == "act":
        function, *params = l.params
        view.update(function=ACT_FUNCTIONS[function], p0=_bits(params[0] if params else 0.0),
                    p1=_bits(params[1] if len(params) > 1 else 0.0))
    if s.kind in ("gap", "avgpool"):
        from pycompress.hw.fpref import reciprocal

        view["recip"] = _bits(reciprocal(s.n_in // s.in_shape[0] if s.kind == "gap" else s.kernel[0] * s.kernel[1]))
    if s.kind in ("maxpool", "avgpool"):
        view["pool_padding"] = l.padding[0]
    if s.mac:
        view["mac_params"] = mac_parameters(s, plan.estimate.configs[s.ident], km.tables[s.weight])
    return view


def _weight_parameters(s: LayerPlan, cfg: cost_rtl.EngineConfig, t) -> list[tuple[str, object]]:
    """The lanes' weight source: lane_wsrc (fixed-width codes) or lane_hsrc (entropy-coded records)."""
    if t.scheme == "huffman":
        from .huffman_lanes import lane_streams, lane_tables

        lt = lane_tables(t)
        words = [int(w.size) for w in lane_streams(t, cfg, lt)]
        lane_words = Code("2048'({" + ", ".join(f"32'd{w}" for w in reversed(words)) + "})")
        return [("EXP_BITS", t.format.exponent_bits), ("MAN_BITS", t.format.mantissa_bits), ("HUFFMAN", 1),
                ("HEAD", lt.head), ("REST", lt.rest), ("HL", lt.max_len), ("NSYM", int(lt.sorted_symbols.size)),
                ("LANE_WORDS", lane_words)]
    w = streamer_params(t)
    bits = t.code_bits
    packed = cost_rtl.packed(s.layer, cfg, bits)
    words = cost_rtl.stream_words(s.layer, cfg, bits) if packed else 1
    return [("CLUSTER", w.cluster), ("EXP_BITS", w.exp_bits), ("MAN_BITS", w.man_bits),
            ("STORED_MAN_BITS", w.stored_man_bits), ("INDEX_BITS", w.index_bits), ("ROM_DEPTH", w.rom_depth),
            ("CODE_BITS", bits), ("PACKED", int(packed)), ("WORD_BITS", cost_rtl.stream_word_bits(bits)),
            ("WORDS", words)]


def mac_parameters(s: LayerPlan, cfg: cost_rtl.EngineConfig, t) -> list[tuple[str, object]]:
    """mac_engine parameter overrides (rtl/mac_engine.sv): geometry, lanes, fused ReLU, weight format and stream."""
    if s.op == "conv2d":
        (c, h, wd), (kh, kw) = s.in_shape, s.kernel
        geometry = [("IC", c), ("IH", h), ("IW", wd), ("OC", s.out_shape[0]), ("KH", kh), ("KW", kw),
                    ("STRIDE", s.stride), ("PH", s.padding[0]), ("PW", s.padding[1])]
    else:
        geometry = [("IC", s.n_in), ("IH", 1), ("IW", 1), ("OC", s.outputs), ("KH", 1), ("KW", 1)]
    acc, obuf = cost_rtl.lane_memories(cfg)
    return [*geometry, ("RELU", int(s.relu)), ("PC", cfg.pc), ("PX", cfg.px), ("K", cfg.k), ("INNER", int(cfg.inner)),
            ("SUBNORMALS", Code("SUBNORMALS")), ("WB", cost_rtl.weight_significand_bits(t)),
            *_weight_parameters(s, cfg, t),
            ("ACC_BLOCK", int(32 * acc > cost_rtl.LANE_MEM_BLOCK_BITS)),
            ("OBUF_BLOCK", int(32 * obuf > cost_rtl.LANE_MEM_BLOCK_BITS)),
            ("IMAGE_PREFIX", Code(f'"{s.ident}"'))]


def stage_images(s: LayerPlan, plan: AcceleratorPlan, km) -> dict[str, str]:
    """A MAC stage's lane images: codes, biases, ROM (pycompress.hw.rtl.lanes)."""
    t = km.tables[s.weight]
    cfg = plan.estimate.configs[s.ident]
    bias = np.asarray(km.params[s.bias], np.float32).view(np.uint32) if s.bias else None
    if t.scheme == "huffman":
        from .huffman_lanes import huffman_lane_images

        return huffman_lane_images(t, cfg, bias, s.ident)
    return lane_images(t, cfg, cost_rtl.packed(s.layer, cfg, t.code_bits), bias, s.ident)


def render_engine(plan: AcceleratorPlan, km, model_label: str = "model") -> dict[str, str]:
    """Every file of the engine: file name -> text (top, lane images, copied sources, file list)."""
    files: dict[str, str] = {}
    sources = engine_sources(plan)
    links = link_indices(plan)
    views = [_stage_view(s, plan, km, links) for s in plan.layers]
    for s in plan.layers:
        if s.mac:
            files.update(stage_images(s, plan, km))
    files[f"{ENGINE_TOP}.sv"] = _env().get_template("network_top.sv.j2").render(
        top=ENGINE_TOP, model=ModelName(model_label), stages=views, n_in=plan.layers[0].n_in, n_out=plan.layers[-1].n_out,
        n_links=len(links), out_link=links[plan.layers[-1].layer.dst])
    for p in sources:
        files[p.name] = p.read_text(encoding="utf-8")
    files[FILE_LIST] = "\n".join([*(p.name for p in sources), f"{ENGINE_TOP}.sv"]) + "\n"
    return files


def plan_table(plan: AcceleratorPlan) -> str:
    """The plan as a Markdown table (estimates; the simulation and Yosys measure)."""
    rows = ["| stage | engine | lanes (channel x pixel, bunches) | in -> out | est. cycles per image |",
            "|---|---|---|---|---:|"]
    configs = plan.estimate.configs
    for s in plan.layers:
        cfg = configs.get(s.ident)
        lanes = f"{cfg.lanes} ({cfg.pc} x {cfg.px}, K={cfg.k}{' inner' if cfg.inner else ''})" if cfg else "-"
        rows.append(f"| {s.name} | {s.kind}{' + relu' if s.relu else ''} | {lanes} | "
                    f"{'x'.join(map(str, s.in_shape))} -> {'x'.join(map(str, s.out_shape))} | {s.cycles:,} |")
    r = plan.resources()
    t = plan.estimate.timing
    rows.append(f"\nestimate: {t.latency:,} cycles per image (latency), {t.interval:,} between images; "
                f"{r.lut:,} LUT, {r.ff:,} FF, {r.dsp} DSP48E1, {r.bram18k} BRAM18K of the {plan.board.name}'s "
                f"{plan.board.lut:,} / {plan.board.ff:,} / {plan.board.dsp48e1} / {plan.board.bram18k}")
    rows.extend(f"note: {n}" for n in plan.notes)
    return "\n".join(rows)


ENGINE_MANIFEST = "engine.json"  # what `pycompress rtlsim` reads: the model, board and lanes the engine was planned with
ENGINE_MODEL = "model.pcz"


def over_budget(plan: AcceleratorPlan) -> list[str]:
    """The board resources the engine's estimate exceeds, as 'BRAM18K 385 > 280' (empty when it fits)."""
    r, b = plan.resources(), plan.board
    return [f"{what} {need:,} > {have:,}" for what, need, have in (("BRAM18K", r.bram18k, b.bram18k),
            ("DSP48E1", r.dsp, b.dsp48e1), ("LUT", r.lut, b.lut), ("FF", r.ff, b.ff)) if need > have]


def engine_files(cm, parallel: dict[str, int], board: str, mode: str = "auto", label: str = "model",
                 allow_over_budget: bool = False, model_bytes: bytes | None = None) -> tuple[dict[str, str], str, str]:
    """`pycompress rtl`'s engine part: (files, why not, plan table). mode "no": none; "auto": none, with the reason,
    when the model has no supported graph; "yes": that reason is an error (one line). An engine whose estimate
    exceeds the board is an error (one line) unless `allow_over_budget`. With `model_bytes` (the .pcz), the folder
    also gets the model and engine.json, so that `pycompress rtlsim` can rebuild the reference and check the top."""
    import json

    if mode == "no":
        if parallel:
            raise PycompressError("--parallel needs the engine (drop --engine no)")
        return {}, "--engine no", ""
    try:
        km = kernel_model(cm)
        plan = plan_rtl(km, parallel, board=board)
    except PycompressError as exc:
        if mode == "yes" or parallel:
            raise
        return {}, str(exc), ""
    over = over_budget(plan)
    if over and not allow_over_budget:
        raise PycompressError(f"the RTL engine does not fit {plan.board.name} (estimate: {', '.join(over)}); pass "
                              "--board for a larger board, --parallel for fewer lanes, or --allow-over-budget to write it anyway")
    files = render_engine(plan, km, label)
    if model_bytes is not None:
        files[ENGINE_MODEL] = model_bytes
        files[ENGINE_MANIFEST] = json.dumps({"model": ENGINE_MODEL, "label": label, "board": board,
                                             "lanes": plan.lanes, "top": ENGINE_TOP}, indent=2, sort_keys=True) + "\n"
    return files, "", plan_table(plan)
