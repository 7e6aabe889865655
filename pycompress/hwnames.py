"""Names from a model file are data, never code: the one escaping path per generated language.

A tensor or layer name can hold any bytes (a `.safetensors` file carries them
unchecked). Everything that reaches generated C++, SystemVerilog or TCL passes
through here: identifiers are sanitised (`unique_identifiers`), comments are
escaped per language (`cpp_comment`, `sv_comment`, `tcl_comment`), strings are
quoted (`c_string`, `tcl_quote`). Escaped text is a `Code` string; model names
travel to templates as `ModelName`, which `finalize` refuses to render raw, and
`finalize` refuses any plain string that is not a bare token, so a forgotten
filter is an error at render time, never an injection.
"""
from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np

from .errors import PycompressError


class Code(str):
    """Text already made safe for the language it is written into (escaped, quoted or generator-owned)."""


class TclWord(Code):
    """A string already quoted as exactly one TCL word."""


@dataclass(frozen=True)
class ModelName:
    """A name read from a model file: rendered only through an escaping filter."""

    text: str

    def __str__(self) -> str:  # f"{name}" or `~` in a template would bypass the filters
        raise TypeError(f"model name {self.text!r} must pass through an escaping filter")


# ---- identifiers ---------------------------------------------------------------------------------------

MAX_IDENT = 48  # file names `<ident>_mantissa.mem` stay far below NAME_MAX; tools print them whole

_CPP_KEYWORDS = """alignas alignof and and_eq asm auto bitand bitor bool break case catch char char8_t char16_t
char32_t class compl concept const consteval constexpr constinit const_cast continue co_await co_return co_yield
decltype default delete do double dynamic_cast else enum explicit export extern false float for friend goto if
inline int long mutable namespace new noexcept not not_eq nullptr operator or or_eq private protected public
register reinterpret_cast requires return short signed sizeof static static_assert static_cast struct switch
template this thread_local throw true try typedef typeid typename union unsigned using virtual void volatile
wchar_t while xor xor_eq main std""".split()
_SV_KEYWORDS = """accept_on alias always always_comb always_ff always_latch and assert assign assume automatic before
begin bind bins binsof bit break buf bufif0 bufif1 byte case casex casez cell chandle checker class clocking cmos
config const constraint context continue cover covergroup coverpoint cross deassign default defparam design disable
dist do edge else end endcase endchecker endclass endclocking endconfig endfunction endgenerate endgroup
endinterface endmodule endpackage endprimitive endprogram endproperty endspecify endsequence endtable endtask enum
event eventually expect export extends extern final first_match for force foreach forever fork forkjoin function
generate genvar global highz0 highz1 if iff ifnone ignore_bins illegal_bins implements implies import incdir
include initial inout input inside instance int integer interconnect interface intersect join join_any join_none
large let liblist library local localparam logic longint macromodule matches medium modport module nand negedge
nettype new nexttime nmos nor noshowcancelled not notif0 notif1 null or output package packed parameter pmos
posedge primitive priority program property protected pull0 pull1 pulldown pullup pulsestyle_ondetect
pulsestyle_onevent pure rand randc randcase randsequence rcmos real realtime ref reg reject_on release repeat
restrict return rnmos rpmos rtran rtranif0 rtranif1 s_always s_eventually s_nexttime s_until s_until_with scalared
sequence shortint shortreal showcancelled signed small soft solve specify specparam static string strong strong0
strong1 struct super supply0 supply1 sync_accept_on sync_reject_on table tagged task this throughout time
timeprecision timeunit tran tranif0 tranif1 tri tri0 tri1 triand trior trireg type typedef union unique unique0
unsigned until until_with untyped use uwire var vectored virtual void wait wait_order wand weak weak0 weak1 while
wildcard wire with within wor xnor xor clk rst_n""".split()
RESERVED = frozenset(_CPP_KEYWORDS) | frozenset(_SV_KEYWORDS) | {"proc", "set", "top"}
# Prefixes the generators use for their own names (helpers, layer functions l<k>_, buffers a<k>, instances u_).
_RESERVED_PREFIX = re.compile(r"(pyc|pycompress|l\d+|a\d+|u)(_|$)")


def sanitize_identifier(name: str, prefix: str = "t") -> str:
    """A C, SystemVerilog and TCL-safe identifier: [a-z0-9_], starts with a letter, no `__`, not a keyword.

    Long names are cut to MAX_IDENT characters with a hash of the whole name, so
    they stay distinct and usable as file names.
    """
    ident = re.sub(r"[^0-9a-z_]", "_", str(name).lower())
    ident = re.sub(r"_+", "_", ident).strip("_")
    if not ident or not ident[0].isalpha():
        ident = f"{prefix}_{ident}" if ident else prefix
    if ident in RESERVED or _RESERVED_PREFIX.match(ident):
        ident = f"{prefix}_{ident}"
    if len(ident) > MAX_IDENT:
        digest = hashlib.sha256(str(name).encode("utf-8", "surrogatepass")).hexdigest()[:8]
        ident = f"{ident[:MAX_IDENT - 9].rstrip('_')}_{digest}"
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


_C_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def c_ident(value: object) -> Code:
    """Refuse anything that is not a plain C identifier (names are sanitised upstream)."""
    text = value.text if isinstance(value, ModelName) else value
    if not isinstance(text, str) or not _C_IDENT.fullmatch(text):
        raise PycompressError(f"internal error: {text!r} is not a C identifier")
    return Code(text)


# ---- comments ------------------------------------------------------------------------------------------

