"""The rule checker for generated HLS: walk the design from its top function, judge every pipelined loop
(rules a, b, c: loops.py) and every DATAFLOW region (rules d, e), and give each module's latency.

Rule d: an m_axi argument reached by more than one process of a DATAFLOW region (each process would
need the one AXI master). Rule e: a DATAFLOW channel (array or stream declared in the region, or a
port of the region) written or read by more than one process, or a channel declared in the region
whose consumer is not the process right after its producer (a bypass). These follow UG1399
("Dataflow Optimization Limitations": single producer, single consumer) and UG1448 (HLS 200-992,
"Dataflow Bypassing Tasks"); where Vitis is more lenient than a rule here, docs/hls.md says so.

Latency model of a module (an estimate): a pipelined nest takes (iterations - 1) x II + depth + 2; a
loop that is not pipelined takes trips x (its body + 1); a DATAFLOW region's interval is its slowest
process and its latency the sum of its processes, except that processes joined by streams overlap.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pycompress.core.errors import PycompressError
from pycompress.core.fileio import read_json_object
from .body import Walker
from .values import Val, loop_range, obj_of, trip_count
from .cparse import Function, Node, ParseError, Program, Stmt, parse
from .loops import LoopReport, Violation, judge, perfect_nest
from .objects import Obj, pragma_args

RULES = {"a": "dependence", "b": "ports and banks", "c": "divider in a pipelined loop", "d": "m_axi in a dataflow region",
         "e": "dataflow channel"}


@dataclass
class Module:
    function: str
    latency: int
    interval: int
    loops: list[LoopReport] = field(default_factory=list)
    dataflow: bool = False
    processes: list[str] = field(default_factory=list)


@dataclass
class CheckReport:
    top: str
    violations: list[Violation]
    loops: list[LoopReport]
    modules: dict[str, Module]

    @property
    def ok(self) -> bool:
        return not self.violations

    def rules_broken(self) -> list[str]:
        return sorted({v.rule for v in self.violations})

    def loop(self, name: str) -> LoopReport:
        """The loop whose `function/label` ends with `name`."""
        found = [l for l in self.loops if l.name == name or l.name.endswith("/" + name) or l.function == name]
        if len(found) != 1:
            raise KeyError(f"{len(found)} loops match {name!r}: {[l.name for l in self.loops]}")
        return found[0]

    def summary(self) -> str:
        lines = [f"{len(self.loops)} pipelined loops, {len(self.violations)} violation(s)"]
        lines += [str(v) for v in self.violations]
        return "\n".join(lines)


class Checker:
    def __init__(self, program: Program) -> None:
        self.program = program
        self.loops: list[LoopReport] = []
        self.violations: list[Violation] = []
        self.modules: dict[str, Module] = {}
        self.statics: dict = {}  # static locals of inlined functions, one object each
        self._usage: dict = {}

    # ---- objects ---------------------------------------------------------------------------------------------
    def bind_top(self, f: Function) -> dict:
        pragmas = [s for s in f.body if s.kind == "pragma"]
        scope = {}
        for p in f.params:
            obj = obj_of(p, f.name, pragmas, self.program)
            if p.ref and obj.kind == "struct":
                obj.kind = "stream"
            scope[p.name] = obj
        return scope

    def bind_call(self, f: Function, args: tuple, scope: dict, line: int) -> dict:
        out = {}
        for p, a in zip(f.params, args):
            base = a
            while base.kind in ("index", "member"):
                base = base.args[0]
            if base.kind == "name" and isinstance(scope.get(base.value), Obj):
                out[p.name] = scope[base.value]
            elif base.kind == "name" and base.value in self.program.globals:
                out[p.name] = obj_of(self.program.globals[base.value], "<global>", [], self.program)
            else:
                out[p.name] = Val({"t0": 0}, a if a.kind == "num" else None)
        return out

    def walker(self, scope: dict):
        def make(consts):
            full = dict(self.statics)
            full.update(scope)
            w = Walker(self.program, full, consts)
            w.scope = _Layered(scope, self.statics)
            return w
        return make

    # ---- modules ---------------------------------------------------------------------------------------------
    def module(self, f: Function, scope: dict) -> Module:
        key = f.name
        if key in self.modules:
            return self.modules[key]
        scope = dict(scope)
        m = Module(f.name, 0, 0, dataflow=any(s.kind == "pragma" and pragma_args(s.text)[0] == "dataflow" for s in f.body))
        self.modules[key] = m
        procs = []
        latency = self.statements(f, f.body, scope, {}, m, procs)
        if m.dataflow:
            self.dataflow_rules(f, scope, procs)
            m.processes = [p[0] for p in procs]
            m.interval = max((p[2] for p in procs), default=0)
            m.latency = _region_latency(procs)
        else:
            m.latency = m.interval = latency
        return m

    def statements(self, f: Function, stmts: list[Stmt], scope: dict, outer: dict, m: Module, procs: list) -> int:
        pending = [s for s in stmts if s.kind == "pragma"]
        total = 0
        for s in stmts:
            if s.kind == "decl":
                d = s.decl
                if d.static and d.init is not None and d.init.kind == "init":
                    scope[d.name] = obj_of(d, f.name, pending, self.program)
                elif d.dims or d.static or "stream" in self.program.resolve(d.type):
                    scope[d.name] = obj_of(d, f.name, pending, self.program)
                else:
                    scope[d.name] = obj_of(d, f.name, pending, self.program)
                    if d.init is not None:
                        total += self.straight([s], scope, outer)
            elif s.kind == "block":
                total += self.statements(f, s.body, scope, outer, m, procs)
            elif s.kind == "for":
                total += self.loop(f, s, scope, outer, m)
            elif s.kind == "expr" and _call_name(s.expr) in self.program.functions and not _inline_helper(self.program, s.expr):
                callee = self.program.functions[_call_name(s.expr)]
                sub = self.module(callee, self.bind_call(callee, s.expr.args[1:], scope, s.line))
                procs.append((callee.name, sub.latency, sub.interval, s.expr.args[1:], scope, s.line))
                total += sub.latency
            elif s.kind in ("expr", "if", "return"):
                total += self.straight([s], scope, outer)
        return total

    def straight(self, stmts: list[Stmt], scope: dict, outer: dict) -> int:
        consts = {v: Val({"t0": 0}, Node("name", value=v)) for v in outer}
        it = self.walker(scope)(consts).run(stmts)
        return it.depth

    def loop(self, f: Function, s: Stmt, scope: dict, outer: dict, m: Module) -> int:
        nest = perfect_nest(s)
        if nest is not None:
            report = judge(f.name, nest, self.walker(scope), outer)
            self.loops.append(report)
            m.loops.append(report)
            self.violations += report.violations
            return report.cycles
        trips = trip_count(s)
        r = loop_range(s)
        if trips is None:
            raise ParseError(f"{f.name}: loop {s.label or s.var} (line {s.line}) has no constant bounds")
        inner = self.statements(f, s.body, scope, {**outer, s.var: r}, m, [])
        return trips * (inner + 1)

    # ---- dataflow --------------------------------------------------------------------------------------------
    def usage(self, f: Function) -> dict[str, set[str]]:
        """Parameter name -> {"r", "w"}: how `f` (and what it calls) uses each parameter."""
        if f.name in self._usage:
            return self._usage[f.name]
        out: dict[str, set[str]] = {p.name: set() for p in f.params}
        self._usage[f.name] = out
        _scan(self.program, f.body, out, self.usage)
        return out

    def dataflow_rules(self, f: Function, scope: dict, procs: list) -> None:
        where = f"{f.name} (DATAFLOW)"
        touch: dict = {}  # object -> list of (process index, mode)
        for k, (name, _, _, args, _, line) in enumerate(procs):
            use = self.usage(self.program.functions[name])
            for p, a in zip(self.program.functions[name].params, args):
                base = a
                while base.kind in ("index", "member"):
                    base = base.args[0]
                obj = scope.get(base.value) if base.kind == "name" else None
                if isinstance(obj, Obj) and obj.kind != "scalar":
                    touch.setdefault(obj, []).append((k, use.get(p.name, set()), line))
        ports = {id(scope[p.name]) for p in f.params if isinstance(scope.get(p.name), Obj)}
        for obj, uses in touch.items():
            procs_of = sorted({k for k, _, _ in uses})
            line = uses[0][2]
            names = ", ".join(procs[k][0] for k in procs_of)
            if obj.kind == "maxi" or obj.interface == "m_axi":
                if len(procs_of) > 1:
                    self.violations.append(Violation("d", where, line, f"m_axi argument {obj.name} is used by "
                                                     f"{len(procs_of)} processes ({names})"))
                continue
            writers = sorted({k for k, mode, _ in uses if "w" in mode})
            readers = sorted({k for k, mode, _ in uses if "r" in mode} - set(writers))  # its writer may read it back
            if len(writers) > 1 or len(readers) > 1:
                self.violations.append(Violation("e", where, line, f"channel {obj.name} has {len(writers)} writer(s) and "
                                                 f"{len(readers)} reader(s) ({names}): one producer, one consumer"))
            elif id(obj) not in ports and writers and readers and readers[0] != writers[0] + 1:
                self.violations.append(Violation("e", where, line, f"channel {obj.name} goes from {procs[writers[0]][0]} to "
                                                 f"{procs[readers[0]][0]}, bypassing the processes between them"))


class _Layered(dict):
    """A function's names over the shared static objects (lookups fall through, new statics are shared)."""

    def __init__(self, scope: dict, statics: dict) -> None:
        super().__init__(scope)
        self.statics = statics

    def __missing__(self, key):
        return self.statics[key]

    def __contains__(self, key) -> bool:
        return dict.__contains__(self, key) or key in self.statics

    def get(self, key, default=None):
        return self[key] if key in self else default

    def setdefault(self, key, value):
        if key in self:
            return self[key]
        self.statics[key] = value
        return value

    def __setitem__(self, key, value) -> None:
        if isinstance(key, tuple):
            self.statics[key] = value
        else:
            dict.__setitem__(self, key, value)


