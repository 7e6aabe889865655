"""Table 7-like comparison: baseline vs compressed kernel, from tool reports and open-source estimates.

Sources, each optional: the paper's Table 7, Vivado post-route reports (kernel instance
from the hierarchical utilization and power reports), Vitis HLS csynth estimates, the HLS
generator's own estimates JSON and the RTL issue's Yosys report JSON.
"""
from __future__ import annotations

from pathlib import Path

from pycompress.core.fileio import read_json_object
from pycompress.core.report import table

METRICS = ("cycles", "bram18k", "dsp", "ff", "lut", "power_w")
LABELS = {"cycles": "clock cycles", "bram18k": "BRAM18K", "dsp": "DSP", "ff": "FF", "lut": "LUT", "power_w": "power (W)"}
PAPER_TABLE7 = {
    "baseline": {"cycles": 6_090_756, "bram18k": 29, "dsp": 25, "ff": 6_447, "lut": 5_693, "power_w": 0.249},
    "compressed": {"cycles": 5_336_520, "bram18k": 28, "dsp": 28, "ff": 6_277, "lut": 5_866, "power_w": 0.24},
}
# Names other tools' JSON may use for the same figure (compared case-insensitively).
_ALIASES = {
    "cycles": ("cycles", "total_cycles", "latency_cycles", "latency", "clock_cycles", "latency_max"),
    "bram18k": ("bram18k", "bram_18k", "bram18", "ramb18", "bram"),
    "dsp": ("dsp", "dsp48e1", "dsp48", "dsps"),
    "ff": ("ff", "ffs", "fdre", "flip_flops", "registers"),
    "lut": ("lut", "luts"),
    "power_w": ("power_w", "power"),
}


def vivado_figures(parsed: dict) -> dict:
    """One column of the table from a build's parsed reports: kernel-level where the reports allow."""
    hls = parsed.get("hls") or parsed.get("hls_xml") or {}
    kernel = parsed.get("kernel_utilization")
    power = parsed.get("power") or {}
    out = {"cycles": hls.get("latency_max")}
    if kernel:
        out.update({k: kernel.get(k) for k in ("bram18k", "dsp", "ff", "lut")})
    power_w = power.get("instance_w")
    out["power_w"] = power_w if power_w is not None else power.get("total_w")
    return out


def hls_figures(parsed: dict) -> dict:
    hls = parsed.get("hls") or parsed.get("hls_xml") or {}
    return {"cycles": hls.get("latency_max"), **{k: hls.get(k) for k in ("bram18k", "dsp", "ff", "lut")}}


def _pick(data: dict, metric: str):
    lower = {str(k).lower(): v for k, v in data.items()}
    for key in _ALIASES[metric]:
        value = lower.get(key.lower())
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return value
        if isinstance(value, dict):  # e.g. {"latency": {"max": ...}} or {"bram18k": {"total": ...}}
            for sub in ("total", "max", "value"):
                if isinstance(value.get(sub), (int, float)):
                    return value[sub]
    return None


def figures_from_json(data: dict) -> dict:
    """The metrics found in another tool's JSON, at top level or under 'total'/'summary'/'kernel'."""
    for scope in (data, data.get("total"), data.get("summary"), data.get("kernel"), data.get("totals")):
        if isinstance(scope, dict):
            found = {m: _pick(scope, m) for m in METRICS}
            if any(v is not None for v in found.values()):
                return found
    return {m: None for m in METRICS}


def load_figures(path: Path, variant: str | None = None) -> dict | None:
    """Figures from an estimates/report JSON (None if absent); `variant` picks e.g. 'baseline'."""
    if not path.is_file():
        return None
    data = read_json_object(path, "figures JSON")
    if variant and isinstance(data.get(variant), dict):
        data = data[variant]
    return figures_from_json(data)


def comparison_rows(columns: list[tuple[str, dict]]) -> list[list[object]]:
    rows = []
    for metric in METRICS:
        row: list[object] = [LABELS[metric]]
        for _, figures in columns:
            value = figures.get(metric)
            row.append("-" if value is None else value)
        rows.append(row)
    return rows


def comparison_table(columns: list[tuple[str, dict]], markdown: bool = False) -> str:
    """Metrics down, sources across (e.g. 'paper baseline', 'Vivado compressed', 'HLS estimate')."""
    return table(["metric"] + [title for title, _ in columns], comparison_rows(columns), markdown)
