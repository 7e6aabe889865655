"""`pycompress generate | csim | estimate`: the HLS kernel of a compressed model."""
from __future__ import annotations

import argparse
import json
import sys

from pycompress.cli.main import add_force_option
from pycompress.core.errors import PycompressError


def _load(path: str):
    from pycompress.core import container
    from pycompress.core.graph import graph_of
    from pycompress.hw.hls.support import require_hls

    if not path.endswith(".pcz"):
        raise PycompressError(f"{path}: expected a compressed model (.pcz)")
    cm = container.load(path)
    if cm.graph is not None:  # a missing graph is explained by kernel_model, with the reason compress stored
        require_hls(graph_of(cm.graph))
    return cm


def cmd_generate(args: argparse.Namespace) -> int:
    from pycompress.core.fileio import check_output
    from pycompress.hw.hls.writer import HLS_FOLDER, generate

    from pycompress.hw.plan import parse_parallel

    check_output(args.output, inputs=[args.pcz], folder=HLS_FOLDER)
    kernel = args.baseline or "compressed"
    out = generate(_load(args.pcz), args.output, kernel=kernel, parallel=parse_parallel(args.parallel), board=args.board,
                   allow_over_budget=args.allow_over_budget, ftz_reference=args.ftz_reference, weights=args.weights,
                   dataflow=args.dataflow)
    print(f"{out}: HLS project written (vitis_hls -f build_prj.tcl; pycompress csim {out})")
    return 0


def cmd_csim(args: argparse.Namespace) -> int:
    from pycompress.hw.hls.csim import nonfinite_note, require_exact, run_csim

    if args.images is not None and args.images < 1:
        raise PycompressError("--images must be at least 1")
    if args.min_agreement is not None and not 0 <= args.min_agreement <= 100:
        raise PycompressError(f"--min-agreement must be a percentage in [0, 100], got {args.min_agreement}")
    r = run_csim(args.project, args.images, data=args.data, model=args.model)
    if args.json:
        print(json.dumps(r.to_dict(), indent=2))
    else:
        who = "your model" if r.compared_with != "graph" else "PyTorch (network rebuilt from the layer graph)"
        acc = (f"; accuracy kernel {r.kernel_accuracy_pct:.2f}% / PyTorch {r.torch_accuracy_pct:.2f}%"
               if r.kernel_accuracy_pct is not None else "")
        if r.model_accuracy_pct is not None:
            acc += f" / your model with its own weights {r.model_accuracy_pct:.2f}%"
        print(f"{r.top}: compiled in {r.compile_s:.1f}s, {r.images} inputs simulated in {r.simulate_s:.2f}s; "
              f"{r.weights_checked:,} decoded weights bit-exact: {r.weights_bit_exact}; outputs bit-exact vs numpy "
              f"reference: {r.outputs_bit_exact}; top-1 agreement with {who} {r.top1_agreement_pct:.2f}%{acc}, "
              f"largest output difference {r.max_abs_diff:.3g} ({r.inputs}){nonfinite_note(r.nonfinite_outputs)}")
    require_exact(r)
    if args.min_agreement is not None and r.top1_agreement_pct < args.min_agreement:
        raise PycompressError(f"C simulation of {r.project}: top-1 agreement {r.top1_agreement_pct:.2f}% with "
                              f"{r.compared_with} is below --min-agreement {args.min_agreement:g}%")
    return 0


def cmd_estimate(args: argparse.Namespace) -> int:
    from pycompress.core.fileio import check_output, write_bytes_atomic
    from pycompress.hw.plan import parse_parallel
    from pycompress.hw.hls.estimates import estimate_report, format_report

    if args.output:
        check_output(args.output, inputs=[args.pcz], force=args.force)
    report = {**estimate_report(_load(args.pcz), parse_parallel(args.parallel)),
              "generator": "pycompress estimate"}  # the mark that lets a later run replace the file it writes
    if args.output:
        write_bytes_atomic(args.output, (json.dumps(report, indent=2, sort_keys=True) + "\n").encode())
        print(f"estimates written to {args.output}", file=sys.stderr)
    print(json.dumps(report, indent=2, sort_keys=True) if args.json else format_report(report))
    return 0


PARALLEL_HELP = ("outputs per cycle (lanes) of conv/linear layers, e.g. conv1=3,fc1=8, or a JSON file "
                 "{\"conv1\": 3}; each must divide the layer's outputs; the other layers are allocated to fit the board")


def register(sub) -> None:
    p = sub.add_parser("generate", help="write the Vitis/Vivado HLS project of a compressed model")
    p.add_argument("pcz", help="compressed model (.pcz) with a layer graph")
    p.add_argument("-o", "--output", required=True, help="project folder (replaced atomically)")
    p.add_argument("--baseline", nargs="?", const="float", choices=("float", "raw"), default=None,
                   help="an uncompressed baseline kernel: float (float32 weights; the default) or raw "
                        "(raw weight bits in the model's storage format, the like-for-like baseline)")
    p.add_argument("--parallel", metavar="SPEC", help=PARALLEL_HELP)
    p.add_argument("--weights", choices=("bram", "ddr"), default="bram",
                   help="where the packed weight streams live: bram (on-chip ROM, default) or ddr (read through an "
                        "AXI master port from the image ddr/weights.bin, which the host program places in DDR)")
    p.add_argument("--dataflow", action=argparse.BooleanOptionalAction, default=None,
                   help="layers as concurrent processes under DATAFLOW (ping-pong buffers): successive images overlap "
                        "(the default for a chain of layers; --no-dataflow runs the layers one after another; a graph "
                        "with a residual add is refused with --dataflow)")
    p.add_argument("--board", default="zedboard", help="target board under boards/ (default zedboard)")
    p.add_argument("--allow-over-budget", action="store_true",
                   help="write the project even when the estimate exceeds the board's resources")
    p.add_argument("--ftz-reference", action="store_true",
                   help="testbench expected outputs from the reference that flushes subnormal operands and results "
                        "to zero as the Xilinx floating-point cores do (for bit-exact C/RTL co-simulation, cosim=1)")
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("csim", help="compile a generated project with g++ and check it bit for bit")
    p.add_argument("project", help="folder written by `pycompress generate`")
    p.add_argument("--images", type=int, default=None, help="number of test inputs (default: the whole test split)")
    p.add_argument("--data", metavar="FILE.npz|NAME",
                   help="inputs: the test part of an .npz (x_test/y_test, else carved from x/y) or of mnist5k/digits "
                        "(default: the model's built-in dataset, else 100 seeded random inputs)")
    p.add_argument("--model", metavar="MODEL.pt2|MODEL.onnx",
                   help="compare top-1 with this model (the user's own .pt2 program or .onnx model, given the kernel's weights) "
                        "instead of the network rebuilt from the layer graph")
    p.add_argument("--min-agreement", type=float, metavar="PCT",
                   help="fail when the top-1 agreement is below PCT percent")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_csim)

    p = sub.add_parser("estimate", help="cycles, BRAM18K and DSP estimates of the HLS kernel, beside the paper's Table 7")
    p.add_argument("pcz")
    p.add_argument("--json", action="store_true", help="print JSON instead of the table")
    p.add_argument("-o", "--output", help="also write the JSON report to this file")
    add_force_option(p)
    p.add_argument("--parallel", metavar="SPEC", help=PARALLEL_HELP)
    p.set_defaults(func=cmd_estimate)
