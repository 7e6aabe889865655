"""RTL memory images and parameter include for the weight streamers in rtl/.

Everything here is derived from `hwlayout.layer_tables`, the packer the HLS
headers use, so widths, depths and table contents have one source of truth.
Per layer: `<ident>_sign.mem`, `<ident>_index.mem`, `<ident>_mantissa.mem` and
`<ident>_exp.mem` (exponent sharing) or `<ident>_index.mem` and
`<ident>_codebook.mem` (clustering), one hex word per line for `$readmemh`;
plus `pycompress_layers.svh` (localparams) and `pycompress_weights.sv` (a top
with one `weight_streamer` per layer). All text comes from rtl/templates/.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from bitstring import Bits
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from .container import CompressedModel
from .errors import PycompressError
from .fileio import atomic_directory
from .formats import get_format
from .hwlayout import ClusterTables, ExpShareTables, LayerTables, layer_tables

RTL_DIR = Path(__file__).resolve().parent.parent / "rtl"
TEMPLATE_DIR = RTL_DIR / "templates"
# the hand-written sources, in dependency order
RTL_SOURCES = ("table_rom.sv", "fp32_widen.sv", "skid_buffer.sv", "weight_decoder.sv", "codebook_decoder.sv", "weight_streamer.sv")
TOP = "pycompress_weights"
INCLUDE = "pycompress_layers.svh"
ROM_COMMENT_MAX = 32  # list ROM entries in the include up to this many
BLOCK_MIN_BITS = 4096  # smaller tables go to LUTs: a RAMB18 holds 18,432 bits, most of it would be wasted


def rtl_sources() -> list[Path]:
    return [RTL_DIR / name for name in RTL_SOURCES]


@dataclass(frozen=True)
class StreamerParams:
    """The `weight_streamer` parameters and image names of one layer."""

    name: str
    ident: str
    scheme: str
    format: str
    shape: tuple[int, ...]
    exp_bits: int
    man_bits: int
    stored_man_bits: int
    index_bits: int
    rom_depth: int
    depth: int
    sign_file: str
    index_file: str
    mantissa_file: str
    rom_file: str
    rom_comment: tuple[str, ...]

    @property
    def cluster(self) -> int:
        return int(self.scheme == "cluster")

    @property
    def macro(self) -> str:
        return self.ident.upper()

    @property
    def addr_bits(self) -> int:
        return max(1, (self.depth - 1).bit_length())

    @property
    def weight_bits(self) -> int:
        return 1 + self.exp_bits + self.man_bits

    def block(self, width: int) -> int:
        """1 if a table of this width should be block RAM, 0 for LUTs."""
        return int(self.depth * width >= BLOCK_MIN_BITS)

    @property
    def sign_block(self) -> int:
        return self.block(1)

    @property
    def index_block(self) -> int:
        return self.block(self.index_bits)

    @property
    def mantissa_block(self) -> int:
        return self.block(self.stored_man_bits)

    def verilog_parameters(self) -> dict[str, object]:
        """Parameter overrides of `weight_streamer` (for a simulator build or Yosys chparam)."""
        return {"CLUSTER": self.cluster, "EXP_BITS": self.exp_bits, "MAN_BITS": self.man_bits,
                "STORED_MAN_BITS": self.stored_man_bits, "INDEX_BITS": self.index_bits, "ROM_DEPTH": self.rom_depth,
                "DEPTH": self.depth, "ADDR_BITS": self.addr_bits, "SIGN_BLOCK": self.sign_block,
                "INDEX_BLOCK": self.index_block, "MANTISSA_BLOCK": self.mantissa_block}


def _rom_comment(t: LayerTables) -> tuple[str, ...]:
    """Readable ROM listing (bit fields) for the include; small tables only."""
    if isinstance(t, ExpShareTables):
        rom, width = t.exponent_rom, t.format.exponent_bits
        if rom.size > ROM_COMMENT_MAX:
            return (f"exponent ROM: {rom.size} entries, fields {int(rom[0])}..{int(rom[-1])}",)
        return tuple(f"[{i}] exponent 0b{Bits(uint=int(e), length=width).bin} ({_exp_meaning(int(e), t.format)})"
                     for i, e in enumerate(rom))
    book, width = t.codebook_rom, t.format.total_bits
    if book.size > ROM_COMMENT_MAX:
        return (f"codebook ROM: {book.size} entries",)
    e_bits = t.format.exponent_bits
    out = []
    for i, v in enumerate(book):
        b = Bits(uint=int(v), length=width)
        out.append(f"[{i}] 0x{b.hex} sign {b[:1].bin} exponent {b[1:1 + e_bits].bin} mantissa {b[1 + e_bits:].bin}")
    return tuple(out)


def _exp_meaning(e: int, fmt) -> str:
    if e == 0:
        return "zero/subnormal"
    if e == fmt.max_exponent_field:
        return "inf/NaN"
    return f"2^{e - fmt.bias}"


def streamer_params(t: LayerTables) -> StreamerParams:
    fmt = get_format(t.format)
    if isinstance(t, ExpShareTables):
        return StreamerParams(t.name, t.ident, "expshare", fmt.name, t.shape, fmt.exponent_bits, fmt.mantissa_bits,
                              t.mantissa_bits, t.index_bits, max(1, int(t.exponent_rom.size)), t.depth,
                              f"{t.ident}_sign.mem", f"{t.ident}_index.mem", f"{t.ident}_mantissa.mem", f"{t.ident}_exp.mem",
                              _rom_comment(t))
    if isinstance(t, ClusterTables):
        return StreamerParams(t.name, t.ident, "cluster", fmt.name, t.shape, fmt.exponent_bits, fmt.mantissa_bits,
                              fmt.mantissa_bits, t.index_bits, max(1, int(t.codebook_rom.size)), t.depth,
                              "", f"{t.ident}_index.mem", "", f"{t.ident}_codebook.mem", _rom_comment(t))
    raise PycompressError(f"no RTL images for tables of type {type(t).__name__}")


def hex_lines(values: np.ndarray, width: int) -> str:
    """One zero-padded hex word per line, built vectorised (no per-weight Python loop)."""
    digits = max(1, -(-int(width) // 4))
    values = np.asarray(values).reshape(-1).astype(np.uint64)
    if values.size and int(values.max()) >> max(int(width), 1):
        raise PycompressError(f"value {int(values.max())} does not fit {width} bits")
    return "\n".join(np.char.mod(f"%0{digits}x", values).tolist())


def _env() -> Environment:
    return Environment(loader=FileSystemLoader(str(TEMPLATE_DIR)), undefined=StrictUndefined, keep_trailing_newline=True,
                       trim_blocks=True, lstrip_blocks=True)


def layer_images(t: LayerTables, env: Environment | None = None) -> dict[str, str]:
    """The memory images of one layer: file name -> text."""
    env = env or _env()
    p = streamer_params(t)
    mem = env.get_template("table.mem.j2")
    tables: list[tuple[str, str, np.ndarray, int]] = []
    if isinstance(t, ExpShareTables):
        tables += [(p.sign_file, "sign", t.sign, 1), (p.index_file, "index", t.index, t.index_bits)]
        if t.mantissa_bits:
            tables.append((p.mantissa_file, "mantissa", t.mantissa, t.mantissa_bits))
        tables.append((p.rom_file, "exponent ROM", t.exponent_rom, t.format.exponent_bits))
    else:
        tables += [(p.index_file, "codebook index", t.index, t.index_bits),
                   (p.rom_file, "codebook ROM", t.codebook_rom, t.format.total_bits)]
    return {fname: mem.render(ident=t.ident, table=label, depth=int(np.size(v)), width=w, body=hex_lines(v, w))
            for fname, label, v, w in tables}


def render_rtl(tables: list[LayerTables]) -> dict[str, str]:
    """Every generated file (images, include, top): file name -> text. Deterministic."""
    if not tables:
        raise PycompressError("the model has no encoded tensors: nothing to put in RTL tables")
    env = _env()
    files: dict[str, str] = {}
    for t in tables:
        files.update(layer_images(t, env))
    layers = [streamer_params(t) for t in tables]
    files[INCLUDE] = env.get_template("layers.svh.j2").render(top=TOP, layers=layers)
    files[f"{TOP}.sv"] = env.get_template("weights_top.sv.j2").render(top=TOP, include=INCLUDE, layers=layers)
    return files


RAW_TOP = "pycompress_raw_weights"


def render_raw_baseline(model: CompressedModel) -> dict[str, str]:
    """The uncompressed baseline for resource counts: each layer's decoded weights in one raw table."""
    env = _env()
    mem = env.get_template("table.mem.j2")
    files: dict[str, str] = {}
    layers = []
    for t in layer_tables(model):
        p = streamer_params(t)
        raw_file = f"{t.ident}_raw.mem"
        bits = model.tensors[t.name].decode_bits().reshape(-1)
        files[raw_file] = mem.render(ident=t.ident, table="raw weight", depth=p.depth, width=p.weight_bits,
                                     body=hex_lines(bits, p.weight_bits))
        layers.append({"ident": t.ident, "addr_bits": p.addr_bits, "weight_bits": p.weight_bits, "depth": p.depth,
                       "raw_file": raw_file, "block": p.block(p.weight_bits)})
    files[f"{RAW_TOP}.sv"] = env.get_template("raw_tables.sv.j2").render(top=RAW_TOP, layers=layers)
    return files


def write_rtl(model: CompressedModel, out_dir: str | os.PathLike) -> dict[str, str]:
    """Write the model's RTL images and include into `out_dir`, replacing it whole (built beside it, then renamed)."""
    files = render_rtl(layer_tables(model))
    write_files(files, out_dir)
    return files


def write_files(files: dict[str, str], out_dir: str | os.PathLike) -> None:
    with atomic_directory(out_dir) as tmp:
        for name, text in files.items():
            (tmp / name).write_text(text, encoding="utf-8")