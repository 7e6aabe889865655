"""Parse Vitis/Vivado HLS and Vivado reports (2019.2-2024.2 text formats) into plain dicts.

Tables are found by their header cells, not by column position, because Vivado 2022.1
added a `Prohibited` column to report_utilization and Vitis HLS renamed `DSP48E` to `DSP`.
Every parser raises PycompressError naming the report and the missing table.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from pycompress.core.errors import PycompressError

_VERSION = re.compile(r"(?:Vivado v\.|Version:\s+|\bv)(20\d\d\.\d)")


def _number(cell: str) -> float | int | None:
    cell = cell.strip().replace(",", "").lstrip("<")
    if cell in ("", "-", "?", "NA", "N/A", "---"):
        return None
    try:
        return int(cell)
    except ValueError:
        try:
            return float(cell)
        except ValueError:
            return None


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def ascii_tables(text: str) -> list[list[list[str]]]:
    """Every `|`-table in a report, as rows of stripped cells (border lines dropped)."""
    tables: list[list[list[str]]] = []
    current: list[list[str]] = []
    for line in text.splitlines():
        s = line.strip()
        if s.startswith("|") and s.endswith("|"):
            current.append(_cells(s))
        elif s.startswith("+") and set(s) <= set("+-="):
            continue
        elif current:
            tables.append(current)
            current = []
    if current:
        tables.append(current)
    return tables


def _find_table(text: str, *header_cells: str) -> tuple[list[str], list[list[str]]] | None:
    """The first table whose header row contains all `header_cells`: (header, body rows)."""
    for table in ascii_tables(text):
        for i, row in enumerate(table):
            if all(h in row for h in header_cells):
                return row, table[i + 1:]
    return None


def _row(table: tuple[list[str], list[list[str]]], name: str) -> dict[str, float | int | None] | None:
    header, rows = table
    for row in rows:
        if row and row[0].rstrip("*").strip() == name:
            return {h: _number(c) for h, c in zip(header, row) if h}
    return None


def _version(text: str) -> str | None:
    match = _VERSION.search(text)
    return match.group(1) if match else None


def _header_field(text: str, name: str) -> str | None:
    match = re.search(rf"^\|?\s*\*?\s*{re.escape(name)}\s*:\s*(.+?)\s*$", text, re.M)
    return match.group(1) if match else None


def _need(value, report: str, what: str):
    if value is None:
        raise PycompressError(f"{report}: no {what} found")
    return value


# ---- HLS -----------------------------------------------------------------------------------------

def parse_hls_report(text: str, name: str = "csynth.rpt") -> dict:
    """Vivado HLS / Vitis HLS csynth.rpt: latency, interval, clock, utilization estimates."""
    top = re.search(r"== (?:Vivado|Vitis) HLS Report for '([^']+)'", text)
    lat = re.search(r"Latency \(cycles\)[^\n]*\n[^\n]*min[^\n]*\n(?:\s*\+[-+]+\n)?\s*\|([^\n]+)\|", text)
    latency_cells = _cells(_need(lat, name, "'Latency (cycles)' summary table").group(1))
    nums = [_number(c) for c in latency_cells]
    clock = _find_table(text, "Clock", "Target")
    util = _find_table(text, "Name", "BRAM_18K", "FF", "LUT")
    total = _row(_need(util, name, "utilization estimates table"), "Total")
    avail = _row(util, "Available") if util else None
    clock_row = clock[1][0] if clock and clock[1] else []
    total = _need(total, name, "utilization estimates 'Total' row")
    return {
        "tool_version": _version(text),
        "top": top.group(1) if top else None,
        "target_device": _header_field(text, "Target device"),
        "clock_target_ns": _number(clock_row[1].replace("ns", "")) if len(clock_row) > 1 else None,
        "clock_estimated_ns": _number(clock_row[2].replace("ns", "")) if len(clock_row) > 2 else None,
        "latency_min": nums[0], "latency_max": nums[1],
        "interval_min": nums[4] if len(nums) > 5 else None, "interval_max": nums[5] if len(nums) > 5 else None,
        "pipeline": latency_cells[6] if len(latency_cells) > 6 else None,
        "bram18k": total.get("BRAM_18K"), "dsp": total.get("DSP", total.get("DSP48E")),
        "ff": total.get("FF"), "lut": total.get("LUT"), "uram": total.get("URAM"),
        "available": {k.lower(): v for k, v in (avail or {}).items() if k not in ("Name",)},
    }


def parse_hls_xml(text: str, name: str = "csynth.xml") -> dict:
    """The same figures from csynth.xml (tags unchanged from Vivado HLS 2019.2 to Vitis HLS 2024.2)."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise PycompressError(f"{name}: not XML: {exc}") from None

    def get(path: str):
        node = root.find(path)
        return _number(node.text) if node is not None and node.text else None

    res = root.find("AreaEstimates/Resources")
    if res is None or root.find("PerformanceEstimates/SummaryOfOverallLatency") is None:
        raise PycompressError(f"{name}: no AreaEstimates/Resources or SummaryOfOverallLatency")
    dsp = get("AreaEstimates/Resources/DSP")
    return {
        "tool_version": (root.findtext("ReportVersion/Version") or None),
        "top": root.findtext("UserAssignments/TopModelName"),
        "target_device": root.findtext("UserAssignments/Part"),
        "clock_target_ns": get("UserAssignments/TargetClockPeriod"),
        "clock_estimated_ns": get("PerformanceEstimates/SummaryOfTimingAnalysis/EstimatedClockPeriod"),
        "latency_min": get("PerformanceEstimates/SummaryOfOverallLatency/Best-caseLatency"),
        "latency_max": get("PerformanceEstimates/SummaryOfOverallLatency/Worst-caseLatency"),
        "interval_min": get("PerformanceEstimates/SummaryOfOverallLatency/Interval-min"),
        "interval_max": get("PerformanceEstimates/SummaryOfOverallLatency/Interval-max"),
        "bram18k": get("AreaEstimates/Resources/BRAM_18K"),
        "dsp": dsp if dsp is not None else get("AreaEstimates/Resources/DSP48E"),
        "ff": get("AreaEstimates/Resources/FF"), "lut": get("AreaEstimates/Resources/LUT"),
        "uram": get("AreaEstimates/Resources/URAM"),
    }


