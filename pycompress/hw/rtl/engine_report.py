"""Yosys figures of the RTL engine v2 (`make synth-report`): the whole engine with its timing estimate, and
the weight memories alone in four forms at the same lanes.

- The whole engine of a model (the plan's lanes): `synth_xilinx -family xc7 -flatten`, every cell
  counted (slice LUTs: LUT1-6, inverters, shift registers and LUT RAM), its block RAM split into
  weight memories (the lanes' weight sources) and the rest (activations, accumulators, outputs),
  and the timing ESTIMATE of the mapped netlist (pycompress/hw/rtl/timing.py): the worst
  register-to-register path of the engine and of each module.
- The weight stores alone (rtl/templates/weight_stores.sv.j2: every lane's weight source, as the
  engine instantiates it) of the same lanes in four forms of the same format: raw (the format's
  bits), offset exponent (the exponent minus the layer's smallest one, no ROM), exponent sharing
  (the model's tables), and Huffman (the entropy-coded container, one record stream a lane).
"""
from __future__ import annotations

import dataclasses
import json
from collections import Counter
from pathlib import Path

import numpy as np

from pycompress.hw.names import ModelName
from .images import RTL_DIR, _env, streamer_params, write_files

STORE_TOP = "pycompress_weight_stores"
STORE_SOURCES = ("fp32_unpack.sv", "fp32_widen.sv", "sync_fifo.sv", "word_fetch.sv", "lane_wsrc.sv", "lane_hsrc.sv")


def offset_tables(t):
    """Exponent-sharing tables with the exponent stored as its offset from the layer's smallest one: the ROM is
    the run emin..emax (a decoder adds emin), the index as wide as the layer's exponent range needs."""
    if getattr(t, "scheme", "") != "expshare":
        return t
    rom = np.asarray(t.exponent_rom).astype(np.int64)
    e = rom[np.asarray(t.index).astype(np.int64)]
    lo, hi = int(rom.min()), int(rom.max())
    bits = max(1, (hi - lo).bit_length())
    return dataclasses.replace(t, index_bits=bits, exponent_rom=np.arange(lo, hi + 1, dtype=np.asarray(t.exponent_rom).dtype),
                               index=(e - lo).astype(np.asarray(t.index).dtype))


def variants(km, km_huffman=None) -> list[tuple[str, object]]:
    """(label, kernel model) of the four weight forms; the raw one from the exponent-sharing tables."""
    from .synth_report import raw_tables

    out = [("raw", dataclasses.replace(km, tables={k: raw_tables(t) for k, t in km.tables.items()})),
           ("offset exponent", dataclasses.replace(km, tables={k: offset_tables(t) for k, t in km.tables.items()})),
           ("exponent sharing", km)]
    if km_huffman is not None:
        out.append(("Huffman", km_huffman))
    return out


def store_files(plan, km, label: str) -> dict[str, str]:
    """The weight-store top of `plan`'s lanes with `km`'s tables, its images and sources: file name -> text."""
    from pycompress.hw.plan import cost_rtl
    from .render import stage_images

    files: dict[str, str] = {}
    lanes = []
    for s in plan.layers:
        if not s.mac:
            continue
        cfg = plan.estimate.configs[s.ident]
        t = km.tables[s.weight]
        files.update(stage_images(s, plan, km))
        wb = cost_rtl.weight_significand_bits(t)
        for lane in range(cfg.pc):
            base = {"prefix": s.ident, "code_file": f"{s.ident}_l{lane:02d}_code.mem", "wb": wb,
                    "depth": s.reduction * cfg.groups}
            if t.scheme == "huffman":
                from .huffman_lanes import lane_streams, lane_tables

                lt = lane_tables(t)
                base.update(huffman=True, exp_bits=t.format.exponent_bits, man_bits=t.format.mantissa_bits, head=lt.head,
                            rest=lt.rest, hl=lt.max_len, nsym=int(lt.sorted_symbols.size),
                            words=int(lane_streams(t, cfg, lt)[lane].size))
            else:
                w = streamer_params(t)
                packed = cost_rtl.packed(s.layer, cfg, t.code_bits)
                base.update(huffman=False, cluster=w.cluster, exp_bits=w.exp_bits, man_bits=w.man_bits,
                            stored_man_bits=w.stored_man_bits, index_bits=w.index_bits, rom_depth=w.rom_depth,
                            code_bits=t.code_bits, packed=int(packed), word_bits=cost_rtl.stream_word_bits(t.code_bits),
                            words=cost_rtl.stream_words(s.layer, cfg, t.code_bits) if packed else 1)
            lanes.append(base)
    files[f"{STORE_TOP}.sv"] = _env().get_template("weight_stores.sv.j2").render(
        top=STORE_TOP, model=ModelName("model"), variant=ModelName(label), lanes=lanes)
    for name in STORE_SOURCES:
        files[name] = (RTL_DIR / name).read_text(encoding="utf-8")
    return files


def store_resources(plan, models: list[tuple[str, object]], work: Path) -> list[tuple[str, object]]:
    """Yosys counts of each form's weight stores: [(label, synth_report.Resources)]."""
    from .synth_report import synthesise

    out = []
    for label, km in models:
        folder = work / f"stores_{label.split()[0].lower()}"
        files = store_files(plan, km, label)
        write_files(files, folder)
        sources = [folder / n for n in (*STORE_SOURCES, f"{STORE_TOP}.sv")]
        out.append((label, synthesise(f"weight stores, {label}", STORE_TOP, folder, sources)))
    return out


def bram_split(netlist: Path, top: str) -> dict[str, int]:
    """BRAM18K of the engine's weight memories (cells inside a lane's weight source, `.u_w.`) and of the rest."""
    cells = json.loads(netlist.read_text())["modules"][top]["cells"]
    split = Counter()
    for name, c in cells.items():
        if c["type"] in ("RAMB18E1", "RAMB36E1"):
            split["weights" if ".u_w." in name else "activations"] += 1 if c["type"] == "RAMB18E1" else 2
    return {"weights": split["weights"], "activations": split["activations"]}


def engine_resources(plan, km, work: Path):
    """The whole engine: (synth_report.Resources, BRAM18K split, timing.TimingReport, timing.Netlist)."""
    from .render import ENGINE_TOP, FILE_LIST, render_engine
    from .synth_report import synthesise
    from .timing import analyse

    write_files(render_engine(plan, km), work)
    sources = [work / n for n in (work / FILE_LIST).read_text().split()]
    r = synthesise("whole engine", ENGINE_TOP, work, sources, netlist=True)
    rep, net = analyse(work / "netlist.json", ENGINE_TOP)
    return r, bram_split(work / "netlist.json", ENGINE_TOP), rep, net


def stores_table(rows: list[tuple[str, object]]) -> str:
    """Markdown: weight BRAM18K of each form and its ratio to raw, and the stores' slice LUTs."""
    raw = next((r.bram18k for label, r in rows if label == "raw"), 0) or 1
    lines = ["| weights (same lanes) | BRAM18K | x raw | slice LUTs (decoders, LUT ROM) |", "|---|---:|---:|---:|"]
    for label, r in rows:
        lines.append(f"| {label} | {r.bram18k} | {r.bram18k / raw:.2f} | {r.slice_luts:,} |")
    return "\n".join(lines)