COMMENT_MAX = 160  # characters of a name shown in a comment; the rest is elided
# Printable ASCII that means nothing inside a // comment of C++ or SystemVerilog. Left out, and so escaped as
# %XX: `\` (line splice), `?` (trigraph ??/), `` ` `` (SV directives), `*` and `/` pairs (block comments),
# `%` (the escape itself), every control character and line terminator, and all non-ASCII.
_LINE_COMMENT_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 _.,:;=+-#@^&|~()[]{}<>!'\"$")
# A TCL comment also ends at nothing but a newline, but braces count inside a braced body, `\` continues it.
_TCL_COMMENT_SAFE = _LINE_COMMENT_SAFE - frozenset("{}[]$\";\\")


def _comment(value: object, safe: frozenset[str]) -> Code:
    text = value.text if isinstance(value, ModelName) else value
    if not isinstance(text, str):
        text = repr(text)
    elided = len(text) > COMMENT_MAX
    out = []
    for ch in text[:COMMENT_MAX]:
        if ch in safe:
            out.append(ch)
        else:
            out.extend(f"%{b:02X}" for b in ch.encode("utf-8", "surrogatepass"))
    return Code("".join(out) + ("..." if elided else ""))


def cpp_comment(value: object) -> Code:
    """Text for a C++ `//` or `/* */` comment: printable ASCII, no line end, splice, trigraph or `*/`."""
    return _comment(value, _LINE_COMMENT_SAFE)


def sv_comment(value: object) -> Code:
    """Text for a SystemVerilog `//` comment: as for C++, and no backtick (no compiler directive)."""
    return _comment(value, _LINE_COMMENT_SAFE)


def tcl_comment(value: object) -> Code:
    """Text for a TCL `#` comment: no newline, continuation, brace, bracket, `$` or quote."""
    return _comment(value, _TCL_COMMENT_SAFE)


# ---- strings -------------------------------------------------------------------------------------------

def c_string(value: object) -> Code:
    """A C string literal: printable ASCII kept, `"`, `\\` and `?` escaped, everything else in octal."""
    text = value.text if isinstance(value, ModelName) else str(value)
    out = []
    for ch in text:
        if ch in '"\\?':
            out.append("\\" + ch)
        elif " " <= ch <= "~":
            out.append(ch)
        else:
            out.extend(f"\\{b:03o}" for b in ch.encode("utf-8", "surrogatepass"))
    return Code('"' + "".join(out) + '"')


# Characters that never mean anything special in a bare TCL word.
_TCL_SAFE_WORD = re.compile(r"[A-Za-z0-9_./:+=,@%-]+")
_TCL_NAMED_ESCAPES = {"\n": "\\n", "\t": "\\t", "\r": "\\r", "\a": "\\a", "\b": "\\b", "\f": "\\f", "\v": "\\v"}


def tcl_quote(value: object) -> TclWord:
    """Quote a value as one TCL word: the TCL parser gives back exactly str(value).

    Safe words go as they are; anything else is backslash-escaped character by
    character, \\uXXXX for non-printable and non-ASCII (read alike by Vivado's Tcl 8.5
    and Tcl 8.6). Brace-quoting cannot hold unbalanced braces or a trailing backslash,
    so escaping is the one rule that works for every string.
    """
    if isinstance(value, bool):
        return TclWord("1" if value else "0")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise PycompressError(f"cannot pass non-finite number {value!r} to TCL")
        return TclWord(repr(value))
    if isinstance(value, Path):
        value = value.as_posix()
    text = value.text if isinstance(value, ModelName) else str(value)
    if text == "":
        return TclWord("{}")
    if _TCL_SAFE_WORD.fullmatch(text):
        return TclWord(text)
    out = []
    for ch in text:
        if _TCL_SAFE_WORD.fullmatch(ch):
            out.append(ch)
        elif ch in _TCL_NAMED_ESCAPES:
            out.append(_TCL_NAMED_ESCAPES[ch])
        elif " " <= ch <= "~":
            out.append("\\" + ch)
        elif ord(ch) <= 0xFFFF:
            out.append(f"\\u{ord(ch):04x}")
        else:  # Vivado's Tcl 8.5 has no escape for characters beyond the BMP
            raise PycompressError(f"cannot pass {text!r} to TCL: character U+{ord(ch):X} is outside the BMP")
    return TclWord("".join(out))


def tcl_list(values: object) -> TclWord:
    """A TCL list literal `[list a b c]` of quoted words."""
    words = [tcl_quote(v) for v in values]  # type: ignore[union-attr]
    return TclWord("[list" + "".join(" " + w for w in words) + "]")


# ---- the render gate -----------------------------------------------------------------------------------

# A plain string made of these can end no comment, start no directive and break no string in any target.
_TOKEN = re.compile(r"[A-Za-z0-9_.]*")


def finalize(value: object) -> object:
    """Jinja2 `finalize` of every code-emitting environment: only escaped text, numbers and bare tokens."""
    if isinstance(value, Code):
        return value
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        return value
    if isinstance(value, (float, np.floating)) and math.isfinite(value):
        return value
    if type(value) is str and _TOKEN.fullmatch(value):
        return value
    shown = value.text if isinstance(value, ModelName) else value
    raise PycompressError(f"internal error: {shown!r} reached a template without an escaping filter "
                          "(|cpp_comment, |sv_comment, |tcl, |c_string or a sanitised identifier)")


FILTERS = {"cpp_comment": cpp_comment, "sv_comment": sv_comment, "tcl_comment": tcl_comment, "c_string": c_string,
           "c_ident": c_ident, "tcl": tcl_quote, "tcl_list": tcl_list}
