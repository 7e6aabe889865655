"""A static timing ESTIMATE of a Yosys `synth_xilinx` netlist: the worst register-to-register path.

No place and route runs here, so this is not Vivado's timing: it walks the mapped 7-series
netlist (`write_json` after `synth_xilinx -flatten`) and adds documented delays along every
combinational path from a clocked output (flip-flop, block RAM, DSP48E1, LUT RAM, shift
register) to a clocked input, plus a fixed routing allowance for every net a path crosses
(dedicated carry, wide-mux and cascade links excepted). The delays (ns, speed grade -1):

- LUT1..LUT6 per input pin, MUXF7/MUXF8, CARRY4 per input/output pair, FDRE/FDSE clock-to-Q
  and setup, distributed RAM and SRL read/write, DSP48E1 input-required and output-arrival
  times for each combination of its AREG/BREG/MREG/PREG registers: Project X-Ray's timing
  database of the Artix-7 fabric (the 28 nm 7-series fabric of the xc7z020 PL), as Yosys
  ships it in techlibs/xilinx/cells_sim.v (each value beside its prjxray-db source line);
- RAMB18E1/RAMB36E1 clock-to-out 2.46 ns without and 0.89 ns with the output register
  (DO_REG), address setup 0.57 ns, data setup 0.74 ns: the 7-series block RAM switching
  characteristics at -1 (DS189 table 30; DS187 lists the same parameters for Zynq-7000;
  prjxray's 2.454 / 0.882 ns agree);
- ROUTE_NS per routed net: an ASSUMPTION (no placement), chosen so that a LUT level costs
  0.5-1.0 ns with its net, the range Vivado reports for short nets on -1 7-series parts.

Paths from or to the design's ports (IBUF/OBUF) are not register-to-register and are left
out. Each endpoint is attributed to the RTL module whose source file holds the register
(Yosys keeps `src` attributes on mapped flip-flops, RAMs and DSPs), so the report gives the
worst path per module as well as for the whole design. Limits: no clock skew, jitter or
fanout-dependent routing; Yosys' LUT mapping is less aggressive than Vivado's, so LUT
levels tend to be over-counted; no false or multicycle paths are recognised.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

PERIOD_NS = 10.0  # the ZedBoard PL clock (boards/zedboard/board.json: 100 MHz)
ROUTE_NS = 0.40  # per routed net: an assumption, see the module docstring

# ---- delays in ns (prjxray-db via Yosys cells_sim.v unless noted) ----
LUT_PIN = (0.642, 0.631, 0.472, 0.407, 0.238, 0.127)  # I0..I5 -> O of a LUT6; a LUTk uses the last k
MUXF7 = {"I0": 0.217, "I1": 0.223, "S": 0.296}
MUXF8 = {"I0": 0.104, "I1": 0.094, "S": 0.273}
FF_CLK_Q = 0.303
FF_SETUP = {"D": 0.0, "CE": 0.109, "R": 0.404, "S": 0.404, "CLR": 0.404, "PRE": 0.404}
SRL_CLK_Q = {"Q": 1.472, "Q31": 1.114}
SRL_SETUP = {"D": 0.173, "CE": 0.109}
LUTRAM_CLK_O = 1.153
LUTRAM_SETUP = {"D": 0.453, "WE": 0.654, "A": 0.362}  # data, write enable, write address (worst pin)
BRAM_CLK_DO = (2.46, 0.89)  # without / with the output register (DS189 TRCKO_DO / TRCKO_DO_REG, -1)
BRAM_SETUP = {"ADDR": 0.57, "DI": 0.74, "WE": 0.532, "EN": 0.5, "REGCE": 0.360, "RSTREG": 0.342, "RSTRAM": 0.5}
# CARRY4: (input pin, index) -> (output pin, index) -> delay
_C4_O = {("CYINIT", 0): (0.482, 0.598, 0.584, 0.642), ("CI", 0): (0.222, 0.334, 0.239, 0.313)}
_C4_CO = {("CYINIT", 0): (0.536, 0.494, 0.592, 0.580), ("CI", 0): (0.271, 0.157, 0.228, 0.114)}
_C4_S_O = ((0.223, 0.400, 0.523, 0.582), (None, 0.205, 0.558, 0.618), (None, None, 0.226, 0.330), (None, None, None, 0.227))
_C4_S_CO = ((0.340, 0.433, 0.512, 0.508), (None, 0.469, 0.548, 0.528), (None, None, 0.292, 0.378), (None, None, None, 0.380))
_C4_DI_O = ((None, 0.407, 0.556, 0.615), (None, None, 0.537, 0.596), (None, None, None, 0.438), (None, None, None, None))
_C4_DI_CO = ((0.379, 0.465, 0.540, 0.526), (None, 0.445, 0.520, 0.507), (None, None, 0.356, 0.398), (None, None, None, 0.385))

FF_CELLS = {"FDRE", "FDSE", "FDCE", "FDPE"}
LUTRAM_PREFIXES = ("RAM16", "RAM32", "RAM64", "RAM128", "RAM256")
PORT_CELLS = {"IBUF", "OBUF", "IOBUF", "OBUFT", "BUFG", "BUFGCTRL", "BUFH"}
CLOCK_PINS = {"C", "CLK", "WCLK", "CLKARDCLK", "CLKBWRCLK"}


def _truthy(v) -> bool:
    if isinstance(v, int):
        return v != 0
    s = str(v).strip('"')
    return s not in ("", "0") and not re.fullmatch(r"0+", s) and s.upper() not in ("FALSE", "NONE")


def _dsp_regs(p: dict) -> dict[str, bool]:
    return {k: _truthy(p.get(k, 1)) for k in ("AREG", "BREG", "CREG", "MREG", "PREG")}


def _dsp_mult(p: dict) -> bool:
    return str(p.get("USE_MULT", "MULTIPLY")).strip('"').upper() != "NONE"


def dsp_required(pin: str, p: dict) -> float | None:
    """Setup-like required time of a DSP48E1 data input (None: it reaches no register inside)."""
    r, mult = _dsp_regs(p), _dsp_mult(p)
    if pin == "A":
        return 0.254 if r["AREG"] else (1.416 if mult and r["MREG"] else (2.739 if mult else 1.441) if r["PREG"] else None)
    if pin == "B":
        return 0.324 if r["BREG"] else (1.285 if mult and r["MREG"] else (2.608 if mult else 1.428) if r["PREG"] else None)
    if pin == "C":
        return 0.168 if r["CREG"] else (1.244 if r["PREG"] else None)
    return 0.30  # control inputs (OPMODE, ALUMODE, CE*, RST*): registered at the input


def dsp_arrival(p: dict) -> float | None:
    """Clock-to-out of P (None: combinational from the inputs)."""
    r, mult = _dsp_regs(p), _dsp_mult(p)
    if r["PREG"]:
        return 0.329
    if r["MREG"] and mult:
        return 1.671
    if r["CREG"]:
        return 1.687
    if r["AREG"] or r["BREG"]:
        return 2.952 if mult else 1.632
    return None


def dsp_comb(p: dict) -> float:
    return 2.823 if _dsp_mult(p) else 1.523


@dataclass(frozen=True)
class Path_:
    """One register-to-register path: its delay (ns), start and end cells, levels and the cells it crosses."""

    delay: float
    start: str
    end: str
    end_pin: str
    module: str
    levels: int
    cells: tuple[str, ...]


def _src_module(attrs: dict) -> str:
    """The RTL module of a mapped cell: the stem of the first non-library file in its `src` attribute."""
    for part in str(attrs.get("src", "")).split("|"):
        f = part.rsplit(":", 1)[0].strip()
        if f and "/share/" not in f and not f.startswith("/share"):
            return Path(f).stem
    return "?"


class Netlist:
    def __init__(self, module: dict):
        self.cells: dict[str, dict] = module["cells"]
        self.names: dict[int, str] = {}
        for name, n in module.get("netnames", {}).items():
            for b in n["bits"]:
                if isinstance(b, int) and (b not in self.names or self.names[b].startswith("$")):
                    self.names[b] = name
        self.driver: dict[int, tuple[str, str, int]] = {}
        for cname, c in self.cells.items():
            for port, bits in c["connections"].items():
                if c.get("port_directions", {}).get(port) == "output":
                    for i, b in enumerate(bits):
                        if isinstance(b, int):
                            self.driver[b] = (cname, port, i)
        self.arr: dict[int, tuple[float, tuple | None, int]] = {}  # bit -> (arrival, (cell, pin bit) pred, levels)

    @classmethod
    def load(cls, path: Path, top: str | None = None) -> "Netlist":
        mods = json.loads(Path(path).read_text())["modules"]
        if top is None:
            tops = [m for m, d in mods.items() if _truthy(d.get("attributes", {}).get("top", 0))]
            top = tops[0] if tops else next(iter(mods))
        return cls(mods[top])

    # -- arcs: for an output bit of a combinational cell, its (input port, index, delay) fan-in --
    def _arcs(self, c: dict, port: str, idx: int) -> list[tuple[str, int, float]]:
        t, conn = c["type"], c["connections"]
        if t.startswith("LUT") and t[3:].isdigit():
            k = int(t[3:])
            return [(f"I{j}", 0, LUT_PIN[6 - k + j]) for j in range(k)]
        if t == "INV":
            return [("I", 0, LUT_PIN[5])]
        if t in ("MUXF7", "MUXF8"):
            d = MUXF7 if t == "MUXF7" else MUXF8
            return [(p, 0, v) for p, v in d.items()]
        if t == "CARRY4":
            out = []
            for (p, _), row in (_C4_O if port == "O" else _C4_CO).items():
                out.append((p, 0, row[idx]))
            s_tab, di_tab = (_C4_S_O, _C4_DI_O) if port == "O" else (_C4_S_CO, _C4_DI_CO)
            for j in range(4):
                if s_tab[j][idx] is not None:
                    out.append(("S", j, s_tab[j][idx]))
                if di_tab[j][idx] is not None:
                    out.append(("DI", j, di_tab[j][idx]))
            return out
        if t.startswith(LUTRAM_PREFIXES):  # asynchronous read: read address -> data out
            out = []
            for p, bits in conn.items():
                if c.get("port_directions", {}).get(p) != "input" or p in ("D", "WE", "WCLK") or p.startswith(("DI", "ADDRD")):
                    continue
                if t.startswith(("RAM32M", "RAM64M")) and not p.startswith(f"ADDR{port[-1]}"):
                    continue  # RAM32M/RAM64M: port DOx is read through ADDRx
                if not t.startswith(("RAM32M", "RAM64M")) and port == "SPO" and p.startswith("DPRA"):
                    continue
                if not t.startswith(("RAM32M", "RAM64M")) and port == "DPO" and not p.startswith("DPRA"):
                    continue
                extra = 0.4 if t.startswith(("RAM128", "RAM256")) else 0.0  # the wide-mux stage
                for i in range(len(bits)):
                    out.append((p, i, LUT_PIN[0] + extra))
            return out
        if t in ("SRL16E", "SRLC32E"):
            if port == "Q31":
                return []
            return [(p, i, LUT_PIN[0]) for p in ("A", "A0", "A1", "A2", "A3") if p in conn
                    for i in range(len(conn[p]))]
        if t == "DSP48E1" and dsp_arrival(c["parameters"]) is None:
            d = dsp_comb(c["parameters"])
            return [(p, i, d) for p in ("A", "B", "C", "D") if p in conn for i in range(len(conn[p]))]
        return []

    def _source(self, c: dict, port: str) -> float | None:
        """Clock-to-out of a clocked output (None: the output is combinational only)."""
        t = c["type"]
        if t in FF_CELLS:
            return FF_CLK_Q
        if t in ("SRL16E", "SRLC32E"):
            return SRL_CLK_Q.get(port, 1.472)
        if t.startswith(("RAMB18", "RAMB36")):
            p = c["parameters"]
            reg = _truthy(p.get("DOA_REG", 0)) if port.startswith(("DOA", "DOPA")) else _truthy(p.get("DOB_REG", 0))
            return BRAM_CLK_DO[1] if reg else BRAM_CLK_DO[0]
        if t.startswith(LUTRAM_PREFIXES):
            return LUTRAM_CLK_O
        if t == "DSP48E1":
            return dsp_arrival(c["parameters"])
        return None

    @staticmethod
    def _dedicated(dcell: dict, dport: str, scell: dict, sport: str) -> bool:
        """Links that use dedicated wiring, not general routing."""
        dt, st = dcell["type"], scell["type"]
        return ((dt == "CARRY4" and dport == "CO" and st == "CARRY4" and sport == "CI")
                or (st in ("MUXF7", "MUXF8") and sport in ("I0", "I1") and (dt.startswith("LUT") or dt == "MUXF7"))
                or (sport.endswith("CIN") and dport.endswith("COUT")))

    def arrival(self, bit) -> tuple[float, tuple | None, int] | None:
        """Latest arrival at a net bit from a clocked source (None: only ports or constants reach it)."""
        if not isinstance(bit, int) or bit not in self.driver:
            return None
        if bit in self.arr:
            return self.arr[bit]
        stack = [bit]
        while stack:
            b = stack[-1]
            if b in self.arr:
                stack.pop()
                continue
            cname, port, idx = self.driver[b]
            c = self.cells[cname]
            if c["type"] in PORT_CELLS:
                self.arr[b] = None
                stack.pop()
                continue
            src = self._source(c, port)
            best = (src, None, 0) if src is not None else None
            pending = []
            for p, i, d in self._arcs(c, port, idx):
                bits = c["connections"].get(p, [])
                if i >= len(bits) or not isinstance(bits[i], int) or bits[i] not in self.driver:
                    continue
                if bits[i] not in self.arr:
                    pending.append(bits[i])
                    continue
                a = self.arr[bits[i]]
                if a is None:
                    continue
                dcell, dport, _ = self.driver[bits[i]]
                route = 0.0 if self._dedicated(self.cells[dcell], dport, c, p) else ROUTE_NS
                t = a[0] + route + d
                if best is None or t > best[0]:
                    best = (t, (cname, p, i, bits[i]), a[2] + (0 if c["type"] == "CARRY4" else 1))
            if pending:
                stack.extend(pending)
                continue
            self.arr[b] = best
            stack.pop()
        return self.arr[bit]

    def _setup(self, c: dict, pin: str) -> float | None:
        t = c["type"]
        if t in FF_CELLS:
            return FF_SETUP.get(pin)
        if t in ("SRL16E", "SRLC32E"):
            return SRL_SETUP.get(pin)
        if t.startswith(LUTRAM_PREFIXES):
            if pin == "WE":
                return LUTRAM_SETUP["WE"]
            if pin == "D" or pin.startswith("DI"):
                return LUTRAM_SETUP["D"]
            if pin.startswith(("ADDRD", "A")) and not pin.startswith("DPRA") and not t.startswith(("RAM32M", "RAM64M")):
                return LUTRAM_SETUP["A"]
            if pin.startswith("ADDRD"):
                return LUTRAM_SETUP["A"]
            return None
        if t.startswith(("RAMB18", "RAMB36")):
            for k, v in BRAM_SETUP.items():
                if k in pin.upper():
                    return v
            return None
        if t == "DSP48E1":
            return dsp_required(pin, c["parameters"])
        return None

    def paths(self) -> list[Path_]:
        """The worst path into every clocked endpoint cell."""
        out = []
        for cname, c in self.cells.items():
            if c["type"] in PORT_CELLS:
                continue
            worst = None
            for pin, bits in c["connections"].items():
                if c.get("port_directions", {}).get(pin) != "input" or pin in CLOCK_PINS:
                    continue
                setup = self._setup(c, pin)
                if setup is None:
                    continue
                for b in bits:
                    a = self.arrival(b)
                    if a is None:
                        continue
                    dcell, dport, _ = self.driver[b]
                    route = 0.0 if self._dedicated(self.cells[dcell], dport, c, pin) else ROUTE_NS
                    t = a[0] + route + setup
                    if worst is None or t > worst[0]:
                        worst = (t, b, pin, a[2])
            if worst is not None:
                cells = self._trace(worst[1])
                out.append(Path_(round(worst[0], 3), cells[0] if cells else "?", cname, worst[2],
                                 _src_module(c.get("attributes", {})), worst[3], tuple(cells)))
        return out

    def _trace(self, bit: int) -> list[str]:
        cells = []
        while True:
            a = self.arr.get(bit)
            cname = self.driver[bit][0]
            cells.append(cname)
            if a is None or a[1] is None:
                break
            bit = a[1][3]
        return cells[::-1]

    def net_name(self, cell: str) -> str:
        """A readable name for a cell: the RTL net on its first output bit."""
        c = self.cells[cell]
        for port, bits in c["connections"].items():
            if c.get("port_directions", {}).get(port) == "output" and bits and isinstance(bits[0], int):
                return self.names.get(bits[0], cell)
        return cell


@dataclass(frozen=True)
class TimingReport:
    worst: Path_ | None
    per_module: dict[str, Path_]
    endpoints: int
    period_ns: float = PERIOD_NS

    @property
    def worst_ns(self) -> float:
        return self.worst.delay if self.worst else 0.0

    def meets(self) -> bool:
        return self.worst_ns <= self.period_ns


def analyse(netlist_json: Path, top: str | None = None) -> tuple[TimingReport, Netlist]:
    n = Netlist.load(netlist_json, top)
    paths = n.paths()
    per: dict[str, Path_] = {}
    for p in paths:
        if p.module not in per or p.delay > per[p.module].delay:
            per[p.module] = p
    worst = max(paths, key=lambda p: p.delay, default=None)
    return TimingReport(worst, dict(sorted(per.items(), key=lambda kv: -kv[1].delay)), len(paths)), n


def describe(p: Path_, n: Netlist) -> str:
    """One line: delay, levels, the path's start and end registers by their RTL net names."""
    return (f"{p.delay:.2f} ns, {p.levels} logic levels: {n.net_name(p.start)} -> {n.net_name(p.end)}.{p.end_pin} "
            f"(module {p.module})")


def format_report(rep: TimingReport, n: Netlist, label: str) -> str:
    lines = [f"timing ESTIMATE (Yosys netlist, 7-series -1 delays, {ROUTE_NS} ns routing a net; no place and route) "
             f"of {label}: worst register-to-register path {rep.worst_ns:.2f} ns against {rep.period_ns:.0f} ns "
             f"({'meets' if rep.meets() else 'FAILS'} 100 MHz), {rep.endpoints} endpoints"]
    for mod, p in rep.per_module.items():
        lines.append(f"  {mod:24} {describe(p, n)}")
    return "\n".join(lines)
