"""The one lane allocator: lanes per MAC layer (P outputs per cycle), user-fixed or grown within a budget.

Both back ends call `allocate` with their layers, the lane counts each accepts,
a function that costs a whole design for a choice of lanes (their cost model),
the board's budget and their objective (budget.Objective, named in their cost
table). The search is greedy, from one lane everywhere, one step at a time:
"best_ratio" takes the step that saves the most cycles per share of the budget it
spends (FINN's folding, hls4ml's reuse factor), "slowest_first" gives the slowest
layer its next lane count. "throughput" is not a stepping rule: it finds the shortest
interval the budget allows (for a candidate interval, every free layer takes its
cheapest lane count that meets it; bisection over the candidates), then spends what
is left on the latency, best ratio first, never lengthening the interval. Its design
cost gives `cycles` = the interval and `key` = (interval, latency).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, Sequence

from pycompress.core.errors import PycompressError
from .budget import Budget, Objective


@dataclass(frozen=True)
class Candidate:
    """A MAC layer the allocator may give lanes: its key in the lanes map, model name and accepted lane choices
    (lane counts, or any choice with a `units` size, e.g. the HLS back end's channel x pixel lanes)."""

    key: str
    name: str
    options: tuple


def size(option) -> int:
    """How much a lane choice computes per cycle (what "more lanes" means)."""
    return getattr(option, "units", option)


@dataclass(frozen=True)
class Design:
    """What the allocator needs of a costed design: total cycles, cycles per candidate key, and resources."""

    cycles: int
    layer_cycles: Mapping[str, int]
    lut: int
    ff: int
    dsp: int
    bram18k: int
    key: tuple = ()  # "throughput": compared lexicographically, smaller is better (default: (cycles,))

    @property
    def rank(self) -> tuple:
        return self.key or (self.cycles,)


@dataclass(frozen=True)
class Allocation:
    lanes: dict  # candidate key -> lanes (the candidate's option)
    notes: tuple[str, ...] = ()  # why it stopped short of the objective's target


def lane_choice(value) -> int | tuple[int, int] | None:
    """An integer lane count, or channel x pixel lanes ("6x2" or [6, 2]); None when neither."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, tuple):
        value = list(value)
    if isinstance(value, list) and len(value) == 2 and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        return (value[0], value[1])
    if isinstance(value, str):
        p, x, q = value.strip().partition("x")
        if p.isdigit() and (not x or q.isdigit()):
            return (int(p), int(q)) if x else int(p)
    return None


def parse_parallel(spec: str | None) -> dict:
    """`conv1=6x2,fc1=8` (lanes, or channel x pixel lanes where the back end has pixel lanes), or the path of a JSON
    object {"conv1": [6, 2], "fc1": 8}: model layer name -> lanes."""
    if not spec:
        return {}
    path = Path(spec)
    if spec.endswith(".json") or path.exists():  # a FIFO or device is refused unread (read_json_object)
        from pycompress.core.fileio import read_json_object

        data = read_json_object(path, "--parallel file", limit=1 << 20)
        if not isinstance(data, dict) or not all(lane_choice(v) is not None for v in data.values()):
            raise PycompressError(f"--parallel {spec}: expected a JSON object of layer name -> lanes (an integer or "
                                  "[channel lanes, pixel lanes])")
        return {str(k): lane_choice(v) for k, v in data.items()}
    out: dict = {}
    for item in spec.split(","):
        name, sep, value = item.strip().rpartition("=")
        choice = lane_choice(value)
        if not sep or not name or choice is None:
            raise PycompressError(f"--parallel: expected layer=lanes[xpixels][,layer=...], got {item.strip()!r}")
        out[name.strip()] = choice
    return out


def allocate(candidates: Sequence[Candidate], cost: Callable[[Mapping], Design], budget: Budget,
             objective: Objective, fixed: Mapping | None = None, start: Mapping | None = None) -> Allocation:
    """Lanes per candidate key: `fixed` ones (by key, checked by the caller) as given, the others from `start`
    (default: the smallest option), grown by `objective` while the design stays within `budget`."""
    fixed = dict(fixed or {})
    lanes = {c.key: fixed.get(c.key, (start or {}).get(c.key, min(c.options, key=size))) for c in candidates}
    free = [c for c in candidates if c.key not in fixed]
    if objective.rule == "throughput":
        return _throughput(candidates, cost, budget, fixed)
    step = {"best_ratio": _best_ratio, "slowest_first": _slowest_first}[objective.rule]
    notes: list[str] = []
    current = cost(lanes)
    while objective.target is None or current.cycles > objective.target:
        best = step(free, lanes, current, cost, budget, objective, notes)
        if best is None:
            break
        lanes, current = best
    return Allocation(lanes, tuple(notes))


def _best_ratio(free, lanes, current, cost, budget, objective, notes):
    """Every larger lane count of every free layer; the step that fits, saves at least min_gain of the cycles,
    and saves the most cycles per share of the budget it adds."""
    best, best_score = None, 0.0
    for c in free:
        for p in c.options:
            if size(p) <= size(lanes[c.key]):
                continue
            trial = {**lanes, c.key: p}
            e = cost(trial)
            saved = current.cycles - e.cycles
            if saved < objective.min_gain * current.cycles or not budget.fits(e):
                continue
            score = saved / max(budget.share(e) - budget.share(current), 1e-9)
            if score > best_score:
                best, best_score = (trial, e), score
    return best


def _throughput(candidates, cost, budget, fixed) -> Allocation:
    """Interval first: the smallest candidate interval for which every free layer's cheapest lane count meeting it
    fits the budget; then the latency: best-ratio steps (latency saved per share added) that keep the interval."""
    base = {c.key: fixed.get(c.key, min(c.options, key=size)) for c in candidates}
    free = [c for c in candidates if c.key not in fixed]
    notes: list[str] = []
    options = {}  # key -> [(lanes, layer interval, share of the budget the layer adds, per-resource shares added)]
    d0 = cost(base)
    for c in free:
        rows = []
        for p in c.options:
            e = d0 if p == base[c.key] else cost({**base, c.key: p})
            added = ((e.lut - d0.lut) / budget.lut, (e.dsp - d0.dsp) / budget.dsp, (e.bram18k - d0.bram18k) / budget.bram18k)
            rows.append((p, e.layer_cycles[c.key], budget.share(e) - budget.share(d0), added))
        options[c.key] = rows
    floor = max([v for k, v in d0.layer_cycles.items() if k not in options], default=0)
    # what "cheapest" means when one resource binds: the layer's largest share, each resource alone, their sum
    weighs = (lambda r: r[2], lambda r: r[3][0], lambda r: r[3][1], lambda r: r[3][2], lambda r: sum(r[3]))

    def assemble(interval: int):
        """The cheapest lane counts meeting `interval` (by each notion of cheap in turn) and their design, the
        first that fits the budget, else the last tried (None: some layer cannot meet it)."""
        tried = None
        for weigh in weighs:
            lanes = dict(base)
            for key, rows in options.items():
                ok = [r for r in rows if r[1] <= interval]
                if not ok:
                    return None
                lanes[key] = min(ok, key=lambda r: (weigh(r), size(r[0])))[0]
            e = cost(lanes)
            tried = (lanes, e)
            if budget.fits(e):
                break
        return tried

    targets = sorted({r[1] for rows in options.values() for r in rows if r[1] >= floor} | {floor})
    lo, hi, best = 0, len(targets) - 1, None
    while lo <= hi:  # cheaper with a longer interval: the first target that fits
        mid = (lo + hi) // 2
        got = assemble(targets[mid])
        if got is not None and budget.fits(got[1]):
            best, hi = got, mid - 1
        else:
            lo = mid + 1
    if best is None:
        notes.append(f"throughput: the fixed lanes pass {budget.label}" if not free else
                     f"throughput: even the fewest lanes a layer pass {budget.label}")
        return Allocation(base, tuple(notes))
    lanes, current = best
    interval = current.rank[0]
    while True:  # the latency, within what is left and without lengthening the interval
        step, score = None, 0.0
        for c in free:
            for p in sorted((p for p in c.options if size(p) > size(lanes[c.key])), key=size)[:8]:
                trial = {**lanes, c.key: p}
                e = cost(trial)
                saved = current.rank[-1] - e.rank[-1]
                if saved <= 0 or e.rank[0] > interval or not budget.fits(e):
                    continue
                ratio = saved / max(budget.share(e) - budget.share(current), 1e-9)
                if ratio > score:
                    step, score = (trial, e), ratio
        if step is None:
            break
        lanes, current = step
    exact = _latency_search(options, base, interval, cost, budget, d0)
    if exact is not None and exact[1].rank < current.rank:
        lanes, current = exact
    notes.append(f"throughput: interval {interval:,} cycles is the shortest within {budget.label}; the rest went to "
                 f"the latency ({current.rank[-1]:,})")
    return Allocation(lanes, tuple(notes))


LATENCY_SEARCH_LEAVES = 600  # the exact latency search runs when at most this many designs are left to cost


def _latency_search(options, base, interval, cost, budget, d0):
    """Every combination of lane counts that meets `interval` and, by its layers' added resources, fits the budget
    (the RTL design's resources add up layer by layer; each leaf is costed whole and checked), when there are few
    enough; the one with the best (interval, latency). None when there are too many to cost."""
    keys = list(options)
    rows = {k: sorted((r for r in options[k] if r[1] <= interval), key=lambda r: r[3][0]) for k in keys}
    if not keys or any(not v for v in rows.values()):
        return None
    room = (budget.lut - d0.lut) / budget.lut, (budget.dsp - d0.dsp) / budget.dsp, \
        (budget.bram18k - d0.bram18k) / budget.bram18k
    least = [tuple(min(r[3][j] for r in rows[k]) for j in range(3)) for k in keys]
    rest = [tuple(sum(least[i][j] for i in range(n + 1, len(keys))) for j in range(3)) for n in range(len(keys))]
    leaves: list[dict] = []

    def walk(n, used, chosen):
        if len(leaves) > LATENCY_SEARCH_LEAVES:
            return
        if n == len(keys):
            leaves.append(dict(chosen))
            return
        for r in rows[keys[n]]:
            u = tuple(used[j] + r[3][j] for j in range(3))
            if u[0] + rest[n][0] > room[0] + 1e-9:
                break  # sorted by LUT: the rest need more
            if all(u[j] + rest[n][j] <= room[j] + 1e-9 for j in range(3)):
                walk(n + 1, u, {**chosen, keys[n]: r[0]})

    walk(0, (0.0, 0.0, 0.0), {})
    if len(leaves) > LATENCY_SEARCH_LEAVES:
        return None
    best = None
    for chosen in leaves:
        lanes = {**base, **chosen}
        e = cost(lanes)
        if budget.fits(e) and e.rank[0] <= interval and (best is None or e.rank < best[1].rank):
            best = (lanes, e)
    return best


def _slowest_first(free, lanes, current, cost, budget, objective, notes):
    """The next lane count of the free layer with the most cycles (the later one on a tie), if it fits."""
    target = f"estimated {current.cycles:,} cycles per image" + (
        f" > target {objective.target:,}" if objective.target is not None else "")
    index = {c.key: i for i, c in enumerate(free)}
    growable = [(current.layer_cycles[c.key], index[c.key], c) for c in free
                if any(size(p) > size(lanes[c.key]) for p in c.options)]
    if not growable:
        notes.append(f"{target}: no layer can take more lanes")
        return None
    c = max(growable, key=lambda g: g[:2])[2]
    trial = {**lanes, c.key: min((p for p in c.options if size(p) > size(lanes[c.key])), key=size)}
    e = cost(trial)
    if not budget.fits(e):
        notes.append(f"{target}: more lanes would pass {budget.label}")
        return None
    return trial, e
