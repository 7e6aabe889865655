"""Plain-text tables for the terminal (and Markdown for reports)."""
from __future__ import annotations

import re
from typing import Sequence

from .accounting import ModelStats

# C0 controls (ESC, BEL, CR, backspace...), DEL, C1 controls, bidirectional overrides, lone surrogates:
# what a model name may carry and a terminal would act on rather than show
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]")


def printable(text: str, keep: str = "\n\t") -> str:
    """`text` with every control character outside `keep` shown as an escape (\\x1b, \\u202e): names from a model
    file reach the terminal as data, never as terminal commands, and an error stays on one line."""
    def esc(m: re.Match) -> str:
        c = m.group()
        return c if c in keep else f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}"
    return _UNPRINTABLE.sub(esc, text)


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
    if any(s.scheme == "huffman" for s in stats.layers):
        return entropy_stats_table(stats, markdown)
    headers = ["layer", "N", "distinct e", "i bits", "m bits", "orig bits", "comp bits", "saved %", "H(exp) bits"]
    rows = [[s.name, s.n, s.distinct_exponents, s.index_bits, s.mantissa_bits, s.original_bits,
             s.compressed_bits, s.savings_pct, s.exponent_entropy_bits] for s in stats.layers]
    rows.append(["total", sum(s.n for s in stats.layers), "", "", "", stats.original_bits, stats.compressed_bits,
                 stats.savings_pct, ""])
    return table(headers, rows, markdown)


def entropy_stats_table(stats: ModelStats, markdown: bool = False) -> str:
    """Entropy-coded exponents: stored bits (code table and offsets included) beside Eq. 1 and the entropy bound."""
    headers = ["layer", "N", "distinct e", "H(exp) bits", "Eq.1 bits", "stored bits", "bound bits", "Eq.1 saved %",
               "saved %", "bound saved %"]
    pct = lambda o, c: 100.0 * (o - c) / o if o else 0.0
    rows = [[s.name, s.n, s.distinct_exponents, s.exponent_entropy_bits, s.eq1_bits, s.compressed_bits, s.entropy_bound_bits,
             pct(s.original_bits, s.eq1_bits), s.savings_pct, pct(s.original_bits, s.entropy_bound_bits)] for s in stats.layers]
    eq1 = sum(s.eq1_bits for s in stats.layers)
    bound = sum(s.entropy_bound_bits for s in stats.layers)
    rows.append(["total", sum(s.n for s in stats.layers), "", "", eq1, stats.compressed_bits, bound,
                 pct(stats.original_bits, eq1), stats.savings_pct, pct(stats.original_bits, bound)])
    return table(headers, rows, markdown)