# ---- Vivado --------------------------------------------------------------------------------------

def _used(table, name: str, report: str) -> dict:
    row = _row(_need(table, report, f"table with '{name}'"), name)
    row = _need(row, report, f"'{name}' row")
    return {"used": row.get("Used"), "available": row.get("Available")}


def parse_utilization(text: str, name: str = "utilization.rpt") -> dict:
    """report_utilization (7-series): Slice Logic, Memory and DSP tables of the whole design."""
    logic = _find_table(text, "Site Type", "Used", "Available")
    lut = _used(logic, "Slice LUTs", name)
    ff = _used(logic, "Slice Registers", name)
    tables = [t for t in ascii_tables(text) if t and "Site Type" in t[0]]
    by_name: dict[str, dict] = {}
    for t in tables:
        header = t[0]
        for row in t[1:]:
            key = row[0].rstrip("*").strip() if row else ""
            if key and key not in by_name:
                by_name[key] = {h: _number(c) for h, c in zip(header, row) if h}
    ramb36 = _need(by_name.get("RAMB36/FIFO"), name, "'RAMB36/FIFO' row (Memory table)")
    ramb18 = _need(by_name.get("RAMB18"), name, "'RAMB18' row (Memory table)")
    dsp = _need(by_name.get("DSPs"), name, "'DSPs' row (DSP table)")
    return {
        "tool_version": _version(text),
        "device": _header_field(text, "Device"),
        "lut": lut["used"], "lut_available": lut["available"],
        "ff": ff["used"], "ff_available": ff["available"],
        "bram_tiles": by_name.get("Block RAM Tile", {}).get("Used"),
        "ramb36": ramb36.get("Used"), "ramb18": ramb18.get("Used"),
        "bram18k": 2 * ramb36.get("Used", 0) + ramb18.get("Used", 0),
        "dsp": dsp.get("Used"), "dsp_available": dsp.get("Available"),
    }


def parse_utilization_hier(text: str, cell: str, name: str = "utilization_hier.rpt") -> dict:
    """report_utilization -hierarchical: the resources of one instance (the kernel)."""
    table = _need(_find_table(text, "Instance", "Module", "Total LUTs"), name, "hierarchical utilization table")
    header, rows = table
    for row in rows:
        if row and row[0] == cell:
            values = {h: _number(c) for h, c in zip(header, row)}
            dsp = next((v for h, v in values.items() if h.startswith("DSP")), None)
            return {"instance": cell, "lut": values.get("Total LUTs"), "ff": values.get("FFs"),
                    "ramb36": values.get("RAMB36"), "ramb18": values.get("RAMB18"),
                    "bram18k": 2 * (values.get("RAMB36") or 0) + (values.get("RAMB18") or 0), "dsp": dsp}
    raise PycompressError(f"{name}: no instance {cell!r} in the hierarchical utilization table")


