"""Identifiers from names that came from a model file: safe in C, C++, SystemVerilog, TCL and as file
and Python attribute names, distinct after sanitising, and never a keyword or one of the generators'
own prefixes. The hardware writers (hw/names.py) and the ONNX rebuild both name things through here.
"""
from __future__ import annotations

import hashlib
import re
from typing import Iterable

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
