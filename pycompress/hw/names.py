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

import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pycompress.core.errors import PycompressError
# identifiers are sanitised in core (the ONNX rebuild names modules with them too); re-exported here
from pycompress.core.identifiers import MAX_IDENT, RESERVED, sanitize_identifier, unique_identifiers  # noqa: F401


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
