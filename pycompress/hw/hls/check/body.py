"""One iteration of a pipelined loop as Vitis builds it: inner loops unrolled, calls inlined, every access listed.

The walk gives, for one iteration: every array / stream / m_axi access with its (substituted)
index and guard, grouped so that the two arms of an `if`/`?:` are alternatives; the operators
(float multiply, add, compare, divide; integer dividers; variable shifts); and a latency for
every value, as the longest chain of operator latencies from the start of the iteration, from a
carried variable, or from a load of an array. That gives the pipeline depth, the recurrence of
every scalar carried from one iteration to the next, and the chain from each array's load to its
store. Operator latencies are the HLS cost table's (pycompress/hw/plan/cost_hls.py).
"""
from __future__ import annotations

from .ctree import Decl, Node, ParseError, Program, Stmt
from .exprs import Expressions
from .objects import Obj, apply_pragma, constant, pragma_args
from .values import Alt, Frame, Iteration, Val, _bounds, _is_struct, _join, _obj_of, fold


class Walker(Expressions):
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
            if target and name == "bind_op":  # the operator that produced the variable, on the core it names
                v = self.lookup(target)
                op = kv.get("op", "").lower()
                if isinstance(v, Val) and v.op == op and self.out.ops[op] > 0:
                    self.out.ops[op] -= 1
                    self.out.ops[f"{op}:{kv.get('impl', '').lower()}"] += 1
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
        self.frames[-1].names[d.name] = Val(dict(v.t), v.expr, v.is_float or "float" in d.type.split(), v.op)

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
