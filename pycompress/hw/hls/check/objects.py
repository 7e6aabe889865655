"""What the checker knows about a variable: its shape, partitioning, storage binding and so its ports.

Port model (UG1399, BIND_STORAGE types): ram_1p one port; ram_2p one read port and one read/write
port; ram_s2p one read and one write port; ram_t2p two read/write ports; rom_1p one read port,
rom_2p two; hls::stream one read and one write per cycle; an m_axi pointer one request per cycle.
A completely partitioned array (ARRAY_PARTITION complete on every dimension, or a one-dimensional
array) is registers: any number of accesses. An array without BIND_STORAGE is taken as dual-port
(Vitis picks the RAM type itself; the generator binds every memory it writes).
Partitioning: `complete dim=1` makes the first index the bank; `cyclic factor=K` (bank = i % K) and
`block factor=K` (bank = i / ceil(N/K)) on a one-dimensional array.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np

from .ctree import Node, ParseError

ENUM_LIMIT = 1 << 17  # value combinations enumerated to find the banks an index can reach


class Unknown(Exception):
    """An expression depends on something the checker cannot enumerate (a parameter, a loaded value)."""


def pragma_args(text: str) -> tuple[str, dict[str, str], set[str]]:
    """`ARRAY_PARTITION variable=x cyclic factor=2` -> ("array_partition", {"variable": "x", ...}, {"cyclic"})."""
    words = text.split()
    name = words[0].lower() if words else ""
    kv, flags = {}, set()
    for w in words[1:]:
        if "=" in w:
            k, _, v = w.partition("=")
            kv[k.lower()] = v
        else:
            flags.add(w.lower())
    return name, kv, flags


ELEM_BITS = {"float": 32, "unsigned": 32, "int": 32, "bool": 1, "char": 8, "short": 16, "long": 64}


def elem_bits(type_text: str) -> int:
    m = re.search(r"(?:ap_uint|ap_int|pyc_uint)<(\d+)>", type_text)
    if m:
        return int(m.group(1))
    if "long long" in type_text:
        return 64
    for word in reversed(type_text.split()):
        if word in ELEM_BITS:
            return ELEM_BITS[word]
    return 32


@dataclass(eq=False)
class Obj:
    """One variable of the design (arrays, streams, m_axi pointers, scalars kept across iterations)."""

    name: str
    kind: str  # array stream maxi scalar
    dims: tuple[int, ...] = ()
    type: str = ""
    owner: str = ""  # function that declares it
    partition: list = field(default_factory=list)  # (type, factor, dim)
    storage: str | None = None  # ram_2p, rom_1p, ...
    impl: str | None = None  # bram, lutram, ...
    interface: str | None = None  # m_axi, axis, ... (top-level ports)
    bundle: str | None = None
    is_float: bool = False
    const: bool = False

    @property
    def bits(self) -> int:
        return elem_bits(self.type)

    @property
    def registers(self) -> bool:
        if self.kind in ("scalar", "struct"):
            return True
        if self.kind != "array":
            return False
        complete = {d for t, _, d in self.partition if t == "complete"}
        return 0 in complete or all(d + 1 in complete for d in range(len(self.dims))) or \
            (len(self.dims) == 1 and 1 in complete)

    @property
    def banks(self) -> int:
        if self.kind != "array" or self.registers:
            return 1
        for t, f, d in self.partition:
            if t == "complete" and d == 1:
                return self.dims[0]
            if t in ("cyclic", "block") and d == 1:
                return f
        return 1

    @property
    def bank_words(self) -> int:
        """Elements of one bank."""
        return max(1, math.prod(self.dims) // max(self.banks, 1))

    def bank_and_address(self, index: list[Node]) -> tuple[Node | None, list[Node]]:
        """The bank an access selects (None: one bank) and the address inside it."""
        if self.banks <= 1:
            return None, index
        for t, f, d in self.partition:
            if t == "complete" and d == 1:
                return index[0], index[1:]
            if t == "cyclic" and d == 1:
                return Node("bin", "%", (index[0], Node("num", value=f))), [Node("bin", "/", (index[0], Node("num", value=f)))]
            if t == "block" and d == 1:
                size = Node("num", value=math.ceil(self.dims[0] / f))
                return Node("bin", "/", (index[0], size)), [Node("bin", "%", (index[0], size))]
        return None, index

    def ports(self) -> str:
        """The port model: registers, ram_1p, ram_2p, ... (see the module docstring)."""
        if self.kind == "stream":
            return "fifo"
        if self.kind == "maxi":
            return "maxi"
        if self.registers:
            return "registers"
        if self.storage:
            return self.storage.lower()
        return "rom_2p" if self.const else "ram_2p"


def cycles_for(ports: str, reads: int, writes: int) -> int:
    """Cycles one bank needs to serve `reads` and `writes` accesses of one iteration (the II it forces)."""
    if ports == "registers" or reads + writes == 0:
        return 1 if reads + writes else 0
    if ports in ("ram_1p", "rom_1p", "maxi"):
        return reads + writes
    if ports in ("ram_2p",):
        return max(writes, math.ceil((reads + writes) / 2))
    if ports in ("ram_s2p", "fifo"):
        return max(reads, writes)
    if ports in ("ram_t2p", "rom_2p"):
        return math.ceil((reads + writes) / 2)
    if ports in ("rom_np", "ram_1wnr"):
        return max(writes, 1)
    raise ParseError(f"unknown storage type {ports!r}")


def apply_pragma(obj: Obj, name: str, kv: dict[str, str], flags: set[str]) -> None:
    if name == "array_partition":
        t = kv.get("type") or next((f for f in ("complete", "cyclic", "block") if f in flags), "complete")
        obj.partition.append((t, int(kv.get("factor", 0)), int(kv.get("dim", 1))))
    elif name == "bind_storage":
        obj.storage, obj.impl = kv.get("type", "").lower() or None, kv.get("impl", "").lower() or None
    elif name == "stream":
        obj.kind = "stream"
    elif name == "interface":
        obj.interface = kv.get("mode") or next(iter(sorted(flags & {"m_axi", "axis", "s_axilite", "ap_memory"})), None)
        if obj.interface == "m_axi":
            obj.kind, obj.bundle = "maxi", kv.get("bundle")


# ---- integer evaluation over enumerated loop variables -----------------------------------------------------

def free_names(node: Node, out: set[str] | None = None) -> set[str]:
    out = set() if out is None else out
    if node.kind == "name":
        out.add(node.value)
    for a in node.args:
        if isinstance(a, Node):
            free_names(a, out)
    return out


def evaluate(node: Node, env: dict[str, np.ndarray | int]):
    """Integer value of `node` with names bound in `env` (numpy arrays broadcast); Unknown otherwise."""
    k = node.kind
    if k == "num":
        if isinstance(node.value, float):
            raise Unknown("float")
        return node.value
    if k == "name":
        if node.value not in env:
            raise Unknown(node.value)
        return env[node.value]
    if k == "cast":
        return evaluate(node.args[0], env)
    if k == "un":
        v = evaluate(node.args[0], env)
        return {"-": lambda x: -x, "+": lambda x: x, "!": lambda x: np.logical_not(x).astype(np.int64),
                "~": lambda x: ~np.int64(x) if np.isscalar(x) else ~x}.get(node.op, _unknown)(v)
    if k == "tern":
        c = evaluate(node.args[0], env)
        return np.where(c, evaluate(node.args[1], env), evaluate(node.args[2], env))
    if k == "bin":
        a, b = evaluate(node.args[0], env), evaluate(node.args[1], env)
        op = node.op
        if op in ("/", "%"):
            b = np.where(np.asarray(b) == 0, 1, b)
            q = np.floor_divide(a, b) if op == "/" else np.mod(a, b)
            return q
        return {"+": np.add, "-": np.subtract, "*": np.multiply, "<<": np.left_shift, ">>": np.right_shift,
                "&": np.bitwise_and, "|": np.bitwise_or, "^": np.bitwise_xor, "<": np.less, "<=": np.less_equal,
                ">": np.greater, ">=": np.greater_equal, "==": np.equal, "!=": np.not_equal,
                "&&": np.logical_and, "||": np.logical_or}[op](a, b)
    raise Unknown(k)


def _unknown(_):
    raise Unknown("operator")


def constant(node: Node) -> int | None:
    try:
        v = evaluate(node, {})
    except Unknown:
        return None
    return int(v) if np.ndim(v) == 0 else None


def reachable(node: Node, ranges: dict[str, range]) -> set[int] | None:
    """Every value `node` takes over the ranges of its names, or None when it cannot be enumerated."""
    names = sorted(free_names(node))
    if any(n not in ranges for n in names):
        return None
    sizes = [len(ranges[n]) for n in names]
    if math.prod(sizes) > ENUM_LIMIT:
        return None
    grids = np.meshgrid(*[np.asarray(ranges[n], dtype=np.int64) for n in names], indexing="ij") if names else []
    try:
        v = evaluate(node, dict(zip(names, grids)))
    except Unknown:
        return None
    return {int(x) for x in np.unique(np.asarray(v, dtype=np.int64))}
