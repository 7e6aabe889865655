"""One iteration of a pipelined loop as Vitis builds it: inner loops unrolled, calls inlined, every access listed.

The walk gives, for one iteration: every array / stream / m_axi access with its (substituted)
index and guard, grouped so that the two arms of an `if`/`?:` are alternatives; the operators
(float multiply, add, compare, divide; integer dividers; variable shifts); and a latency for
every value, as the longest chain of operator latencies from the start of the iteration, from a
carried variable, or from a load of an array. That gives the pipeline depth, the recurrence of
every scalar carried from one iteration to the next, and the chain from each array's load to its
store. Operator latencies are the cost table's (pycompress/hw/hls/schedule.py).
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

from ..schedule import BRAM_READ_LATENCY, FADD_LATENCY, FCMP_LATENCY, FDIV_LATENCY, FMUL_LATENCY
from .cparse import Decl, Node, ParseError, Program, Stmt, canon
from .objects import Obj, apply_pragma, constant, pragma_args

IDIV_LATENCY = 36  # a 32-bit integer divider core
STREAM_METHODS = {"read", "write", "empty", "full", "read_nb", "write_nb"}
PASS_METHODS = {"to_uint64", "to_uint", "to_int", "range", "to_ulong"}


@dataclass
class Val:
    """A value: its latency from each source (t0: the iteration's start; ("var", k): a carried variable;
    ("load", obj): a load of an array), its integer expression if known, and whether it is a float."""

    t: dict
    expr: Node | None = None
    is_float: bool = False

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


class Frame:
    def __init__(self, names: dict) -> None:
        self.names = names  # name -> Obj | Val


class Walker:
    """Walks statements of one pipelined iteration. `scope` resolves names outside the body (function
    locals declared before the loop, parameters bound to the caller's objects, globals)."""

    def __init__(self, program: Program, scope: dict, consts: dict[str, Val]) -> None:
        self.program = program
        self.frames = [Frame(dict(consts)), Frame({})]
        self.scope = scope
        self.state: dict = {}  # carried key -> Val assigned in this iteration
        self.local: set = set()  # objects declared inside the iteration
        self.guards: list[Node] = []
        self.out = Iteration()
        self.sink = self.out.events
        self.returns: list[Val] = []
        self.depth_inline = 0
        self.loaded: set = set()

    # ---- names ---------------------------------------------------------------------------------------------
    def lookup(self, name: str):
        for f in reversed(self.frames):
            if name in f.names:
                return f.names[name]
        if name in self.scope:
            return self.scope[name]
        g = self.program.globals.get(name)
        if g is not None:
            obj = self.scope.setdefault(name, _obj_of(g, "<global>", [], self.program))
            return obj
        raise ParseError(f"line {self._line}: unknown name {name!r}")

    def subst(self, node: Node) -> Node:
        """`node` with locals replaced by their known integer expressions ("?" where unknown)."""
        if node.kind == "name":
            b = self.lookup_soft(node.value)
            if isinstance(b, Val):
                return b.expr if b.expr is not None else Node("name", value="?" + node.value)
            return Node("name", value="?" + node.value)
        if node.kind in ("num",):
            return node
        if node.kind in ("bin", "un", "tern", "cast"):
            return fold(Node(node.kind, node.op, tuple(self.subst(a) for a in node.args), node.value, node.line))
        return Node("name", value="?expr")

    def lookup_soft(self, name: str):
        try:
            return self.lookup(name)
        except ParseError:
            return None

    # ---- statements ----------------------------------------------------------------------------------------
    def run(self, stmts: list[Stmt]) -> Iteration:
        self.block(stmts)
        return self.out

    def block(self, stmts: list[Stmt]) -> None:
        pending = [s for s in stmts if s.kind == "pragma"]
        for s in stmts:
            self._line = s.line
            self.statement(s, pending)

    def statement(self, s: Stmt, pending: list[Stmt]) -> None:
        k = s.kind
        if k == "pragma":
            name, kv, flags = pragma_args(s.text)
            target = kv.get("variable")
            self.out.pragmas.append((s.text, s.line, self.lookup_soft(target) if target else None))
            if target and name in ("array_partition", "bind_storage", "stream"):
                obj = self.lookup(target)
                if isinstance(obj, Obj) and obj in self.local:
                    apply_pragma(obj, name, kv, flags)
            return
        if k == "block":
            self.frames.append(Frame({}))
            self.block(s.body)
            self.frames.pop()
        elif k == "decl":
            self.declare(s.decl, pending)
        elif k == "expr":
            self.expr(s.expr)
        elif k == "if":
            self.branch(s)
        elif k == "for":
            self.unroll(s)
        elif k == "return":
            self.returns.append(self.expr(s.expr) if s.expr is not None else Val({"t0": 0}))

    def declare(self, d: Decl, pending: list[Stmt]) -> None:
        resolved = self.program.resolve(d.type)
        if d.static:  # a static local of an inlined function: one object, kept across calls and iterations
            fn = next((f.names["__fn__"] for f in reversed(self.frames) if "__fn__" in f.names), None)
            key = (fn, d.name)
            obj = self.scope.get(key)
            if obj is None:
                obj = self.scope[key] = _obj_of(d, str(fn), pending, self.program)
            self.frames[-1].names[d.name] = obj
            return
        if d.dims or "stream" in resolved or (d.init is None and _is_struct(resolved)):
            obj = _obj_of(d, "<iteration>", pending, self.program)
            self.local.add(obj)
            self.frames[-1].names[d.name] = obj
            return
        v = self.expr(d.init) if d.init is not None and d.init.kind != "init" else Val({"t0": 0})
        self.frames[-1].names[d.name] = Val(dict(v.t), v.expr, v.is_float or "float" in d.type.split())

    def branch(self, s: Stmt) -> None:
        c = self.expr(s.cond)
        cond = self.subst(s.cond)
        known = constant(cond)
        if known is not None:  # a condition fixed by unrolling: only the arm taken exists in hardware
            self.frames.append(Frame({}))
            self.block(s.body if known else s.orelse)
            self.frames.pop()
            return
        saved = dict(self.state)
        arms = []
        for body, g in ((s.body, cond), (s.orelse, Node("un", "!", (cond,)))):
            self.state = dict(saved)
            sink, self.sink = self.sink, []
            self.guards.append(g)
            self.frames.append(Frame({}))
            self.block(body)
            self.frames.pop()
            self.guards.pop()
            arms.append((self.sink, self.state))
            self.sink = sink
        (ea, sa), (eb, sb) = arms
        if s.orelse:
            self.sink.append(Alt(ea, eb))
        else:
            self.sink.extend(ea)
        self.state = dict(saved)
        for key in set(sa) | set(sb):  # a variable set in an arm: ready when the later arm is, value unknown
            before = saved[key] if key in saved else self.carried(key, key[0])  # what the other arm keeps
            vals = [x[key] if key in x else before for x in (sa, sb)]
            self.state[key] = Val(_join(c, *vals), None, any(v.is_float for v in vals))

    def unroll(self, s: Stmt) -> None:
        first, last, step = _bounds(s)
        if first is None:
            raise ParseError(f"line {s.line}: loop {s.label or s.var} inside a pipelined loop has no constant bounds")
        for v in range(first, last, step):
            self.frames.append(Frame({s.var: Val({"t0": 0}, Node("num", value=v))}))
            self.block(s.body)
            self.frames.pop()

    # ---- expressions ---------------------------------------------------------------------------------------
    def expr(self, n: Node) -> Val:
        k = n.kind
        if k == "num":
            return Val({"t0": 0}, n, isinstance(n.value, float))
        if k == "str":
            return Val({"t0": 0})
        if k == "name":
            return self.read_name(n)
        if k == "index" or k == "member":
            return self.load(n)
        if k == "cast":
            v = self.expr(n.args[0])
            is_float = "float" in n.value.split()
            return Val(v.t, None if is_float else v.expr, is_float or (v.is_float and n.value in ("", "auto")))
        if k == "call":
            return self.call(n)
        if k == "assign":
            return self.assign(n)
        if k in ("post", "un") and n.op in ("++", "--"):
            target = n.args[0]
            v = self.expr(target)
            self.store(target, Val(_join(v), None, v.is_float))
            return v
        if k == "un":
            v = self.expr(n.args[0])
            return Val(v.t, None if v.is_float else Node("un", n.op, (v.expr,)) if v.expr is not None else None,
                       v.is_float and n.op in ("-", "+"))
        if k == "tern":
            c = self.expr(n.args[0])
            sink, arms = self.sink, []
            for arm in n.args[1:]:
                self.sink = []
                arms.append((self.expr(arm), self.sink))
            self.sink = sink
            (a, ea), (b, eb) = arms
            if ea or eb:
                self.sink.append(Alt(ea, eb))
            expr = None if a.expr is None or b.expr is None or c.expr is None else Node("tern", "?", (c.expr, a.expr, b.expr))
            return Val(_join(c, a, b), expr, a.is_float or b.is_float)
        if k == "bin":
            return self.binary(n)
        raise ParseError(f"line {n.line}: cannot analyse a {k} expression")

    def binary(self, n: Node) -> Val:
        a, b = self.expr(n.args[0]), self.expr(n.args[1])
        op, fl = n.op, a.is_float or b.is_float
        if fl:
            lat = {"+": FADD_LATENCY, "-": FADD_LATENCY, "*": FMUL_LATENCY, "/": FDIV_LATENCY}.get(op, FCMP_LATENCY)
            self.out.ops[{"+": "fadd", "-": "fadd", "*": "fmul", "/": "fdiv"}.get(op, "fcmp")] += 1
            if op == "/":
                self.out.divisions.append((n.line, "float", None))
            return Val(_join(a, b, add=lat), None, op in "+-*/")
        expr = None if a.expr is None or b.expr is None else fold(Node("bin", op, (a.expr, b.expr)))
        lat = 0
        if op in ("/", "%"):
            d = constant(b.expr) if b.expr is not None else None
            self.out.divisions.append((n.line, op, d))
            if d is None or d <= 0 or d & (d - 1):
                self.out.ops["idiv"] += 1
                lat = IDIV_LATENCY
        elif op in ("<<", ">>") and (b.expr is None or constant(b.expr) is None):
            self.out.ops["shifter"] += 1
        elif op == "*" and (a.expr is None or constant(a.expr) is None) and (b.expr is None or constant(b.expr) is None):
            self.out.ops["imul"] += 1
            lat = 1
        return Val(_join(a, b, add=lat), expr, False)

    def read_name(self, n: Node) -> Val:
        b = self.lookup(n.value)
        if isinstance(b, Val):
            return b
        if b.kind in ("array", "maxi", "stream"):
            return Val({"t0": 0})  # an array passed on whole (to an inlined call)
        return self.carried((b, ()), b)

    def carried(self, key, obj: Obj) -> Val:
        if key in self.state:
            return self.state[key]
        if obj in self.local:
            return Val({"t0": 0}, None, obj.is_float)
        return Val({"t0": 0, ("var", key): 0}, None, obj.is_float)

    def _target(self, n: Node):
        """(object, index Nodes) of an lvalue / load."""
        idx = []
        while n.kind in ("index", "member"):
            if n.kind == "index":
                idx.insert(0, n.args[1])
            n = n.args[0]
        if n.kind != "name":
            raise ParseError(f"line {n.line}: cannot analyse an access through a {n.kind}")
        b = self.lookup(n.value)
        if isinstance(b, Val):
            raise ParseError(f"line {n.line}: {n.value} is not an array")
        return b, idx

    def load(self, n: Node) -> Val:
        base = n
        while base.kind in ("index", "member"):
            base = base.args[0]
        if base.kind == "name" and isinstance(self.lookup(base.value), Val):  # a member of a local value
            return self.lookup(base.value)
        obj, idx = self._target(n)
        vals = [self.expr(i) for i in idx]
        if obj.kind == "scalar" or obj.registers or obj.kind == "struct":
            key = (obj, tuple(constant(self.subst(i)) for i in idx))
            v = self.carried(key if None not in key[1] else (obj, ()), obj)
            return Val(_join(v, *vals), None, obj.is_float)
        lat = 0 if obj.kind == "stream" else (1 if obj.kind == "maxi" or obj.impl == "lutram" else BRAM_READ_LATENCY)
        self.record(obj, "r", idx, n.line)
        t = _join(*vals, add=lat) if vals else {"t0": lat}
        t[("load", obj)] = lat
        return Val(t, None, obj.is_float)

    def record(self, obj: Obj, kind: str, idx: list, line: int) -> None:
        a = Access(obj, kind, [self.subst(i) for i in idx], tuple(self.guards), line)
        if kind == "r" and obj.kind == "array":  # the same load twice in one iteration is one load (Vitis shares it)
            key = (id(obj), tuple(map(canon, a.index)), tuple(map(canon, a.guards)))
            if key in self.loaded:
                return
            self.loaded.add(key)
        self.sink.append(a)

    def store(self, target: Node, v: Val) -> None:
        if target.kind == "name":
            b = self.lookup(target.value)
            if isinstance(b, Val):  # a local scalar (re)assigned
                for f in reversed(self.frames):
                    if target.value in f.names:
                        f.names[target.value] = Val(dict(v.t), v.expr if not self.guards else None, v.is_float)
                        break
                return
            key = (b, ())
        else:
            b, idx = self._target(target)
            for i in idx:
                v = Val(_join(v, self.expr(i)), v.expr, v.is_float)
            if not (b.kind in ("scalar", "struct") or b.registers):
                self.record(b, "w", idx, target.line)
                chain = v.t.get(("load", b))
                if chain is not None:
                    self.out.chains[b] = max(self.out.chains.get(b, 0), chain + 1)
                self.out.depth = max(self.out.depth, v.ready + 1)
                return
            key = (b, tuple(constant(self.subst(i)) for i in idx))
            if None in key[1]:
                key = (b, ())
        chain = v.t.get(("var", key))
        if chain is not None and b not in self.local:
            self.out.recurrences[key] = max(self.out.recurrences.get(key, 0), chain)
        if target.kind == "member" and key in self.state:  # one field of a struct: the struct is ready when all are
            v = Val(_join(self.state[key], v), None, v.is_float)
        self.state[key] = Val({k: x for k, x in v.t.items()}, None, v.is_float)
        self.out.depth = max(self.out.depth, v.ready)

    def assign(self, n: Node) -> Val:
        target, value = n.args
        v = self.expr(value)
        if n.op != "=":
            old = self.expr(target)
            v = self.binary(Node("bin", n.op[:-1], (target, value), line=n.line)) if old is not None else v
        self.store(target, v)
        return v

    def call(self, n: Node) -> Val:
        fn = n.args[0]
        args = n.args[1:]
        if fn.kind == "member":
            base, method = fn.args[0], fn.value
            if method in PASS_METHODS:
                return self.expr(base)
            obj, _ = self._target(base)
            if obj.kind != "stream" or method not in STREAM_METHODS:
                raise ParseError(f"line {n.line}: unknown method {method!r}")
            vals = [self.expr(a) for a in args]
            if method in ("read", "read_nb"):
                self.record(obj, "r", [], n.line)
                return Val({"t0": 1, **{k: x for v in vals for k, x in v.t.items() if k != "t0"}}, None, obj.is_float)
            if method in ("write", "write_nb"):
                self.record(obj, "w", [], n.line)
                self.out.depth = max(self.out.depth, max((v.ready for v in vals), default=0) + 1)
            return Val(_join(*vals))
        if fn.kind != "name" or fn.value not in self.program.functions:
            raise ParseError(f"line {n.line}: call to {getattr(fn, 'value', fn.kind)!r}, which is not defined in the project")
        return self.inline(self.program.functions[fn.value], args, n.line)

    def inline(self, f, args: tuple, line: int) -> Val:
        if self.depth_inline > 32:
            raise ParseError(f"line {line}: recursion through {f.name}")
        names: dict = {"__fn__": f.name}
        for p, a in zip(f.params, args):
            if p.dims or p.pointer or "stream" in self.program.resolve(p.type) or p.ref:
                obj, _ = self._target(a) if a.kind in ("name", "index", "member") else (None, None)
                if obj is None:
                    raise ParseError(f"line {line}: argument {p.name} of {f.name} must name a variable")
                names[p.name] = obj
            else:
                names[p.name] = self.expr(a)
        saved_frames, saved_returns = self.frames, self.returns
        self.frames, self.returns = self.frames[:1] + [Frame(names)], []
        self.depth_inline += 1
        self.block(f.body)
        self.depth_inline -= 1
        rets = self.returns
        self.frames, self.returns = saved_frames, saved_returns
        is_float = "float" in f.type.split()
        if not rets:
            return Val({"t0": 0}, None, is_float)
        expr = rets[0].expr if len(rets) == 1 else None
        return Val(_join(*rets), expr, is_float)


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
