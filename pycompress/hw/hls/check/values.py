"""Values and events of one pipelined iteration, and the small helpers the walk uses (folding, bounds, objects)."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from collections import Counter

from .ctree import Decl, Node, Program, Stmt
from .objects import Obj, apply_pragma, constant, pragma_args


@dataclass
class Val:
    """A value: its latency from each source (t0: the iteration's start; ("var", k): a carried variable;
    ("load", obj): a load of an array), its integer expression if known, and whether it is a float."""

    t: dict
    expr: Node | None = None
    is_float: bool = False
    op: str = ""  # the float operator that produced it (fadd, fmul, ...): what a BIND_OP on its variable binds

    @property
    def ready(self) -> int:
        return self.t.get("t0", 0)


def _join(*vals: Val, add: int = 0) -> dict:
    t: dict = {}
    for v in vals:
        for k, x in v.t.items():
            t[k] = max(t.get(k, 0), x + add)
    t.setdefault("t0", add)
    return t


@dataclass
class Access:
    obj: Obj
    kind: str  # r / w
    index: list  # substituted index Nodes ([] for streams)
    guards: tuple  # substituted conditions under which it happens
    line: int


@dataclass
class Alt:
    """Accesses of two mutually exclusive arms."""

    a: list
    b: list


@dataclass
class Iteration:
    events: list = field(default_factory=list)  # Access and Alt
    ops: Counter = field(default_factory=Counter)
    depth: int = 0
    recurrences: dict = field(default_factory=dict)  # carried key -> cycles from its read to its write
    chains: dict = field(default_factory=dict)  # Obj -> cycles from its load to its store
    divisions: list = field(default_factory=list)  # (line, text of the divisor, divisor constant or None)
    pragmas: list = field(default_factory=list)  # (pragma text, line) met inside the body


def fold(n: Node) -> Node:
    """Constant folding and the identities x+0, x-0, x*1, x*0, x<<0 (so that equal addresses compare equal)."""
    if n.kind == "cast":
        return n.args[0]
    if n.kind != "bin":
        return n
    a, b = n.args
    ca, cb = constant(a), constant(b)
    if ca is not None and cb is not None and n.op not in ("/", "%"):
        v = constant(n)
        if v is not None:
            return Node("num", value=v)
    if cb == 0 and n.op in ("+", "-", "<<", ">>", "|", "^"):
        return a
    if ca == 0 and n.op in ("+", "|", "^"):
        return b
    if (cb == 1 and n.op in ("*", "/")) or (ca == 1 and n.op == "*"):
        return a if cb == 1 else b
    if (ca == 0 or cb == 0) and n.op in ("*", "&"):
        return Node("num", value=0)
    return n


def _is_struct(type_text: str) -> bool:
    return type_text.split()[-1] not in ("float", "int", "unsigned", "long", "bool", "char", "short", "double")


def _obj_of(d: Decl, owner: str, pending: list[Stmt], program: Program | None = None) -> Obj:
    dims = tuple(constant(x) or 0 for x in d.dims)
    t = program.resolve(d.type) if program is not None else d.type
    kind = "stream" if "stream" in t else "maxi" if d.pointer else "array" if dims else \
        "struct" if _is_struct(t) else "scalar"
    obj = Obj(d.name, kind, dims, t, owner, is_float="float" in t.split(), const=d.const)
    for s in pending:
        name, kv, flags = pragma_args(s.text)
        if kv.get("variable") == d.name or kv.get("port") == d.name:
            apply_pragma(obj, name, kv, flags)
    return obj


def _bounds(s: Stmt) -> tuple[int | None, int, int]:
    """(first, stop, step) of `for (int v = a; v < b; v++)` and its reverse forms, or (None, ..)."""
    first = constant(s.start)
    c, step = s.cond, s.step
    if first is None or c.kind != "bin" or c.args[0].kind != "name" or c.args[0].value != s.var:
        return None, 0, 0
    bound = constant(c.args[1])
    inc = 1 if step.op == "++" else -1 if step.op == "--" else None
    if step.kind == "assign" and step.op in ("+=", "-="):
        inc = constant(step.args[1]) * (1 if step.op == "+=" else -1)
    if bound is None or inc is None:
        return None, 0, 0
    stop = {"<": bound, "<=": bound + 1, ">": bound, ">=": bound - 1}.get(c.op)
    if stop is None:
        return None, 0, 0
    return first, stop, inc


def trip_count(s: Stmt) -> int | None:
    first, stop, step = _bounds(s)
    return None if first is None else len(range(first, stop, step))


def loop_range(s: Stmt) -> range | None:
    first, stop, step = _bounds(s)
    return None if first is None else range(first, stop, step)


def obj_of(d: Decl, owner: str, pending: list[Stmt], program: Program | None = None) -> Obj:
    return _obj_of(d, owner, pending, program)


def ceil_div(a: int, b: int) -> int:
    return math.ceil(a / b)


class Frame:
    def __init__(self, names: dict) -> None:
        self.names = names  # name -> Obj | Val
