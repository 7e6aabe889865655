"""`pycompress bitstream` and `pycompress vivado-report`: the ZedBoard flow from a compressed model."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pycompress.core.errors import PycompressError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bitstream", help="HLS kernel or RTL engine -> Vivado bitstream, .xsa, reports and host program")
    p.add_argument("model", help="compressed model (.pcz)")
    p.add_argument("--engine", choices=("hls", "rtl"), default="hls",
                   help="the accelerator: the HLS kernel (Vitis HLS, then Vivado) or the whole-network RTL engine "
                        "(packaged as an IP by Vivado; no HLS tool)")
    p.add_argument("--parallel", help="--engine rtl: lanes per conv/linear layer, e.g. conv1=12,fc1=8 (default: allocator)")
    p.add_argument("-o", "--build", default="build/vivado", help="folder holding one build folder per model (default build/vivado)")
    p.add_argument("--name", help="build folder name (default: the model's file name)")
    p.add_argument("--baseline", action="store_true", help="also build the uncompressed float baseline kernel")
    p.add_argument("--board", default="zedboard")
    p.add_argument("--jobs", type=int, default=4, help="parallel Vivado jobs (default 4)")
    p.add_argument("--weights", choices=("bram", "ddr"), default="bram",
                   help="weight streams on chip (bram) or in DDR, read by the kernel through HP1 (ddr)")
    p.add_argument("--cosim", action=argparse.BooleanOptionalAction, default=None,
                   help="run C/RTL co-simulation after C synthesis (the default; --no-cosim skips it), on the testbench "
                        "vectors, compared bit for bit with the reference that flushes subnormals as the Xilinx "
                        "floating-point cores do; its report is copied to reports/hls_cosim.rpt (HLS kernel only)")
    p.add_argument("--scripts-only", action="store_true",
                   help="write the build folders (HLS project, TCL, host program) without running any tool")
    p.set_defaults(func=cmd_bitstream)

    p = sub.add_parser("vivado-report", help="Table 7-like comparison from build folders' reports and open-source estimates")
    p.add_argument("build", help="build folder of the compressed kernel (e.g. build/vivado/lenet)")
    p.add_argument("--baseline", help="build folder of the baseline kernel (default: <build>_baseline if present)")
    p.add_argument("--hls-estimates", help="HLS generator's estimates JSON (default: <build>/estimates.json)")
    p.add_argument("--rtl-report", help="RTL issue's Yosys report JSON")
    p.add_argument("--markdown", action="store_true")
    p.add_argument("--json", action="store_true", help="print the comparison as JSON")
    p.set_defaults(func=cmd_vivado_report)


# what the tools add to a build folder (run_tools, vivado-report), and C simulation of its HLS project
BUILD_SCRATCH = ("logs", "reports", "out", "vivado", ".Xil", "*.log", "*.jou", "hls/prj_*", "hls/csim_build",
                 "hls/*.log", "hls/.Xil", "host/ws")


def _variants(args: argparse.Namespace) -> list[tuple[str, bool]]:
    from pycompress.hw.names import sanitize_identifier

    name = sanitize_identifier(args.name or Path(args.model).stem, prefix="build")
    return [(name, False)] + ([(f"{name}_baseline", True)] if args.baseline else [])


def cmd_bitstream(args: argparse.Namespace) -> int:
    if args.engine == "rtl":
        return _bitstream_rtl(args)
    if args.parallel:
        raise PycompressError("--parallel applies to --engine rtl (the HLS kernel's lanes: pycompress generate --parallel)")
    from pycompress.hw.board import load_board
    from pycompress.core.fileio import OutputFolder, atomic_directory, check_output
    from pycompress.hw.vivado.build import assemble, generate_hls, model_test_set, run_tools, summarize
    from pycompress.hw.vivado.flow import FlowConfig
    from pycompress.hw.vivado.toolcheck import check_tools

    tools = None if args.scripts_only else check_tools()  # fail before any work
    model = Path(args.model)
    if not model.is_file():
        raise PycompressError(f"{model}: no such model file (`make demo` writes build/lenet-bf16.pcz)")
    if args.jobs < 1:
        raise PycompressError(f"--jobs must be at least 1, got {args.jobs}")
    build_folder = OutputFolder("build folder", key_file="hls/project.json", scratch=BUILD_SCRATCH)
    for name, _ in _variants(args):  # every folder is checked before any is written
        check_output(Path(args.build) / name, inputs=[model], folder=build_folder)
    board = load_board(args.board)
    config = FlowConfig(jobs=args.jobs, hls_tool=tools.hls.name if tools else "vitis_hls", cosim=args.cosim is not False)
    tests = model_test_set(model)
    built = []
    for name, baseline in _variants(args):
        final = Path(args.build) / name
        print(f"pycompress: writing {final} ({'baseline' if baseline else 'compressed'} kernel)", file=sys.stderr)
        with atomic_directory(final) as tmp:
            generate_hls(model, tmp / "hls", baseline=baseline, ftz_reference=args.cosim is not False, weights=args.weights)
            plan = assemble(tmp, name, board, tests, config)
        built.append((final, plan))
    if tools is None:
        for final, plan in built:
            print(f"{final}: scripts written for {plan.top} on {plan.board_part}; run "
                  f"`{config.hls_tool} -f {final}/scripts/run_hls.tcl` then "
                  f"`vivado -mode batch -source {final}/scripts/vivado_flow.tcl`")
        return 0
    for final, plan in built:
        run_tools(final, plan, tools)
        summarize(final)
        print(f"{final}: bitstream out/{plan.bitstream}, platform out/{plan.xsa}, reports in reports/")
    return cmd_vivado_report(argparse.Namespace(build=str(built[0][0]), baseline=None, hls_estimates=None,
                                                rtl_report=None, markdown=False, json=False))


def _bitstream_rtl(args: argparse.Namespace) -> int:
    """`bitstream --engine rtl`: the RTL engine in its board top, packaged as an IP, in the same block design."""
    from pycompress.core.fileio import OutputFolder, atomic_directory, check_output
    from pycompress.hw.board import load_board
    from pycompress.hw.plan import parse_parallel
    from pycompress.hw.vivado.build import model_test_set, run_rtl_tools, summarize
    from pycompress.hw.vivado.flow import FlowConfig
    from pycompress.hw.vivado.rtl_flow import assemble_rtl
    from pycompress.hw.vivado.toolcheck import check_tools

    for flag, value in (("--baseline", args.baseline), ("--cosim", args.cosim is True), ("--weights ddr", args.weights == "ddr")):
        if value:
            raise PycompressError(f"{flag} applies to the HLS kernel, not to --engine rtl")
    tools = None if args.scripts_only else check_tools(need_hls=False)  # fail before any work
    model = Path(args.model)
    if not model.is_file():
        raise PycompressError(f"{model}: no such model file (`make demo` writes build/lenet-bf16.pcz)")
    if args.jobs < 1:
        raise PycompressError(f"--jobs must be at least 1, got {args.jobs}")
    name = _variants(args)[0][0]
    final = Path(args.build) / name
    check_output(final, inputs=[model], folder=OutputFolder("build folder", key_file="rtl/pycompress_accel.f"))
    board = load_board(args.board)
    config = FlowConfig(jobs=args.jobs)
    tests = model_test_set(model)
    print(f"pycompress: writing {final} (RTL engine)", file=sys.stderr)
    with atomic_directory(final) as tmp:
        plan = assemble_rtl(tmp, name, board, tests, model, config, parse_parallel(args.parallel))
    if tools is None:
        print(f"{final}: scripts written for {plan.top} on {plan.board_part}; run "
              f"`vivado -mode batch -source {final}/scripts/package_ip.tcl` then "
              f"`vivado -mode batch -source {final}/scripts/vivado_flow.tcl`")
        return 0
    run_rtl_tools(final, plan, tools)
    summarize(final)
    print(f"{final}: bitstream out/{plan.bitstream}, platform out/{plan.xsa}, reports in reports/")
    return 0


def cmd_vivado_report(args: argparse.Namespace) -> int:
    from pycompress.hw.vivado.build import summarize
    from pycompress.hw.vivado.compare import PAPER_TABLE7, comparison_table, hls_figures, load_figures, vivado_figures

    build = Path(args.build)
    if not (build / "flow.json").is_file():
        raise PycompressError(f"{build}: not a build folder (no flow.json); run `pycompress bitstream` first")
    baseline = Path(args.baseline) if args.baseline else build.parent / f"{build.name}_baseline"
    if args.baseline and not (baseline / "flow.json").is_file():
        raise PycompressError(f"{baseline}: not a build folder (no flow.json)")
    columns = [("paper baseline", PAPER_TABLE7["baseline"]), ("paper compressed", PAPER_TABLE7["compressed"])]
    builds = [("baseline", baseline)] if (baseline / "flow.json").is_file() else []
    builds.append(("compressed", build))
    for label, folder in builds:
        parsed = summarize(folder)["reports"]
        if parsed:
            columns.append((f"Vivado {label}", vivado_figures(parsed)))
            columns.append((f"Vitis HLS {label}", hls_figures(parsed)))
    estimates = Path(args.hls_estimates) if args.hls_estimates else build / "estimates.json"
    if args.hls_estimates and not estimates.is_file():
        raise PycompressError(f"{estimates}: no such file")
    for label in ("baseline", "compressed"):
        est = load_figures(estimates, variant=label)
        if est and any(v is not None for v in est.values()):
            columns.append((f"HLS estimate {label}", est))
    if args.rtl_report:
        rtl = load_figures(Path(args.rtl_report))
        if rtl is None:
            raise PycompressError(f"{args.rtl_report}: no such file")
        columns.append(("Yosys RTL", rtl))
    if args.json:
        print(json.dumps({title: figures for title, figures in columns}, indent=2))
    else:
        print(comparison_table(columns, markdown=args.markdown))
    return 0
