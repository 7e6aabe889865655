"""`pycompress rtl`: write a compressed model's RTL memory images and parameter include."""
from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import PycompressError


def cmd_rtl(args: argparse.Namespace) -> int:
    from .. import container
    from ..fileio import check_output
    from ..hwlayout import layer_tables
    from ..rtl_images import INCLUDE, RTL_FOLDER, TOP, write_rtl

    if Path(args.model).suffix.lower() != ".pcz":
        raise PycompressError(f"{args.model}: expected a .pcz container (run `pycompress compress` first)")
    check_output(args.output, inputs=[args.model], folder=RTL_FOLDER)
    cm = container.load(args.model)
    files = write_rtl(cm, args.output)
    layers = layer_tables(cm)
    print(f"{args.output}: {len(files) - 2} memory images for {len(layers)} layers, {INCLUDE}, {TOP}.sv "
          f"(with rtl/*.sv; run Verilator/Yosys inside {args.output})")
    return 0


def register(sub) -> None:
    p = sub.add_parser("rtl", help="write RTL $readmemh images and the parameter include of a .pcz (for rtl/*.sv)")
    p.add_argument("model", help="compressed model (.pcz)")
    p.add_argument("-o", "--output", required=True, help="output folder: new, empty, or an earlier `pycompress rtl` output (replaced whole)")
    p.set_defaults(func=cmd_rtl)
