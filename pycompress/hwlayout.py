"""Hardware table layouts: the one packer that feeds the HLS headers and the RTL memory images.

For every stored tensor it gives the identifier that reaches C++/Verilog/TCL, the
table depths and widths, and the per-entry field values (sign, index, mantissa
or codebook index), plus the exponent ROM or codebook ROM contents. Templates
receive these plain values; nothing else decides a width.
"""
from __future__ import annotations

import keyword
import re
from dataclasses import dataclass
from typing import Iterable

import numpy as np

from .container import CompressedModel
from .errors import PycompressError
from .formats import FloatFormat, get_format

_CPP_RESERVED = {
    "alignas", "alignof", "and", "asm", "auto", "bool", "break", "case", "catch", "char", "class", "const", "continue",
    "default", "delete", "do", "double", "else", "enum", "extern", "float", "for", "friend", "goto", "if", "inline",
    "int", "long", "module", "namespace", "new", "not", "or", "private", "protected", "public", "register", "return",
    "short", "signed", "sizeof", "static", "struct", "switch", "template", "this", "throw", "try", "typedef", "union",
    "unsigned", "using", "virtual", "void", "volatile", "while", "wire", "reg", "logic", "input", "output", "begin",
    "end", "assign", "always", "initial", "parameter", "localparam", "function", "task", "proc", "set", "top",
}


def sanitize_identifier(name: str, prefix: str = "t") -> str:
    """A C, Verilog and TCL-safe identifier: [a-z0-9_], starts with a letter, not a keyword."""
    ident = re.sub(r"[^0-9A-Za-z_]", "_", name).strip("_").lower()
    ident = re.sub(r"_+", "_", ident)
    if not ident or not ident[0].isalpha():
        ident = f"{prefix}_{ident}" if ident else prefix
    if ident in _CPP_RESERVED or keyword.iskeyword(ident):
        ident = f"{prefix}_{ident}"
    return ident


def unique_identifiers(names: list[str], taken: Iterable[str] = ()) -> dict[str, str]:
    """Sanitise a list of names, suffixing collisions (with each other or with `taken`) deterministically."""
    out: dict[str, str] = {}
    used: set[str] = set(taken)
    for name in names:
        base = sanitize_identifier(name)
        ident, k = base, 1
        while ident in used:
            k += 1
            ident = f"{base}_{k}"
        used.add(ident)
        out[name] = ident
    return out


@dataclass(frozen=True, eq=False)
class ExpShareTables:
    """Sign/index/mantissa tables (depth N) and the exponent ROM of one layer."""

    name: str  # original tensor name
    ident: str  # sanitised identifier
    format: FloatFormat
    shape: tuple[int, ...]
    index_bits: int
    mantissa_bits: int  # stored width (<= format's)
    exponent_rom: np.ndarray  # exponent fields, ascending; depth e
    sign: np.ndarray  # per weight, C order of `shape`
    index: np.ndarray
    mantissa: np.ndarray

    scheme = "expshare"

    @property
    def depth(self) -> int:
        return int(self.sign.size)

    @property
    def mantissa_shift(self) -> int:
        """Zero bits appended below the stored mantissa to rebuild the format's mantissa."""
        return self.format.mantissa_bits - self.mantissa_bits


@dataclass(frozen=True, eq=False)
class ClusterTables:
    """Codebook-index table (depth N) and codebook ROM (raw bits in `format`) of one layer."""

    name: str
    ident: str
    format: FloatFormat
    shape: tuple[int, ...]
    index_bits: int
    codebook_rom: np.ndarray  # raw bit patterns of the shared values
    index: np.ndarray

    scheme = "cluster"

    @property
    def depth(self) -> int:
        return int(self.index.size)


LayerTables = ExpShareTables | ClusterTables


def layer_tables(model: CompressedModel) -> list[LayerTables]:
    """Tables of every stored tensor, in model order."""
    idents = unique_identifiers([n for n in model.order if n in model.tensors])
    out: list[LayerTables] = []
    for name in model.order:
        if name not in model.tensors:
            continue
        st = model.tensors[name]
        if st.scheme == "expshare":
            sign, index, mantissa = st.fields()
            out.append(ExpShareTables(name, idents[name], get_format(st.format), tuple(st.shape), st.index_bits,
                                      st.mantissa_bits, np.asarray(st.exponent_table), sign, index, mantissa))
        elif st.scheme == "cluster":
            out.append(ClusterTables(name, idents[name], get_format(st.format), tuple(st.shape), st.index_bits,
                                     np.asarray(st.codebook), st.indices()))
        else:
            raise PycompressError(f"tensor {name!r}: storage scheme {st.scheme!r} has no hardware tables")
    return out
