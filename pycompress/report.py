"""Plain-text tables for the terminal (and Markdown for reports)."""
from __future__ import annotations

from typing import Sequence

from .accounting import ModelStats


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], markdown: bool = False) -> str:
    cells = [[str(h) for h in headers]] + [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    if markdown:
        lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(cells[0], widths)) + " |",
                 "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
        lines += ["| " + " | ".join(c.rjust(w) for c, w in zip(r, widths)) + " |" for r in cells[1:]]
        return "\n".join(lines)
    lines = ["  ".join(c.rjust(w) for c, w in zip(cells[0], widths)), "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in cells[1:]]
    return "\n".join(lines)


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def stats_table(stats: ModelStats, markdown: bool = False) -> str:
    headers = ["layer", "N", "distinct e", "i bits", "m bits", "orig bits", "comp bits", "saved %", "H(exp) bits"]
    rows = [[s.name, s.n, s.distinct_exponents, s.index_bits, s.mantissa_bits, s.original_bits,
             s.compressed_bits, s.savings_pct, s.exponent_entropy_bits] for s in stats.layers]
    rows.append(["total", sum(s.n for s in stats.layers), "", "", "", stats.original_bits, stats.compressed_bits,
                 stats.savings_pct, ""])
    return table(headers, rows, markdown)
