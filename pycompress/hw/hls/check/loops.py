"""One pipelined loop nest judged: the II its ports and dependences allow, its depth, and rules a, b and c.

Rule a (dependences): a DEPENDENCE pragma that says `false` for inter-iteration accesses of an array
the loop writes; a distance longer than the true one (found by enumerating the flattened iteration
space); or a carried dependence whose distance x II is shorter than the loop's pipeline depth (for an
array with a DEPENDENCE pragma) or shorter than its recurrence (a scalar carried to the next iteration).
Rule b (ports): an array bank, stream or m_axi port accessed more often in one iteration than its ports
serve in II cycles; an index whose bank is not a compile-time constant is counted on every bank it can
reach (that is how Vitis builds it: the load goes to every bank and a multiplexer picks one).
Rule c (dividers): `/` or `%` by anything but a constant power of two, or a float division.
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from pycompress.hw.plan.cost_hls import HLS
from .body import Walker
from .values import Access, Alt, Iteration, Val
from .ctree import Node, Stmt
from .objects import Obj, Unknown, constant, cycles_for, evaluate, pragma_args, reachable

DISTANCE_LIMIT = 1 << 24  # iterations x accesses enumerated to find a dependence distance


@dataclass(frozen=True)
class Violation:
    rule: str  # a b c d e
    where: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"rule {self.rule}: {self.where} (line {self.line}): {self.message}"


@dataclass
class LoopReport:
    function: str
    label: str
    line: int
    trips: tuple[int, ...]
    ii_pragma: int
    ii: int  # what the schedule reaches: the pragma's II or more when ports or dependences force it
    ii_ports: int
    ii_dependence: int
    depth: int
    ops: dict = field(default_factory=dict)
    muxes: list = field(default_factory=list)  # (array, banks it selects from, bits)
    distances: dict = field(default_factory=dict)  # array -> true RAW distance (None: none carried)
    violations: list = field(default_factory=list)

    @property
    def iterations(self) -> int:
        return math.prod(self.trips)

    @property
    def cycles(self) -> int:
        return (self.iterations - 1) * self.ii + self.depth + HLS.loop_overhead

    @property
    def name(self) -> str:
        return f"{self.function}/{self.label or 'loop@' + str(self.line)}"


def perfect_nest(loop: Stmt) -> list[Stmt] | None:
    """The loops from `loop` down to a pipelined one, when each holds only the next (Vitis flattens them)."""
    nest = [loop]
    while True:
        body = [s for s in nest[-1].body if s.kind != "pragma"]
        if any(s.kind == "pragma" and pragma_args(s.text)[0] == "pipeline" for s in nest[-1].body):
            return nest
        if len(body) != 1 or body[0].kind != "for":
            return None
        nest.append(body[0])


def _pipeline_ii(loop: Stmt) -> int:
    for s in loop.body:
        if s.kind == "pragma":
            name, kv, flags = pragma_args(s.text)
            if name == "pipeline":
                return int(kv.get("ii", 1))
    return 1


def _counts(events: list, ranges: dict, muxes: dict) -> Counter:
    """(object, bank, kind) -> accesses in the worst arm of every alternative."""
    c: Counter = Counter()
    for e in events:
        if isinstance(e, Alt):
            a, b = _counts(e.a, ranges, muxes), _counts(e.b, ranges, muxes)
            for k in set(a) | set(b):
                c[k] += max(a[k], b[k])
            continue
        obj = e.obj
        if obj.kind != "array":
            c[(obj, 0, e.kind)] += 1
            continue
        bank, _ = obj.bank_and_address(e.index) if e.index else (None, [])
        banks = {0} if bank is None else (reachable(bank, ranges) if "?" not in repr(bank) else None)
        if banks is None:
            banks = set(range(obj.banks))
        banks &= set(range(obj.banks))
        if len(banks) > 1 and e.kind == "r":
            muxes[obj] = max(muxes.get(obj, 0), len(banks))
        for b in banks:
            c[(obj, b, e.kind)] += 1
    return c


def _flat_accesses(events: list) -> list[Access]:
    out = []
    for e in events:
        if isinstance(e, Alt):
            out += _flat_accesses(e.a) + _flat_accesses(e.b)
        else:
            out.append(e)
    return out


def raw_distance(obj: Obj, accesses: list[Access], nest_vars: list[tuple[str, range]]) -> int | None | str:
    """The shortest distance, in flattened iterations, from a write of an element to a later read of it;
    None when no element is read after being written; "unknown" when it cannot be enumerated."""
    mine = [a for a in accesses if a.obj is obj]
    n = math.prod(len(r) for _, r in nest_vars)
    if n * len(mine) > DISTANCE_LIMIT:
        return "unknown"
    grids = np.meshgrid(*[np.asarray(r, np.int64) for _, r in nest_vars], indexing="ij")
    env = {v: g.reshape(-1) for (v, _), g in zip(nest_vars, grids)}
    t = np.arange(n, dtype=np.int64)
    keys, times, kinds = [], [], []
    for a in mine:
        try:
            idx = [np.broadcast_to(np.asarray(evaluate(i, env), np.int64), (n,)) for i in a.index]
            mask = np.ones(n, bool)
            for g in a.guards:
                try:
                    mask &= np.broadcast_to(np.asarray(evaluate(g, env), bool), (n,))
                except Unknown:
                    pass
        except Unknown:
            return "unknown"
        key = np.zeros(n, np.int64)
        for d, i in zip(obj.dims, idx):
            key = key * max(d, 1) + np.clip(i, 0, max(d, 1) - 1)
        keys.append(key[mask])
        times.append(t[mask])
        kinds.append(np.full(int(mask.sum()), 1 if a.kind == "w" else 0, np.int64))
    key, time, kind = np.concatenate(keys), np.concatenate(times), np.concatenate(kinds)
    if not kind.any() or kind.all():
        return None
    order = np.lexsort((kind, time, key))
    key, time, kind = key[order], time[order], kind[order]
    big = n + 1
    marked = np.where(kind == 1, key * big + time, key * big - 1)
    last = np.maximum.accumulate(marked)
    has = (kind == 0) & (last >= key * big)
    if not has.any():
        return None
    d = time[has] - (last[has] - key[has] * big)
    d = d[d > 0]
    return int(d.min()) if d.size else None


def judge(function: str, nest: list[Stmt], walker_factory, outer: dict[str, range]) -> LoopReport:
    """Analyse the flattened nest `nest` (outermost first) of `function`."""
    loop = nest[-1]
    from .values import loop_range

    nest_vars = [(s.var, loop_range(s)) for s in nest]
    if any(r is None for _, r in nest_vars):
        raise ValueError(f"{function}: loop {loop.label} has no constant bounds")
    consts = {v: Val({"t0": 0}, Node("name", value=v)) for v, _ in nest_vars}
    consts.update({v: Val({"t0": 0}, Node("name", value=v)) for v in outer})
    w: Walker = walker_factory(consts)
    it: Iteration = w.run(loop.body)
    where = f"{function}/{loop.label or 'loop'}"
    ii_pragma = _pipeline_ii(loop)
    ranges = {**outer, **dict(nest_vars)}
    muxes: dict = {}
    counts = _counts(it.events, ranges, muxes)
    violations = []
    ii_ports = 1
    per_bank: dict = {}
    for (obj, bank, kind), k in counts.items():
        r, wr = per_bank.get((obj, bank), (0, 0))
        per_bank[(obj, bank)] = (r + k, wr) if kind == "r" else (r, wr + k)
    for (obj, bank), (r, wr) in sorted(per_bank.items(), key=lambda x: (x[0][0].name, x[0][1])):
        need = cycles_for(obj.ports(), r, wr)
        if need > ii_ports:
            ii_ports = need
        if need > ii_pragma:
            violations.append(Violation("b", where, loop.line, f"{obj.name} bank {bank} ({obj.ports()}) takes {r} read(s) "
                                        f"and {wr} write(s) per iteration: needs II {need}, the pragma says {ii_pragma}"))
    accesses = _flat_accesses(it.events)
    depth = max(it.depth, 1) + (HLS.ddr_read_latency if any(a.obj.kind == "maxi" for a in accesses) else 0)
    written = {a.obj for a in accesses if a.kind == "w"}
    read = {a.obj for a in accesses if a.kind == "r"}
    distances = {}
    for obj in sorted(written & read, key=lambda o: o.name):
        if obj.kind == "array":
            distances[obj] = raw_distance(obj, accesses, nest_vars)
    ii_dep = 1
    declared = {}
    for text, line, obj in it.pragmas:
        name, kv, flags = pragma_args(text)
        if name != "dependence":
            continue
        var = kv.get("variable")
        inter = kv.get("type", "inter" if "intra" not in flags else "intra") == "inter"
        dependent = kv.get("dependent", "true" if "true" in flags else "false" if "false" in flags else "true") == "true"
        dist = int(kv["distance"]) if "distance" in kv else None
        if obj is None or not inter:
            continue
        declared[obj] = True
        true_d = distances.get(obj)
        if not dependent:
            if obj in written:
                violations.append(Violation("a", where, line, f"DEPENDENCE variable={var} inter false, but the loop writes "
                                            f"{var} (true distance {true_d}): Vitis may read a stale value"))
            continue
        dist = dist or 1
        if isinstance(true_d, int) and dist > true_d:
            violations.append(Violation("a", where, line, f"DEPENDENCE variable={var} says distance {dist}, the accesses "
                                        f"recur after {true_d} iterations"))
        if dist * ii_pragma < depth:
            violations.append(Violation("a", where, line, f"DEPENDENCE variable={var} distance {dist} x II {ii_pragma} is "
                                        f"shorter than the loop's pipeline depth {depth}"))
        ii_dep = max(ii_dep, math.ceil(depth / dist))
    for obj, d in distances.items():
        if obj not in declared and d is not None:  # Vitis's own analysis: assume the next iteration may need it
            ii_dep = max(ii_dep, it.chains.get(obj, depth) if d == "unknown" else math.ceil(it.chains.get(obj, depth) / d))
    for key, chain in it.recurrences.items():
        if chain > ii_pragma:
            obj = key[0]
            violations.append(Violation("a", where, loop.line, f"{obj.name} is carried to the next iteration through "
                                        f"{chain} cycles of operators: II {ii_pragma} cannot hold"))
        ii_dep = max(ii_dep, chain)
    for line, op, d in it.divisions:
        if op == "float" or d is None or d <= 0 or d & (d - 1):
            what = "a float division" if op == "float" else f"'{op}' by {'a variable' if d is None else d}"
            violations.append(Violation("c", where, line, f"{what} inside a pipelined loop (a divider core)"))
    ops = dict(it.ops)
    return LoopReport(function, loop.label, loop.line, tuple(len(r) for _, r in nest_vars), ii_pragma,
                      max(ii_pragma, ii_ports, ii_dep), ii_ports, ii_dep, depth, ops,
                      [(o.name, b, o.bits) for o, b in muxes.items()],
                      {o.name: d for o, d in distances.items()}, violations)


def constant_or(node: Node, default: int) -> int:
    v = constant(node)
    return default if v is None else v
