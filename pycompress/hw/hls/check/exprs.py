"""Expressions of one pipelined iteration: loads and stores with their banks, operators and their latencies,
calls inlined (a mixin of body.Walker)."""
from __future__ import annotations

from pycompress.hw.plan.cost_hls import HLS
from .ctree import Node, ParseError, canon
from .objects import Obj, constant
from .values import Access, Alt, Frame, Val, _join, fold

# operator latencies: the HLS cost table's (the cycle model the allocator uses reads the same table)
BRAM_READ_LATENCY, LUTRAM_READ_LATENCY, FIFO_READ_LATENCY = HLS.bram_read_latency, HLS.lutram_read_latency, \
    HLS.fifo_read_latency
FADD_LATENCY, FCMP_LATENCY, FDIV_LATENCY, FMUL_LATENCY = HLS.fadd_latency, HLS.fcmp_latency, HLS.fdiv_latency, \
    HLS.fmul_latency
IDIV_LATENCY = HLS.idiv_latency
STREAM_METHODS = {"read", "write", "empty", "full", "read_nb", "write_nb"}
PASS_METHODS = {"to_uint64", "to_uint", "to_int", "range", "to_ulong"}


class Expressions:
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
            kind = {"+": "fadd", "-": "fadd", "*": "fmul", "/": "fdiv"}.get(op, "fcmp")
            self.out.ops[kind] += 1
            if op == "/":
                self.out.divisions.append((n.line, "float", None))
            return Val(_join(a, b, add=lat), None, op in ("+", "-", "*", "/"), kind)
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
        lat = (0 if obj.kind == "stream" else FIFO_READ_LATENCY if obj.kind == "maxi"
               else LUTRAM_READ_LATENCY if obj.impl == "lutram" else BRAM_READ_LATENCY)
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
                return Val({"t0": FIFO_READ_LATENCY, **{k: x for v in vals for k, x in v.t.items() if k != "t0"}}, None,
                           obj.is_float)
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
