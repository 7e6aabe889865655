"""Preprocessing and tokens of the generated C++, as the Vitis build sees it.

Neither PYC_STANDALONE_CSIM (the g++ bridge) nor PYC_VIVADO_HLS (legacy Vivado HLS) is defined;
`#include "..."` pulls in files of the same folder once; `#pragma HLS` lines become pragma tokens;
rows of table initialisers (numbers only) are dropped, since their contents do not matter to the rules.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .ctree import ParseError


_TOKEN = re.compile(r"""
    (?P<ws>[ \t\r\n]+) | (?P<comment>//[^\n]*|/\*.*?\*/) |
    (?P<num>0[xX][0-9a-fA-F]+[uUlL]*|(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?[fFuUlL]*) |
    (?P<str>"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*') |
    (?P<id>[A-Za-z_]\w*) |
    (?P<op><<=|>>=|::|->|\+\+|--|<<|>>|<=|>=|==|!=|&&|\|\||\+=|-=|\*=|/=|%=|&=|\|=|\^=|[-+*/%<>=!~&|^?:;,.(){}\[\]])
    """, re.X | re.S)


@dataclass(frozen=True)
class Tok:
    kind: str  # id num op str pragma
    text: str
    file: str
    line: int


def _lines(path: Path, defined: set[str], seen: set[Path]) -> list[tuple[str, str, int]]:
    """Source lines after conditional compilation and includes: (text, file, line)."""
    if path in seen:
        return []
    seen.add(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ParseError(f"{path}: {exc.strerror}") from None
    out: list[tuple[str, str, int]] = []
    stack: list[bool] = []  # active branches
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        active = all(stack)
        if line.startswith("#"):
            words = line[1:].split()
            d = words[0] if words else ""
            if d in ("ifdef", "ifndef"):
                stack.append((words[1] in defined) == (d == "ifdef"))
            elif d == "if":
                stack.append(False)  # only `#if 0`-style blocks appear; none are compiled by Vitis here
            elif d == "else":
                stack[-1] = not stack[-1]
            elif d == "endif":
                stack.pop()
            elif not active:
                continue
            elif d == "define" and len(words) >= 2:
                defined.add(words[1])
            elif d == "include":
                m = re.match(r'#\s*include\s+"([^"]+)"', line)
                if m and (path.parent / m.group(1)).exists():
                    out += _lines(path.parent / m.group(1), defined, seen)
            elif d == "pragma" and len(words) >= 2 and words[1].upper() == "HLS":
                out.append(("\x00" + " ".join(words[2:]), str(path.name), n))
            continue
        if active:
            out.append((raw, str(path.name), n))
    return out


_TABLE_ROW = re.compile(r"[\s0-9a-fA-FxXuUlL.,+\-]*")  # a row of a table initialiser: numbers and commas only


def tokenize(path: str | Path, defined: set[str] | None = None) -> list[Tok]:
    toks: list[Tok] = []
    for text, file, line in _lines(Path(path), set(defined or ()), set()):
        if text.startswith("\x00"):
            toks.append(Tok("pragma", text[1:], file, line))
            continue
        if _TABLE_ROW.fullmatch(text):  # table contents do not matter to the rules (a declarator skips its braces)
            continue
        pos = 0
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if m is None:
                raise ParseError(f"{file}:{line}: cannot read {text[pos:pos + 20]!r}")
            pos = m.end()
            kind = m.lastgroup
            if kind in ("ws", "comment"):
                continue
            toks.append(Tok(kind, m.group(kind), file, line))
    return toks
