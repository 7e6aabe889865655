"""Stage 6: hardware from a compressed model. Owns the board data, the names that reach C++,
SystemVerilog and TCL (one escaping path per language, `names`), the table and stream layouts
(the one packer behind the HLS headers and the RTL memory images), the float reference of the
datapath, the accelerator plan (`plan/`: one description per model, one allocator, one cost
model with a table per back end; docs/hw-plan.md), and the writers that read it: `hls/` (C++
HLS project, C simulation, estimates), `rtl/` (decoders, the whole-network engine, Yosys
reports), `vivado/` (TCL flow and host program).

May import: core, schemes, frontends. Never lossy, sharing or cli.
"""
