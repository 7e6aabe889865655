"""`pycompress rtl`: write a compressed model's RTL memory images and parameter include."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pycompress.core.errors import PycompressError


def cmd_rtl(args: argparse.Namespace) -> int:
    from pycompress.core import container
    from pycompress.core.fileio import check_output
    from pycompress.hw.layout import layer_tables
    from pycompress.hw.rtl.images import INCLUDE, RTL_FOLDER, TOP

    if Path(args.model).suffix.lower() != ".pcz":
        raise PycompressError(f"{args.model}: expected a .pcz container (run `pycompress compress` first)")
    from pycompress.hw.rtl import huffman as huffman_rtl

    earlier_huffman = (Path(args.output) / huffman_rtl.INCLUDE).is_file()  # an earlier output of a huffman container
    check_output(args.output, inputs=[args.model], folder=huffman_rtl.RTL_FOLDER if earlier_huffman else RTL_FOLDER)
    cm = container.load(args.model)
    if huffman_rtl.is_huffman(cm):  # entropy-coded exponents (issue 15): decoder images, include, streamer top
        if args.engine == "yes" or args.parallel:
            raise PycompressError("the whole-network RTL engine reads exponent-sharing or codebook tables; this "
                                  "container's exponents are entropy-coded")
        files = huffman_rtl.write_huffman_rtl(cm, args.output)
        print(f"{args.output}: {len(files) - 2} memory images for {len(cm.tensors)} entropy-coded layers, "
              f"{huffman_rtl.INCLUDE}, {huffman_rtl.TOP}.sv (with rtl/*.sv; run Verilator/Yosys inside {args.output})")
        return 0
    from pycompress.hw.plan import parse_parallel
    from pycompress.hw.rtl.render import ENGINE_TOP, engine_files
    from pycompress.hw.rtl.images import render_rtl, write_files

    layers = layer_tables(cm)
    files = render_rtl(layers)
    engine, why, table = engine_files(cm, parse_parallel(args.parallel), args.board, args.engine,
                                     Path(args.model).name, args.allow_over_budget, Path(args.model).read_bytes())
    if set(engine) & set(files):  # pragma: no cover - stage and tensor image names differ by construction
        raise PycompressError(f"internal error: engine file {sorted(set(engine) & set(files))[0]} clashes with an image")
    write_files({**files, **engine}, args.output)
    print(f"{args.output}: {len(files) - 2} memory images for {len(layers)} layers, {INCLUDE}, {TOP}.sv "
          f"(with rtl/*.sv; run Verilator/Yosys inside {args.output})")
    if engine:
        print(f"{args.output}: whole-network engine {ENGINE_TOP}.sv with its lane images and sources "
              f"({ENGINE_TOP}.f lists them in compile order; pycompress rtlsim {args.output} --data ... simulates it)\n{table}")
    else:
        print(f"engine: not written: {why}", file=sys.stderr)
    return 0


def register(sub) -> None:
    p = sub.add_parser("rtl", help="write RTL $readmemh images, the parameter include and the whole-network engine of a .pcz")
    p.add_argument("model", help="compressed model (.pcz)")
    p.add_argument("-o", "--output", required=True, help="output folder: new, empty, or an earlier `pycompress rtl` output (replaced whole)")
    p.add_argument("--engine", choices=("auto", "yes", "no"), default="auto",
                   help="the whole-network engine (pycompress_engine.sv): auto = when the model's graph is supported, "
                        "yes = refuse a model without one, no = decoder images only")
    p.add_argument("--parallel", metavar="SPEC", default=None,
                   help="engine lanes per conv/linear layer, e.g. conv1=6,fc1=4 (default: the RTL lane allocator)")
    p.add_argument("--board", default="zedboard", help="budget of the lane allocator: boards/<name>/board.json")
    p.add_argument("--allow-over-budget", action="store_true",
                   help="write the engine even when its estimate exceeds the board's resources")
    p.set_defaults(func=cmd_rtl)
