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
from .images import (BLOCK_MIN_BITS, CONV_SOURCES, FC_SOURCES, RTL_DIR, RTL_SOURCES, _env, conv_lane_images,
    fc_lane_images, streamer_params)

ENGINE_TOP = "pycompress_engine"
FILE_LIST = f"{ENGINE_TOP}.f"
# hand-written sources in compile order: rtl_images' lists (the engines' own, kept by whoever changes them),
# plus the pooling units
POOL_SOURCES = {"maxpool": ("pool_window.sv", "maxpool_unit.sv"),
                "avgpool": ("fp32_mul.sv", "fp32_add.sv", "pool_window.sv", "avgpool_unit.sv")}


def engine_sources(plan: AcceleratorPlan) -> list[Path]:
    """The rtl/*.sv files the plan's top needs, in compile order, each once."""
    names = list(RTL_SOURCES)
    for s in plan.layers:
        extra = {"fc": FC_SOURCES, "conv": CONV_SOURCES}.get(s.kind) or POOL_SOURCES[s.kind]
        names += [n for n in extra if n not in names]
    missing = [n for n in names if not (RTL_DIR / n).is_file()]
    if missing:
        raise PycompressError(f"RTL engine: rtl/{missing[0]} is not there")
    return [RTL_DIR / n for n in names]


def _stage_view(s: LayerPlan, km) -> dict:
    """Plain values of one stage for the template."""
    view = {"kind": s.kind, "name": ModelName(s.name), "ident": s.ident, "in_shape": s.in_shape,
            "out_shape": s.out_shape, "lanes": s.lanes, "relu": s.relu, "n_in": s.n_in, "kernel": s.kernel,
            "stride": s.stride, "groups": s.groups}
    if s.mac:
        w = streamer_params(km.tables[s.weight])
        depth = dict(s.memories)["weights"].bank_depth  # weights a lane table holds (conv: R x G, fc: inputs x G)
        block = lambda bits: int(depth * bits >= BLOCK_MIN_BITS)  # noqa: E731
        view.update(w=w, depth=depth, sign_block=block(1), index_block=block(w.index_bits),
                    mantissa_block=block(w.stored_man_bits))
    if s.kind == "conv":
        view["conv_params"] = conv_parameters(s, view)
    return view


def conv_parameters(s: LayerPlan, view: dict) -> list[tuple[str, object]]:
    """conv_engine parameter overrides (rtl/conv_engine.sv: geometry, lanes, fused ReLU, weight format)."""
    w = view["w"]
    c, h, wd = s.in_shape
    return [("P", s.lanes), ("IC", c), ("IH", h), ("IW", wd), ("OC", s.out_shape[0]), ("KH", s.kernel[0]),
            ("KW", s.kernel[1]), ("STRIDE", s.stride), ("PH", s.padding[0]), ("PW", s.padding[1]),
            ("RELU", int(s.relu)), ("SUBNORMALS", Code("SUBNORMALS")), ("CLUSTER", w.cluster), ("EXP_BITS", w.exp_bits),
            ("MAN_BITS", w.man_bits), ("STORED_MAN_BITS", w.stored_man_bits), ("INDEX_BITS", w.index_bits),
            ("ROM_DEPTH", w.rom_depth), ("SIGN_BLOCK", view["sign_block"]), ("INDEX_BLOCK", view["index_block"]),
            ("MANTISSA_BLOCK", view["mantissa_block"]), ("IMAGES", 1), ("IMAGE_PREFIX", Code(f'"{s.ident}"'))]


def stage_images(s: LayerPlan, km) -> dict[str, str]:
    """A MAC stage's lane tables (lane-split loop order) and biases, named `<stage ident>_lNN_<field>.mem`."""
    t = km.tables[s.weight]
    bias = np.asarray(km.params[s.bias], np.float32).view(np.uint32) if s.bias else None
    if s.kind == "fc":
        files, _ = fc_lane_images(t, s.lanes, bias, s.ident)
        return files
    files, _ = conv_lane_images(t, s.lanes, bias, s.ident)
    return files


def render_engine(plan: AcceleratorPlan, km, model_label: str = "model") -> dict[str, str]:
    """Every file of the engine: file name -> text (top, lane images, copied sources, file list)."""
    files: dict[str, str] = {}
    sources = engine_sources(plan)
    views = [_stage_view(s, km) for s in plan.layers]
    for s in plan.layers:
        if s.mac:
            files.update(stage_images(s, km))
    files[f"{ENGINE_TOP}.sv"] = _env().get_template("network_top.sv.j2").render(
        top=ENGINE_TOP, model=ModelName(model_label), stages=views, n_in=plan.layers[0].n_in, n_out=plan.layers[-1].n_out)
    for p in sources:
        files[p.name] = p.read_text(encoding="utf-8")
    files[FILE_LIST] = "\n".join([*(p.name for p in sources), f"{ENGINE_TOP}.sv"]) + "\n"
    return files


def plan_table(plan: AcceleratorPlan) -> str:
    """The plan as a Markdown table (estimates; the simulation and Yosys measure)."""
    rows = ["| stage | engine | lanes | in -> out | est. cycles (start..done) |", "|---|---|---:|---|---:|"]
    for s in plan.layers:
        rows.append(f"| {s.name} | {s.kind}{' + relu' if s.relu else ''} | {s.lanes or '-'} | "
                    f"{'x'.join(map(str, s.in_shape))} -> {'x'.join(map(str, s.out_shape))} | {s.cycles:,} |")
    r = plan.resources()
    rows.append(f"\nestimate: {plan.latency():,} cycles per image (latency), {plan.interval():,} between images; "
                f"{r.lut:,} LUT, {r.ff:,} FF, {r.dsp} DSP48E1, {r.bram18k} BRAM18K of the {plan.board.name}'s "
                f"{plan.board.lut:,} / {plan.board.ff:,} / {plan.board.dsp48e1} / {plan.board.bram18k}")
    rows.extend(f"note: {n}" for n in plan.notes)
    return "\n".join(rows)


def engine_files(cm, parallel: dict[str, int], board: str, mode: str = "auto",
                 label: str = "model") -> tuple[dict[str, str], str, str]:
    """`pycompress rtl`'s engine part: (files, why not, plan table). mode "no": none; "auto": none, with the reason,
    when the model has no supported graph; "yes": that reason is an error (one line)."""
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
    return render_engine(plan, km, label), "", plan_table(plan)