def parse_timing_summary(text: str, name: str = "timing_summary.rpt") -> dict:
    """report_timing_summary: the Design Timing Summary line (WNS ... TPWS) and the clock table."""
    match = re.search(r"WNS\(ns\)\s+TNS\(ns\)[^\n]*\n\s*-[- ]+\n\s*([^\n]+)", text)
    values = [_number(v) for v in _need(match, name, "'Design Timing Summary' WNS line").group(1).split()]
    if len(values) < 8:
        raise PycompressError(f"{name}: Design Timing Summary line has {len(values)} values, expected 12")
    clocks = []
    clock_block = re.search(r"Clock\s+Waveform\(ns\)\s+Period\(ns\)\s+Frequency\(MHz\)\n\s*-[- ]+\n(.*?)\n\s*\n", text, re.S)
    if clock_block:
        for line in clock_block.group(1).splitlines():
            m = re.match(r"\s*(\S+)\s+\{[^}]*\}\s+([\d.]+)\s+([\d.]+)", line)
            if m:
                clocks.append({"name": m.group(1), "period_ns": float(m.group(2)), "frequency_mhz": float(m.group(3))})
    return {
        "tool_version": _version(text),
        "wns_ns": values[0], "tns_ns": values[1], "tns_failing_endpoints": values[2],
        "whs_ns": values[4], "ths_ns": values[5], "ths_failing_endpoints": values[6],
        "wpws_ns": values[8] if len(values) > 8 else None,
        "met": "All user specified timing constraints are met." in text,
        "clocks": clocks,
    }


def parse_power(text: str, cell: str | None = None, name: str = "power.rpt") -> dict:
    """report_power: the Summary table, on-chip components and (optionally) one instance's power."""
    summary = _need(_find_table(text, "Total On-Chip Power (W)"), name, "'Total On-Chip Power (W)' summary")
    rows = {r[0]: r[1] for r in [summary[0]] + summary[1] if len(r) >= 2}
    components = {}
    comp = _find_table(text, "On-Chip", "Power (W)")
    if comp:
        for row in comp[1]:
            if len(row) >= 2 and row[0] and _number(row[1]) is not None:
                components[row[0]] = _number(row[1])
    out = {
        "tool_version": _version(text),
        "total_w": _number(rows["Total On-Chip Power (W)"]),
        "dynamic_w": _number(rows.get("Dynamic (W)", "")),
        "static_w": _number(rows.get("Device Static (W)", "")),
        "junction_c": _number(rows.get("Junction Temperature (C)", "")),
        "confidence": rows.get("Confidence Level"),
        "components_w": components,
    }
    if cell is not None:
        hier = _find_table(text, "Name", "Power (W)")
        match = next((r for r in (hier[1] if hier else []) if r and r[0] == cell), None)
        out["instance"] = cell
        out["instance_w"] = _number(match[1]) if match else None
    return out


MAX_REPORT_BYTES = 256 << 20


def read_reports(reports_dir: Path, kernel_cell: str) -> dict:
    """Every report present in a build's reports/ folder, parsed; absent ones are left out."""
    from pycompress.core.inputs import read_regular

    from .flow import REPORTS

    parsers = {
        "hls": (REPORTS["hls_rpt"], parse_hls_report),
        "hls_xml": (REPORTS["hls_xml"], parse_hls_xml),
        "utilization": (REPORTS["utilization"], parse_utilization),
        "kernel_utilization": (REPORTS["utilization_hier"], lambda t, n: parse_utilization_hier(t, kernel_cell, n)),
        "timing": (REPORTS["timing"], parse_timing_summary),
        "power": (REPORTS["power"], lambda t, n: parse_power(t, kernel_cell, n)),
    }
    out = {}
    for key, (fname, parser) in parsers.items():
        path = reports_dir / fname
        if path.is_file():  # a FIFO or device is skipped unread, a report is bounded
            out[key] = parser(read_regular(path, "a tool report", MAX_REPORT_BYTES).decode(errors="replace"), str(path))
    return out
