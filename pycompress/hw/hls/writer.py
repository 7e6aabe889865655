"""Render the HLS project in memory ({relative path: text}) and write it atomically.

Layout (stable, read by the Vivado flow): build_prj.tcl, project.json,
firmware/ (kernel, weights, defines, C-simulation bridge), tb/, tb_data/,
model.pcz (the container the project was generated from, for csim checks).
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np

from pycompress.hw import kernel_interface as ki
from pycompress.core.container import CompressedModel, to_bytes
from pycompress.core.errors import PycompressError
from pycompress.core.fileio import OutputFolder, atomic_directory, check_output
from pycompress.hw.plan import kernel_model
from .context import is_chain, template_values
from .reference import reference_forward
from .templates import AUTOGEN
from .vectors import dataset_inputs

TB_VECTORS = 10
MANIFEST_VERSION = 1
# what csim (csim_build/) and vitis_hls run in the folder (prj_<top>/, logs) add to it later
HLS_FOLDER = OutputFolder("HLS project", key_file="project.json", scratch=("csim_build", "prj_*", "*.log", ".Xil"))


def _ddr_manifest(values: dict) -> dict:
    """Only for --weights ddr (a bram project's manifest is unchanged): where the image is and how it is reached."""
    image = values["ddr_image"]
    if image is None:
        return {}
    layout = image.layout()
    return {"weights": "ddr", "ddr": {"image": values["ddr_image_file"], "layout": values["ddr_layout_file"],
                                      "ports": [{"port": d["port"], "bundle": d["bundle"], "offset_words": d["offset"],
                                                 "words": d["words"], "tensor_ident": d["ident"]}
                                                for d in values["ddr_ports"]],
                                      "words": layout["words"], "bytes": layout["bytes"], "sha256": layout["sha256"],
                                      "bytes_read_per_image": layout["bytes_read_per_image"]}}


def _manifest(values: dict, km, baseline: bool, ftz_reference: bool = False) -> dict:
    layers = []
    by_tensor = {p["tensor"]: p for p in values["params"]}
    for layer, glayer in zip(values["layers"], km.graph.layers):
        entry = {"name": layer["layer"], "op": layer["op"], "function": layer["fn"], "in_size": layer["in_size"],
                 "out_size": layer["out_size"]}
        for role in ("weight", "bias"):
            tensor = getattr(glayer, role, None)
            if tensor:
                p = by_tensor[tensor]
                entry[role] = {"tensor": tensor, "ident": p["ident"], "scheme": p["scheme"], "format": p["format"],
                               "size": p["size"], **({"index_bits": p["index_bits"]} if "index_bits" in p else {}),
                               **({"mantissa_bits": p["mantissa_bits"]} if "mantissa_bits" in p else {})}
        layers.append(entry)
    return {
        "manifest_version": MANIFEST_VERSION, "generator": AUTOGEN, "top": values["top"], "baseline": baseline,
        "kernel": values["kernel"], "lanes": values["lanes"], "pixel_lanes": values["pixel_lanes"],
        "format": km.format, "part": values["part"], "board": values["board"],
        "clock_period_ns": float(values["clock_period_ns"]),
        "ports": {**values["ports"], "axis_data_bits": values["axis_bits"]},
        "ip": values["ip"], "input_shape": values["input_shape"], "input_size": values["input_size"],
        "output_size": values["output_size"], "num_classes": values["output_size"], "dataset": km.graph.dataset,
        "hls_project": values["hls_project"], "solution": values["solution"],
        "ip_dir": f"{values['hls_project']}/{values['solution']}/impl/ip",
        "report_dir": f"{values['hls_project']}/{values['solution']}/syn/report",
        "params": [{"tensor": p["tensor"], "ident": p["ident"], "scheme": p["scheme"], "format": p["format"], "size": p["size"],
                    "role": p["role"], "lanes": p["lanes"]}
                   for p in values["params"]],
        "layers": layers,
        "tb_reference": "ftz" if ftz_reference else "ieee",
        **_ddr_manifest(values),
        **({"dataflow": True} if values["dataflow"] else {}),
        "files": {"tcl": "build_prj.tcl", "sources": [f"firmware/{values['top']}.cpp"],
                  "headers": [f"firmware/{values['top']}.h", "firmware/weights.h", "firmware/pycompress_defines.h"],
                  "csim_bridge": "firmware/csim_bridge.cpp", "testbench": f"tb/tb_{values['top']}.cpp",
                  "tb_input": "tb_data/tb_input_features.dat", "tb_output": "tb_data/tb_output_predictions.dat",
                  "model": "model.pcz"},
    }


def render_firmware(values: dict) -> dict[str, str]:
    """The synthesised sources (what Vitis and the rule checker read), keyed by relative path."""
    from .templates import render

    top = values["top"]
    return {"firmware/pycompress_defines.h": render("defines.h.j2", **values),
            "firmware/weights.h": render("weights.h.j2", **values),
            f"firmware/{top}.h": render("kernel.h.j2", **values),
            f"firmware/{top}.cpp": render("kernel.cpp.j2", **values)}


def render_project(cm: CompressedModel, baseline: bool = False, tb_vectors: int = TB_VECTORS, kernel: str | None = None,
                   parallel: dict[str, int] | None = None, board: str = "zedboard",
                   ftz_reference: bool = False, weights: str = "bram", dataflow: bool | None = None) -> dict[str, str | bytes]:
    """All files of the project, keyed by relative path; pure (no I/O besides reading templates/data).

    `kernel`: compressed (default), raw (same-format baseline) or float (float32 baseline, `baseline=True`);
    `parallel`: lanes fixed per model layer name (the rest are allocated to the board's budget);
    `ftz_reference`: expected tb outputs from the reference that flushes subnormals to zero as the Xilinx
    floating-point cores do (for C/RTL co-simulation; g++ C simulation follows IEEE gradual underflow);
    `weights`: bram (weight streams in on-chip ROM) or ddr (read through an AXI master from the image
    ddr/weights.bin that the host places in DDR; ddr/weights.json gives its layout); `dataflow`: the layers
    as concurrent processes under DATAFLOW (chains of layers only; None, the default: for every chain).
    """
    from .templates import render

    km = kernel_model(cm)
    values = template_values(km, baseline, board=board, kernel=kernel, parallel=parallel, weights=weights,
                             dataflow=is_chain(km.graph) if dataflow is None else dataflow)
    baseline = values["baseline"]
    top = values["top"]
    x, _ = dataset_inputs(km.graph, tb_vectors)
    y = reference_forward(km.graph, km.params, x, subnormals=not ftz_reference)
    what = ("expected outputs (numpy reference, subnormals flushed to zero as the Xilinx cores)" if ftz_reference
            else "expected outputs (numpy reference)")
    files: dict[str, str | bytes] = {
        **render_firmware(values),
        "firmware/csim_bridge.cpp": render("csim_bridge.cpp.j2", **values),
        f"tb/tb_{top}.cpp": render("tb.cpp.j2", **values),
        "tb_data/tb_input_features.dat": render("tb_data.dat.j2", what="inputs", width=values["input_size"],
                                                rows=[r for r in x.reshape(len(x), -1).view(np.uint32)]),
        "tb_data/tb_output_predictions.dat": render("tb_data.dat.j2", what=what,
                                                    width=values["output_size"], rows=[r for r in y.view(np.uint32)]),
        "build_prj.tcl": render("build_prj.tcl.j2", sources=[f"firmware/{top}.cpp"], testbench=f"tb/tb_{top}.cpp", **values),
        "project.json": json.dumps(_manifest(values, km, baseline, ftz_reference), indent=2, sort_keys=True) + "\n",
        "model.pcz": to_bytes(cm),
    }
    image = values["ddr_image"]
    if image is not None:
        files[values["ddr_image_file"]] = image.to_bytes()
        files[values["ddr_layout_file"]] = json.dumps(image.layout(), indent=2, sort_keys=True) + "\n"
    return files


def write_tree(files: dict[str, str | bytes], out: str | os.PathLike) -> Path:
    """Build the tree in a temp dir beside `out`, then rename it into place (replacing an old project)."""
    out = check_output(out, folder=HLS_FOLDER)
    with atomic_directory(out) as tmp:
        for rel, data in sorted(files.items()):
            path = tmp / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(data, bytes):
                path.write_bytes(data)
            else:
                path.write_text(data, encoding="utf-8")
    return out


def check_fits(cm: CompressedModel, board: str = "zedboard", parallel: dict | None = None,
               weights: str = "bram", dataflow: bool | None = None) -> None:
    """One line when the compressed kernel's estimate (the cycle and resource model, as the allocator sees it)
    exceeds the board's whole resources (with --weights ddr, the weights are off chip and only what stays on
    chip counts; under DATAFLOW every activation buffer is a ping-pong pair)."""
    from pycompress.hw.board import load_board
    from pycompress.hw.plan import plan_hls

    km = kernel_model(cm)
    df = is_chain(km.graph) if dataflow is None else dataflow
    b = load_board(board)
    e = plan_hls(km, "compressed", board, parallel, df, ddr=weights == "ddr").estimate
    need = ({"bram18k": e.bram18k, "dsp": e.dsp, "lut": e.lut, "ff": e.ff} if weights == "bram" else e.ddr_summary())
    if df and e.chain:
        need = {**need, "bram18k": need["bram18k"] + e.buffer_bram18k}
    over = [f"{what} {need[key]:,} > {have:,}" for what, key, have in (("BRAM18K", "bram18k", b.bram18k), ("DSP48E1", "dsp", b.dsp48e1),
                                                                     ("LUT", "lut", b.lut), ("FF", "ff", b.ff)) if need[key] > have]
    if over:
        raise PycompressError(f"the kernel does not fit {b.name} (estimate: {', '.join(over)}); pass --board for a larger "
                              "board or --allow-over-budget to write it anyway")


def generate(cm: CompressedModel, out: str | os.PathLike, baseline: bool = False, progress: bool = True,
             kernel: str | None = None, parallel: dict[str, int] | None = None, board: str = "zedboard",
             allow_over_budget: bool = False, ftz_reference: bool = False, weights: str = "bram",
             dataflow: bool | None = None) -> Path:
    """Render and write the HLS project; nothing is written when the model is unsupported or does not fit."""
    kernel_model(cm)  # refuse an unsupported model before saying anything
    if not allow_over_budget:
        check_fits(cm, board, parallel, weights, dataflow)
    kernel = kernel or ("float" if baseline else "compressed")
    if progress:
        print(f"generating {'' if kernel == 'compressed' else kernel + ' baseline '}HLS project "
              f"({ki.TOP_FUNCTION if kernel == 'compressed' else ki.BASELINE_TOP_FUNCTION}"
              f"{', weights from DDR' if weights == 'ddr' else ''}) -> {out}", file=sys.stderr, flush=True)
    files = render_project(cm, kernel=kernel, parallel=parallel, board=board, ftz_reference=ftz_reference, weights=weights,
                           dataflow=dataflow)
    return write_tree(files, out)
