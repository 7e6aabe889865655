"""Report parsers on sample reports in the text formats Vivado / Vitis HLS 2019.2-2024.2 write.

The samples in tests/data/vivado/ are hand-written (no Vivado here) with the layouts of
public reports: each test names the tool version and command whose format its sample
follows, and what changed between versions.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pycompress.core.errors import PycompressError
from pycompress.hw.vivado import reports as rp
from pycompress.hw.vivado.compare import PAPER_TABLE7, comparison_table, figures_from_json, vivado_figures
from pycompress.cli.main import main as cli_main


def run_report(capsys, *args) -> tuple[int, str, str]:
    """The real `pycompress vivado-report` command, in-process (torch is already imported here)."""
    rc = cli_main(["vivado-report", *map(str, args)])
    out = capsys.readouterr()
    return rc, out.out, out.err

DATA = Path(__file__).resolve().parent / "data" / "vivado"


def text(name: str) -> str:
    return (DATA / name).read_text()


def test_vitis_hls_2020_csynth_rpt():
    # Format: Vitis HLS 2020.2 solution1/syn/report/<top>_csynth.rpt ("== Vitis HLS Report for",
    # units inside the Timing cells, "DSP" column in the utilization estimates).
    r = rp.parse_hls_report(text("csynth_vitis_hls_2020.2.rpt"))
    assert r["tool_version"] == "2020.2" and r["top"] == "pycompress_top"
    assert r["target_device"] == "xc7z020-clg484-1"
    assert (r["clock_target_ns"], r["clock_estimated_ns"]) == (10.0, 7.268)
    assert (r["latency_min"], r["latency_max"], r["interval_min"], r["interval_max"]) == (5336520, 5336520, 5336521, 5336521)
    assert (r["bram18k"], r["dsp"], r["ff"], r["lut"], r["uram"]) == (28, 28, 6277, 5866, 0)
    assert r["available"]["bram_18k"] == 280


def test_vivado_hls_2019_csynth_rpt():
    # Format: Vivado HLS 2019.2 csynth.rpt ("== Vivado HLS Report for", "Timing (ns)" with bare
    # numbers, "DSP48E" column); figures set to the paper's Table 7 baseline.
    r = rp.parse_hls_report(text("csynth_vivado_hls_2019.2.rpt"))
    assert r["tool_version"] == "2019.2" and r["top"] == "pycompress_baseline_top"
    assert r["clock_estimated_ns"] == 8.51
    assert r["latency_max"] == PAPER_TABLE7["baseline"]["cycles"]
    assert (r["bram18k"], r["dsp"], r["ff"], r["lut"]) == (29, 25, 6447, 5693)


def test_vitis_hls_2023_csynth_rpt_min_and_max_latency():
    # Format: Vitis HLS 2023.2 csynth.rpt (same summary tables, wider columns, data-dependent latency).
    r = rp.parse_hls_report(text("csynth_vitis_hls_2023.2.rpt"))
    assert (r["latency_min"], r["latency_max"]) == (412331, 412347)
    assert r["pipeline"] == "no"
    assert (r["bram18k"], r["dsp"], r["ff"], r["lut"]) == (26, 19, 5316, 5430)


def test_csynth_xml_matches_the_rpt():
    # Format: Vitis HLS 2020.2 syn/report/csynth.xml (<SummaryOfOverallLatency>, <AreaEstimates>).
    x = rp.parse_hls_xml(text("csynth_vitis_hls_2020.2.xml"))
    r = rp.parse_hls_report(text("csynth_vitis_hls_2020.2.rpt"))
    for key in ("top", "latency_min", "latency_max", "interval_min", "interval_max", "bram18k", "dsp", "ff", "lut",
                "clock_target_ns", "clock_estimated_ns", "tool_version"):
        assert x[key] == r[key], key


def test_utilization_2020_without_prohibited_column():
    # Format: Vivado 2020.2 report_utilization (routed): "1. Slice Logic", "3. Memory", "4. DSP"
    # tables with columns Site Type | Used | Fixed | Available | Util%.
    u = rp.parse_utilization(text("utilization_2020.2.rpt"))
    assert u["tool_version"] == "2020.2" and u["device"] == "7z020clg484-1"
    assert (u["lut"], u["lut_available"], u["ff"], u["ff_available"]) == (8716, 53200, 9934, 106400)
    assert (u["ramb36"], u["ramb18"], u["bram18k"], u["bram_tiles"]) == (13, 4, 30, 15)
    assert (u["dsp"], u["dsp_available"]) == (28, 220)


def test_utilization_2023_with_prohibited_column():
    # Format: Vivado 2023.2 report_utilization: the "Prohibited" column (added in 2022.1) sits between
    # Fixed and Available, and the header gains "Speed File"; the parser must not shift columns.
    u = rp.parse_utilization(text("utilization_2023.2.rpt"))
    assert u["tool_version"] == "2023.2" and u["device"] == "xc7z020clg484-1"
    assert (u["lut"], u["lut_available"], u["ff"]) == (8543, 53200, 10104)
    assert (u["ramb36"], u["ramb18"], u["bram18k"]) == (14, 4, 32)
    assert (u["dsp"], u["dsp_available"]) == (25, 220)


def test_hierarchical_utilization_of_the_kernel_instance():
    # Format: Vivado 2022.2 report_utilization -hierarchical ("Utilization by Hierarchy", "DSP Blocks";
    # 2020.x writes "DSP48 Blocks", matched by prefix).
    k = rp.parse_utilization_hier(text("utilization_hier_2022.2.rpt"), "pycompress_top_0")
    assert k == {"instance": "pycompress_top_0", "lut": 5866, "ff": 6277, "ramb36": 12, "ramb18": 4, "bram18k": 28,
                 "dsp": 28}
    old = text("utilization_hier_2022.2.rpt").replace("DSP Blocks", "DSP48 Blocks")
    assert rp.parse_utilization_hier(old, "pycompress_top_0")["dsp"] == 28
    with pytest.raises(PycompressError, match="no instance 'nope_0'"):
        rp.parse_utilization_hier(text("utilization_hier_2022.2.rpt"), "nope_0")


def test_timing_summary_met():
    # Format: Vivado 2020.2 report_timing_summary: "Design Timing Summary" header line WNS(ns) ... and
    # the values line below the dashes; "All user specified timing constraints are met."
    t = rp.parse_timing_summary(text("timing_summary_2020.2.rpt"))
    assert (t["wns_ns"], t["tns_ns"], t["tns_failing_endpoints"], t["whs_ns"], t["wpws_ns"]) == (1.317, 0.0, 0, 0.018, 3.75)
    assert t["met"] is True
    assert t["clocks"] == [{"name": "clk_fpga_0", "period_ns": 10.0, "frequency_mhz": 100.0}]


def test_timing_summary_violated():
    # Format: Vivado 2023.2 report_timing_summary with a negative WNS ("Timing constraints are not met.").
    t = rp.parse_timing_summary(text("timing_summary_2023.2_violated.rpt"))
    assert (t["wns_ns"], t["tns_ns"], t["tns_failing_endpoints"]) == (-0.214, -1.873, 14)
    assert t["met"] is False


def test_power_summary_components_and_kernel():
    # Format: Vivado 2021.2 report_power: "1. Summary" key/value table ("Total On-Chip Power (W)"),
    # "1.1 On-Chip Components", "3.1 By Hierarchy" (values like "<0.001" read as 0.001).
    p = rp.parse_power(text("power_2021.2.rpt"), "pycompress_top_0")
    assert (p["total_w"], p["dynamic_w"], p["static_w"], p["junction_c"]) == (1.812, 1.657, 0.155, 45.9)
    assert p["confidence"] == "Low"
    assert p["components_w"]["PS7"] == 1.425 and p["components_w"]["DSPs"] == 0.048
    assert p["instance_w"] == 0.207


@pytest.mark.parametrize("parser", [rp.parse_hls_report, rp.parse_utilization, rp.parse_timing_summary, rp.parse_power])
def test_wrong_report_is_a_clear_error(parser):
    with pytest.raises(PycompressError, match="no .* found"):
        parser("this is not a Vivado report\n| a | b |\n")


def test_xml_garbage_is_a_clear_error():
    with pytest.raises(PycompressError, match="not XML"):
        rp.parse_hls_xml("<profile>")


def _fake_build(root: Path, name: str, top: str, hls_sample: str) -> Path:
    build = root / name
    (build / "reports").mkdir(parents=True)
    (build / "flow.json").write_text(json.dumps({"build_name": name, "top": top, "part": "xc7z020clg484-1",
                                                 "kernel_cell": f"{top}_0"}))
    shutil.copy(DATA / hls_sample, build / "reports" / "hls_csynth.rpt")
    return build


def test_vivado_report_command_prints_table7_comparison(tmp_path, capsys):
    build = _fake_build(tmp_path, "lenet", "pycompress_top", "csynth_vitis_hls_2020.2.rpt")
    shutil.copy(DATA / "utilization_2020.2.rpt", build / "reports" / "utilization.rpt")
    shutil.copy(DATA / "utilization_hier_2022.2.rpt", build / "reports" / "utilization_hier.rpt")
    shutil.copy(DATA / "timing_summary_2020.2.rpt", build / "reports" / "timing_summary.rpt")
    shutil.copy(DATA / "power_2021.2.rpt", build / "reports" / "power.rpt")
    _fake_build(tmp_path, "lenet_baseline", "pycompress_baseline_top", "csynth_vivado_hls_2019.2.rpt")
    # the HLS generator's estimate_report() layout: {"baseline": {...}, "compressed": {"cycles": ..., ...}}
    (build / "estimates.json").write_text(json.dumps({"compressed": {"cycles": 5000000, "bram18k": 27, "dsp": 26},
                                                      "baseline": {"cycles": 5900000, "bram18k": 30, "dsp": 25}}))
    rtl = tmp_path / "yosys.json"
    rtl.write_text(json.dumps({"summary": {"LUT": 812, "FF": 640, "DSP48E1": 1, "BRAM18": 4}}))
    rc, out, err = run_report(capsys, build, "--rtl-report", rtl, "--json")
    assert rc == 0, err
    table = json.loads(out)
    assert table["paper compressed"]["cycles"] == 5_336_520
    assert table["Vivado compressed"] == {"cycles": 5336520, "bram18k": 28, "dsp": 28, "ff": 6277, "lut": 5866,
                                          "power_w": 0.207}
    assert table["Vitis HLS baseline"]["cycles"] == 6090756 and table["Vitis HLS baseline"]["lut"] == 5693
    assert table["HLS estimate compressed"]["cycles"] == 5000000 and table["HLS estimate compressed"]["bram18k"] == 27
    assert table["HLS estimate baseline"]["cycles"] == 5900000
    assert table["Yosys RTL"] == {"cycles": None, "bram18k": 4, "dsp": 1, "ff": 640, "lut": 812, "power_w": None}
    assert json.loads((build / "reports" / "summary.json").read_text())["reports"]["timing"]["wns_ns"] == 1.317
    rc, out, _ = run_report(capsys, build)
    assert rc == 0 and "clock cycles" in out and "5,336,520" in out and "BRAM18K" in out


def test_vivado_report_on_a_non_build_folder_is_one_line(tmp_path, capsys):
    rc, _, err = run_report(capsys, tmp_path)
    assert rc == 2 and err.count("\n") == 1 and "not a build folder" in err


def test_comparison_table_layout():
    out = comparison_table([("paper baseline", PAPER_TABLE7["baseline"]), ("x", {"cycles": 1})])
    lines = out.splitlines()
    assert lines[0].split() == ["metric", "paper", "baseline", "x"]
    assert "6,090,756" in lines[2] and lines[2].rstrip().endswith("1")
    assert figures_from_json({"kernel": {"luts": 5}})["lut"] == 5
    assert vivado_figures({})["cycles"] is None
