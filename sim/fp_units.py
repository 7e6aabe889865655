"""Operand vectors for the float units and their Verilator run (sim/fp_units_tb.sv, one cached build).

Vectors are uint32 bit patterns; the expected results of all four units (mul/add,
SUBNORMALS 1/0) come from pycompress.hw.fpref and travel in the same `$readmemh`
file, so the testbench compares in hardware and a million pairs take seconds.

    python sim/fp_units.py [--pairs N]     # the random run outside pytest, with timing
    python sim/fp_units.py --synth         # Yosys synth_xilinx (xc7) counts of the units (docs/rtl.md)
"""
from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SIM_DIR = Path(__file__).resolve().parent
REPO = SIM_DIR.parent
for _p in (str(SIM_DIR), str(REPO)):
    if _p not in sys.path:
        sys.path.insert(0, _p)

from pycompress.hw.fpref import FpUnits, as_bits  # noqa: E402

BUILD_DIR = REPO / "sim_build" / "fp_units"
TOPLEVEL = "fp_units_tb"
MAX_N = 1 << 21  # the testbench memory (parameter MAX_N of fp_units_tb)
SOURCES = (REPO / "rtl" / "fp32_unpack.sv", REPO / "rtl" / "fp32_mul_core.sv", REPO / "rtl" / "fp32_mul.sv",
           REPO / "rtl" / "fp32_add.sv", SIM_DIR / "fp_units_tb.sv")
UNITS = ("mul_sub", "add_sub", "mul_ftz", "add_ftz", "mul8_sub", "mul8_ftz", "mul4_sub", "mul4_ftz")
# the narrow multipliers of the testbench: significand bits of `a` (WB) -> the mask of its bits they see
NARROW_MASKS = {8: np.uint32(0xFFFF0000), 4: np.uint32(0xFFF00000)}