def _call_name(e: Node) -> str | None:
    if e is not None and e.kind == "call" and e.args[0].kind == "name":
        return e.args[0].value
    return None


def _inline_helper(program: Program, e: Node) -> bool:
    """A call whose result is used (an expression) is inlined into its caller's straight code, not a module."""
    return False


def _region_latency(procs: list) -> int:
    total, group = 0, []
    for k, p in enumerate(procs):
        group.append(p[1])
        streams_next = k + 1 < len(procs) and _shares_stream(p, procs[k + 1])
        if not streams_next:
            total += max(group) + 2 * (len(group) - 1)
            group = []
    return total


def _shares_stream(a, b) -> bool:
    def objs(p):
        out = set()
        for arg in p[3]:
            if arg.kind == "name" and isinstance(p[4].get(arg.value), Obj) and p[4][arg.value].kind == "stream":
                out.add(p[4][arg.value])
        return out
    return bool(objs(a) & objs(b))


def _scan(program: Program, stmts, out: dict, usage) -> None:
    def visit(n, mode="r"):
        if not isinstance(n, Node):
            return
        if n.kind == "assign":
            visit(n.args[0], "w")
            visit(n.args[1])
            if n.op != "=":
                visit(n.args[0])
            return
        if n.kind == "call":
            fn = n.args[0]
            if fn.kind == "member" and fn.args[0].kind == "name" and fn.args[0].value in out:
                out[fn.args[0].value].add("w" if fn.value.startswith("write") else "r")
            elif fn.kind == "name" and fn.value in program.functions:
                callee = program.functions[fn.value]
                use = usage(callee)
                for p, a in zip(callee.params, n.args[1:]):
                    base = a
                    while base.kind in ("index", "member"):
                        base = base.args[0]
                    if base.kind == "name" and base.value in out:
                        out[base.value] |= use.get(p.name, set()) or {"r"}
            for a in n.args[1:]:
                visit(a)
            return
        if n.kind in ("index", "member"):
            base = n
            while base.kind in ("index", "member"):
                base = base.args[0]
            if base.kind == "name" and base.value in out:
                out[base.value].add(mode)
            for a in n.args[1:]:
                visit(a)
            visit_base(n)
            return
        if n.kind == "name" and n.value in out and mode == "w":
            out[n.value].add("w")
        for a in n.args:
            visit(a)

    def visit_base(n):
        while n.kind in ("index", "member"):
            if n.kind == "index":
                visit(n.args[1])
            n = n.args[0]

    for s in stmts:
        for e in (s.expr, s.cond, s.start, s.step, s.decl.init if s.decl else None):
            visit(e)
        _scan(program, s.body + s.orelse, out, usage)


def check_source(path: str | Path, top: str) -> CheckReport:
    """Check the design whose top function `top` is defined in `path` (with its includes)."""
    program = parse(path)
    c = Checker(program)
    f = program.function(top)
    c.module(f, c.bind_top(f))
    return CheckReport(top, c.violations, c.loops, c.modules)


def check_project(path: str | Path) -> CheckReport:
    """Check a project written by `pycompress generate`."""
    path = Path(path)
    m = read_json_object(path / "project.json", "manifest")
    try:
        return check_source(path / m["files"]["sources"][0], m["top"])
    except ParseError as exc:
        raise PycompressError(f"{path}: the rule checker cannot read the kernel: {exc}") from None
