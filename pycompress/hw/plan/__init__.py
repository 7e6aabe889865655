"""One hardware plan, two back ends: the accelerator of a model as data, computed once.

Owns the kernel model (graph, parameters, each scheme's tables), the lowering of
the graph for each back end (`lower`), the plan's types (`model`: layers, loop
schedules, lanes, memories, weight streams), the cost model with one table per
back end (`cost_hls`: Vitis float cores; `cost_rtl`: the Yosys-calibrated RTL
units), the HLS kernel's whole estimate (`estimate`), the one lane allocator
(`allocate`, its budget and objective in `budget`) and the builders
(`build.plan_hls`, `build.plan_rtl`). docs/hw-plan.md says how a back end or a
scheme plugs in.

May import: core, hw.board, hw.names, hw.kernel_interface, hw.layout, hw.huffman_layout.
Imported by the writers (hw.hls, hw.rtl, hw.vivado); never imports them.
"""
from __future__ import annotations

from .allocate import parse_parallel  # noqa: F401
from .build import allocate_hls, hls_budget, hls_kernel_plan, hls_lanes, plan_hls, plan_rtl  # noqa: F401
from .kernel_model import KERNEL_FORMATS, KERNELS, KernelModel, kernel_model  # noqa: F401
from .model import AcceleratorPlan, Buffer, Layer, LayerPlan, Schedule  # noqa: F401