@dataclass(frozen=True)
class Vectors:
    a: np.ndarray  # uint32
    b: np.ndarray
    expected: dict[str, np.ndarray]  # unit -> uint32 results

    @classmethod
    def of(cls, a, b) -> "Vectors":
        a, b = as_bits(np.asarray(a, np.uint32)), as_bits(np.asarray(b, np.uint32))
        sub, ftz = FpUnits(True), FpUnits(False)
        a8, a4 = a & NARROW_MASKS[8], a & NARROW_MASKS[4]
        return cls(a, b, {"mul_sub": sub.mul(a, b), "add_sub": sub.add(a, b), "mul_ftz": ftz.mul(a, b),
                          "add_ftz": ftz.add(a, b), "mul8_sub": sub.mul(a8, b), "mul8_ftz": ftz.mul(a8, b),
                          "mul4_sub": sub.mul(a4, b), "mul4_ftz": ftz.mul(a4, b)})

    def __len__(self) -> int:
        return int(self.a.size)

    def write(self, path: Path) -> None:
        """80 hex digits a line, {a, b, then the expected result of each unit in UNITS order}, built vectorised."""
        words = np.stack([self.a, self.b, *(self.expected[u] for u in UNITS)], axis=1).astype(">u4")
        nd = 8 * words.shape[1]
        raw = words.view(np.uint8).reshape(len(self), nd // 2)
        digits = np.frombuffer(b"0123456789abcdef", np.uint8)
        text = np.empty((len(self), nd + 1), np.uint8)
        text[:, 0:nd:2] = digits[raw >> 4]
        text[:, 1:nd:2] = digits[raw & 15]
        text[:, nd] = ord("\n")
        path.write_bytes(text.tobytes())


# ---- operand generators (uint32 patterns) ----

def pack(sign, exp, man) -> np.ndarray:
    return ((np.asarray(sign, np.uint32) & 1) << 31 | (np.asarray(exp, np.uint32) & 0xFF) << 23
            | (np.asarray(man, np.uint32) & 0x7FFFFF)).astype(np.uint32)


def _man(rng, n) -> np.ndarray:
    return rng.integers(0, 1 << 23, n, dtype=np.uint32)


def _sign(rng, n) -> np.ndarray:
    return rng.integers(0, 2, n, dtype=np.uint32)


def random_bits(rng, n) -> tuple[np.ndarray, np.ndarray]:
    return rng.integers(0, 1 << 32, n, dtype=np.uint32), rng.integers(0, 1 << 32, n, dtype=np.uint32)


def exponent_spread(rng, n, lo: int, hi: int, spread: int) -> tuple[np.ndarray, np.ndarray]:
    """Random finite values, a's exponent field in [lo, hi], b's within +-spread of it: similar magnitudes
    (spread 3: additions of opposite signs cancel) or every alignment shift (spread 30)."""
    ea = rng.integers(lo, hi + 1, n)
    eb = np.clip(ea + rng.integers(-spread, spread + 1, n), 0, 254)
    return pack(_sign(rng, n), ea, _man(rng, n)), pack(_sign(rng, n), eb, _man(rng, n))


def cancellation(rng, n) -> tuple[np.ndarray, np.ndarray]:
    """b = -a with its low k mantissa bits redrawn (k 0..23): massive cancellation, exact zero at k=0."""
    a = pack(_sign(rng, n), rng.integers(1, 255, n), _man(rng, n))
    k = rng.integers(0, 24, n).astype(np.uint32)
    mask = ((np.uint32(1) << k) - np.uint32(1)).astype(np.uint32)
    b = ((a ^ np.uint32(0x80000000)) & ~mask) | (_man(rng, n) & mask)
    return a, b.astype(np.uint32)


def product_near_underflow(rng, n) -> tuple[np.ndarray, np.ndarray]:
    """Products whose exponent lands from 26 below the subnormal range to just above it."""
    ea = rng.integers(1, 255, n)
    eb = np.clip(rng.integers(-26, 4, n) + 127 - ea, 0, 254)
    return pack(_sign(rng, n), ea, _man(rng, n)), pack(_sign(rng, n), eb, _man(rng, n))


def product_near_overflow(rng, n) -> tuple[np.ndarray, np.ndarray]:
    ea = rng.integers(1, 255, n)
    eb = np.clip(rng.integers(250, 258, n) + 127 - ea, 1, 254)
    return pack(_sign(rng, n), ea, _man(rng, n)), pack(_sign(rng, n), eb, _man(rng, n))


def random_vectors(seed: int = 1, n: int = MAX_N) -> Vectors:
    """n pairs: half random bit patterns (>= 10^6 at the default size), the rest finite values built to hit
    cancellation, every alignment, subnormal/underflowing and overflowing results."""
    rng = np.random.default_rng(seed)
    half, sixteenth, n32 = n // 2, n // 16, n // 32
    parts = [exponent_spread(rng, n // 4, 1, 254, 3), exponent_spread(rng, sixteenth, 1, 254, 30),
             cancellation(rng, sixteenth), product_near_underflow(rng, sixteenth),
             exponent_spread(rng, n32, 0, 30, 30), product_near_overflow(rng, n32)]
    used = sum(len(p[0]) for p in parts)
    parts.append(random_bits(rng, n - used))
    assert n - used >= half
    perm = rng.permutation(n)
    return Vectors.of(np.concatenate([p[0] for p in parts])[perm], np.concatenate([p[1] for p in parts])[perm])


# ---- edge cases ----

def special_values() -> np.ndarray:
    """Signed zeros, smallest/largest subnormals and normals, ones, infinities, quiet and signalling NaNs
    with payloads (both signs), and values one ulp from 1 and 2."""
    mags = [0x00000000, 0x00000001, 0x00000002, 0x00000003, 0x00400000, 0x007FFFFF, 0x00800000, 0x00800001,
            0x00FFFFFF, 0x01000000, 0x0C000000, 0x33800000, 0x34000000, 0x3F000000, 0x3F7FFFFF, 0x3F800000,
            0x3F800001, 0x3FC00000, 0x3FFFFFFF, 0x40000000, 0x4B800000, 0x7E800000, 0x7F000000, 0x7F7FFFFE,
            0x7F7FFFFF, 0x7F800000, 0x7FC00000, 0x7FC00001, 0x7FFFFFFF, 0x7F800001, 0x7FA5A5A5, 0x7FBFFFFF]
    m = np.array(mags, np.uint32)
    return np.concatenate([m, m | np.uint32(0x80000000)])


def _f64(bits) -> np.ndarray:
    return bits.view(np.float32).astype(np.float64)


def is_tie(exact: np.ndarray) -> np.ndarray:
    """Exact float64 values lying halfway between two adjacent float32 values (subnormal spacing included)."""
    with np.errstate(all="ignore"):
        r = exact.astype(np.float32).astype(np.float64)
        diff = exact - r
        other = r + 2 * diff
        return np.isfinite(r) & (diff != 0) & (other.astype(np.float32).astype(np.float64) == other)


def _f32_bits(x64: np.ndarray) -> np.ndarray:
    return x64.astype(np.float32).view(np.uint32)


def mul_ties(rng, n) -> tuple[np.ndarray, np.ndarray]:
    """Odd 12-13 bit significands whose 25-bit product is a tie, scaled into the normal range, and pairs
    whose product is an odd multiple of 2^-150 (a tie between two subnormals)."""
    m1 = rng.integers(1 << 11, 1 << 12, 4 * n) * 2 + 1
    m2 = rng.integers(1 << 11, 1 << 12, 4 * n) * 2 + 1
    k1 = rng.integers(-60, 60, 4 * n)
    k2 = rng.integers(-60, 60, 4 * n)
    a = np.ldexp(m1.astype(np.float64), k1)
    b = np.ldexp(m2.astype(np.float64), k2) * rng.choice([-1.0, 1.0], 4 * n)
    ka = rng.integers(-100, -40, 4 * n)
    sa = np.ldexp(m1.astype(np.float64), ka)
    sb = np.ldexp((m2 // 8 * 2 + 1).astype(np.float64), -150 - ka)  # product below 2^-126
    normal, sub = is_tie(a * b), is_tie(sa * sb)  # half of each kind
    a = np.concatenate([a[normal][: n - n // 2], sa[sub][: n // 2]])
    b = np.concatenate([b[normal][: n - n // 2], sb[sub][: n // 2]])
    return _f32_bits(a), _f32_bits(b)


def add_ties(rng, n) -> tuple[np.ndarray, np.ndarray]:
    """a + (2j+1) * ulp(a)/2, either sign, j small: the sum is exactly halfway (subnormal a included)."""
    a = pack(_sign(rng, 4 * n), rng.integers(0, 254, 4 * n), _man(rng, 4 * n))
    ea = (a >> 23) & 0xFF
    ulp_exp = np.maximum(ea.astype(np.int64), 1) - 150 - 1  # half an ulp of a (subnormals: 2^-150)
    j = rng.integers(0, 8, 4 * n)
    half_ulps = np.ldexp((2 * j + 1).astype(np.float64), ulp_exp) * rng.choice([-1.0, 1.0], 4 * n)
    b = _f32_bits(half_ulps)
    ok = _f64(b) == half_ulps  # representable (2^-150 multiples are not: dropped)
    exact = _f64(a) + _f64(b)
    keep = ok & is_tie(exact)
    return a[keep][:n], b[keep][:n]


def edge_vectors(seed: int = 2) -> Vectors:
    """Every pair of special values (both orders), constructed rounding ties for both units, ties that carry
    into the exponent or overflow, exact cancellations, subnormal sums and products."""
    rng = np.random.default_rng(seed)
    s = special_values()
    ga, gb = np.meshgrid(s, s, indexing="ij")
    extra = np.array([
        (0x3FFFFFFF, 0x33800000),  # (2 - ulp) + ulp/2: tie, rounds up into the next binade
        (0x7F7FFFFF, 0x73000000),  # max + ulp(max)/2: tie to even overflows to inf
        (0x7F7FFFFF, 0x72FFFFFF),  # max + just under half an ulp: stays max
        (0x7F7FFFFF, 0x3F800001),  # max * (1 + ulp): overflow
        (0x00800000, 0x3F000000),  # min normal * 0.5: exact subnormal
        (0x00800001, 0x3F000000),  # (min normal + ulp) * 0.5: subnormal tie
        (0x00FFFFFF, 0x3F000000),  # rounds up to min normal
        (0x00800000, 0x807FFFFF),  # min normal - max subnormal = min subnormal
        (0x00800001, 0x80800000),  # subnormal difference of normals (flushed in FTZ)
        (0x3F800000, 0xBF800000),  # 1 - 1 = +0
        (0x80000000, 0x80000000),  # -0 + -0 = -0
    ], np.uint32)
    parts = [(ga.ravel(), gb.ravel()), (gb.ravel(), ga.ravel()), (extra[:, 0], extra[:, 1]),
             (extra[:, 1], extra[:, 0]), mul_ties(rng, 20000), add_ties(rng, 20000), cancellation(rng, 5000),
             exponent_spread(rng, 5000, 0, 3, 3), product_near_underflow(rng, 5000)]
    return Vectors.of(np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))


# ---- Verilator ----

def build():
    """Build (or reuse) the testbench; returns the cocotb runner."""
    import harness
    from buildcache import verilator_runner

    harness.setup_tools()
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    runner = verilator_runner()
    if not (BUILD_DIR / TOPLEVEL).exists():
        print(f"verilator: building {TOPLEVEL} (once; cached in {BUILD_DIR})", file=sys.stderr, flush=True)
    runner.build(sources=[str(s) for s in SOURCES], hdl_toplevel=TOPLEVEL, build_dir=str(BUILD_DIR),
                 parameters={"MAX_N": MAX_N}, build_args=["-Wno-fatal", "-O3"], always=False,
                 log_file=str(BUILD_DIR / "build.log"))
    return runner


def run(vectors: Vectors, work: Path, gaps: bool = False) -> dict:
    """Stream `vectors` through the four units; the report has per-unit mismatches and the first one."""
    if not 0 < len(vectors) <= MAX_N:
        raise ValueError(f"{len(vectors)} pairs: the testbench holds 1..{MAX_N}")
    work.mkdir(parents=True, exist_ok=True)
    vec_file, report_file = work / "vectors.mem", work / "report.json"
    vectors.write(vec_file)
    report_file.unlink(missing_ok=True)
    runner = build()
    t0 = time.perf_counter()
    try:
        runner.test(test_module="fp_units_cocotb", hdl_toplevel=TOPLEVEL, testcase="run_vectors", test_dir=str(work),
                    build_dir=str(BUILD_DIR), plusargs=[f"+N={len(vectors)}", f"+VEC={vec_file.resolve()}"],
                    extra_env={"FP_UNITS_REPORT": str(report_file.resolve()), "FP_UNITS_GAPS": str(int(gaps))},
                    log_file=str(work / "sim.log"))
    except SystemExit:  # cocotb's runner exits under pytest when a test fails; the report says why
        pass
    if not report_file.exists():
        return {"done": 0, "error": f"no report; see {work / 'sim.log'}"}
    report = json.loads(report_file.read_text())
    report["sim_seconds"] = round(time.perf_counter() - t0, 1)
    for u, r in report["units"].items():  # name the operands of the first mismatch
        if r["mismatches"]:
            i = r["first_index"]
            r.update(a=f"{int(vectors.a[i]):08x}", b=f"{int(vectors.b[i]):08x}",
                     expected=f"{int(vectors.expected[u][i]):08x}")
    return report


# ---- MAC lane with its control (rtl/mac_lane.sv, rtl/mac_ctl.sv) ----

MAC_DIR = REPO / "sim_build" / "fp_mac"
MAC_TOP = "fp_mac_tb"
MAC_SOURCES = (*SOURCES[:4], REPO / "rtl" / "mac_ctl.sv", REPO / "rtl" / "mac_lane.sv", SIM_DIR / "fp_mac_tb.sv")
BANK = 10  # slots in the testbench, interleaved round robin: rtl/mac_lane.sv's SPACING (one term a clock)


@dataclass(frozen=True)
class MacSchedule:
    lines: np.ndarray  # (n, 4) uint32: flags (bit 0 valid, 1 first, 2 last), slot, w, x
    expected: np.ndarray  # (m, 3) uint32: slot, sum with subnormals, sum flushed; in leaving order


def mac_schedule(layers: list[tuple[np.ndarray, np.ndarray]], rng, bubble_prob: float = 0.0) -> MacSchedule:
    """Dot products of each layer's rows (w, x: (outputs, terms) bit patterns), BANK outputs interleaved round
    robin, term by term; a short last group is padded with bubbles so a slot's terms stay >= BANK clocks
    apart, and random bubbles (bubble_prob) only widen the gaps. Expected: fpref's sequential dot."""
    lines, expected = [], []
    for w, x in layers:
        n_out, terms = w.shape
        sums = [FpUnits(True).dot(w, x), FpUnits(False).dot(w, x)]
        for g in range(0, n_out, BANK):
            for k in range(terms):
                for slot in range(BANK):
                    o = g + slot
                    while rng.random() < bubble_prob:
                        lines.append((0, 0, 0, 0))
                    if o < n_out:
                        flags = 1 | (k == 0) << 1 | (k == terms - 1) << 2
                        lines.append((flags, slot, int(w[o, k]), int(x[o, k])))
                    else:
                        lines.append((0, 0, 0, 0))
            expected += [(o - g, int(sums[0][o]), int(sums[1][o])) for o in range(g, min(g + BANK, n_out))]
    return MacSchedule(np.array(lines, np.uint32), np.array(expected, np.uint32))


def _join(rows: list[np.ndarray]) -> bytes:
    out = rows[0]
    for r in rows[1:]:
        out = np.char.add(out, r)
    return ("\n".join(out.tolist()) + "\n").encode()


def build_mac():
    import harness
    from buildcache import verilator_runner

    harness.setup_tools()
    MAC_DIR.mkdir(parents=True, exist_ok=True)
    runner = verilator_runner()
    if not (MAC_DIR / MAC_TOP).exists():
        print(f"verilator: building {MAC_TOP} (once; cached in {MAC_DIR})", file=sys.stderr, flush=True)
    runner.build(sources=[str(s) for s in MAC_SOURCES], hdl_toplevel=MAC_TOP, build_dir=str(MAC_DIR),
                 parameters={"BANK": BANK}, build_args=["-Wno-fatal", "-O3"], always=False,
                 log_file=str(MAC_DIR / "build.log"))
    return runner


def run_mac(schedule: MacSchedule, work: Path) -> dict:
    work.mkdir(parents=True, exist_ok=True)
    sched_file, expect_file, report_file = work / "sched.mem", work / "expect.mem", work / "report.json"
    s = schedule.lines
    sched_file.write_bytes(_join([np.char.mod("%02x", s[:, 0]), np.char.mod("%02x", s[:, 1]),
                                  np.char.mod("%08x", s[:, 2]), np.char.mod("%08x", s[:, 3])]))
    e = schedule.expected
    expect_file.write_bytes(_join([np.char.mod("%02x", e[:, 0]), np.char.mod("%08x", e[:, 1]),
                                   np.char.mod("%08x", e[:, 2])]))
    report_file.unlink(missing_ok=True)
    runner = build_mac()
    try:
        runner.test(test_module="fp_units_cocotb", hdl_toplevel=MAC_TOP, testcase="run_mac", test_dir=str(work),
                    build_dir=str(MAC_DIR), log_file=str(work / "sim.log"),
                    plusargs=[f"+N={len(s)}", f"+M={len(e)}", f"+SCHED={sched_file.resolve()}",
                              f"+EXPECT={expect_file.resolve()}"],
                    extra_env={"FP_UNITS_REPORT": str(report_file.resolve()), "FP_MAC_LINES": str(len(s))})
    except SystemExit:
        pass
    if not report_file.exists():
        return {"done": 0, "error": f"no report; see {work / 'sim.log'}"}
    return json.loads(report_file.read_text())


def synth_table(work: Path) -> None:
    """synth_xilinx -family xc7 of each unit (both SUBNORMALS modes, the multiplier at WB 24, 8 and 4) and of a MAC
    lane (BF16 weights, 48 accumulators), as a Markdown table with the timing estimate of each."""
    from pycompress.hw.rtl.synth_report import synthesise
    from pycompress.hw.rtl.timing import analyse

    rtl = REPO / "rtl"
    mul = ["fp32_unpack", "fp32_mul_core", "fp32_mul"]
    designs = [("fp32_mul", s, mul, {"WB": wb}) for s in (1, 0) for wb in (24, 8, 4)]
    designs += [("fp32_mul_core", 1, ["fp32_mul_core"], {"WB": 8}), ("fp32_add", 1, ["fp32_add"], {}),
                ("fp32_add", 0, ["fp32_add"], {}),
                ("mac_lane", 1, ["fp32_mul_core", "fp32_add", "mac_lane"], {"WB": 8, "SLOTS": 48, "OBUF_BLOCK": 1})]
    print("| design | SUBNORMALS | parameters | slice LUTs | FF | DSP48E1 | BRAM18K | timing estimate, worst path |")
    print("| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |")
    for top, s, deps, params in designs:
        label = " ".join(f"{k}={v}" for k, v in params.items())
        folder = work / f"{top}_{s}_{label.replace(' ', '_').replace('=', '')}"
        r = synthesise(f"{top} SUBNORMALS={s} {label}", top, folder, [rtl / f"{x}.sv" for x in deps],
                       {"SUBNORMALS": s, **params}, netlist=True)
        t, _ = analyse(folder / "netlist.json", top)
        print(f"| {top} | {s} | {label} | {r.slice_luts} | {r.ff} | {r.dsp} | {r.bram18k} | {t.worst_ns:.2f} ns |",
              flush=True)


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=MAX_N)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, default=REPO / "build" / "fp_units")
    ap.add_argument("--synth", action="store_true", help="Yosys counts of the units instead of a simulation")
    args = ap.parse_args()
    if args.synth:
        synth_table(args.out / "synth")
        raise SystemExit(0)
    t = time.perf_counter()
    v = random_vectors(args.seed, args.pairs)
    print(f"{len(v)} pairs generated in {time.perf_counter() - t:.1f} s")
    rep = run(v, args.out)
    print(json.dumps(rep, indent=1))
    bad = {u: r["mismatches"] for u, r in rep.get("units", {}).items() if r["mismatches"]}
    ok = rep.get("done") and rep.get("n") == len(v) and not bad
    print(f"{len(v):,} pairs a unit, {len(rep.get('units', {}))} units: "
          + ("0 mismatches" if ok else f"FAILED {bad or rep.get('error', 'incomplete')}"))
    raise SystemExit(0 if ok else 1)
