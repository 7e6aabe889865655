"""The HLS rule checker (pycompress/hw/hls/check): each rule fails on a seeded violation, with only its own name,
and passes on the same code written correctly. Small kernels written here; the generated ones are checked
in tests/test_hls_variants.py."""
from __future__ import annotations

from pathlib import Path

import pytest

from pycompress.hw.hls.check.rules import check_source

HEAD = """
#include "hls_stream.h"
typedef hls::stream<float> fifo_t;
"""


def check(tmp_path: Path, body: str, top: str = "top"):
    src = tmp_path / "k.cpp"
    src.write_text(HEAD + body)
    return check_source(src, top)


def fill(src: str, **values) -> str:
    """`{name}` placeholders of a C++ snippet (str.format would trip on the braces of C++)."""
    for k, v in values.items():
        src = src.replace("{" + k + "}", str(v))
    return src


def rules(report) -> list[str]:
    return report.rules_broken()


# ---- rule a: dependences ---------------------------------------------------------------------------------

ACC = """
void top(const float x[64], float out[8]) {
#pragma HLS BIND_STORAGE variable=out type=ram_2p impl=bram
acc_r: for (int r = 0; r < 64; r++) {
acc_o: for (int o = 0; o < {outputs}; o++) {
#pragma HLS PIPELINE II=1
{pragma}
        const float a = (r == 0) ? 0.0f : out[o];
        out[o] = a + x[r] * 2.0f;
    }
    }
}
"""


def test_rule_a_dependence_false_on_a_written_array(tmp_path):
    bad = check(tmp_path, fill(ACC, outputs=8, pragma="#pragma HLS DEPENDENCE variable=out inter false"))
    assert rules(bad) == ["a"] and "inter false" in bad.violations[0].message
    # the truthful pragma on an accumulator that recurs after 8 iterations, deeper than the pipeline: II 1 holds
    wide = ACC.replace("float out[8]", "float out[16]")
    ok = check(tmp_path, fill(wide, outputs=16, pragma="#pragma HLS DEPENDENCE variable=out type=inter direction=RAW "
                                                        "distance=16 dependent=true"))
    assert ok.ok, ok.summary()
    assert ok.loop("acc_o").distances == {"out": 16} and ok.loop("acc_o").ii == 1


def test_rule_a_distance_longer_than_the_truth(tmp_path):
    bad = check(tmp_path, fill(ACC, outputs=8, pragma="#pragma HLS DEPENDENCE variable=out type=inter distance=20 "
                                                       "dependent=true"))
    assert rules(bad) == ["a"] and "recur after 8 iterations" in bad.summary()


def test_rule_a_distance_shorter_than_the_pipeline(tmp_path):
    bad = check(tmp_path, fill(ACC, outputs=8, pragma="#pragma HLS DEPENDENCE variable=out type=inter distance=8 "
                                                       "dependent=true"))
    assert rules(bad) == ["a"] and "shorter than the loop's pipeline depth" in bad.summary()
    loop = bad.loop("acc_o")
    assert loop.depth > 8 and loop.ii == -(-loop.depth // 8)  # the estimate uses the II that follows
    ok = check(tmp_path, fill(ACC.replace("II=1", "II=2"), 
        outputs=8, pragma="#pragma HLS DEPENDENCE variable=out type=inter distance=8 dependent=true"))
    assert ok.ok, ok.summary()


def test_rule_a_scalar_recurrence_longer_than_ii(tmp_path):
    src = """
void top(const float x[64], float y[1]) {
    float acc = 0.0f;
sum: for (int i = 0; i < 64; i++) {
#pragma HLS PIPELINE II={ii}
        acc = acc + x[i];
    }
    y[0] = acc;
}
"""
    bad = check(tmp_path, fill(src, ii=1))
    assert rules(bad) == ["a"] and "acc is carried" in bad.summary() and bad.loop("sum").ii == 5  # the adder
    assert check(tmp_path, fill(src, ii=5)).ok


# ---- rule b: ports and banks -----------------------------------------------------------------------------

def test_rule_b_more_reads_than_ports(tmp_path):
    src = """
void top(const float x[64], float y[32]) {
    static float buf[64];
#pragma HLS BIND_STORAGE variable=buf type={storage} impl=bram
copy: for (int i = 0; i < 64; i++) {
#pragma HLS PIPELINE II=1
        buf[i] = x[i];
    }
pairs: for (int i = 0; i < 32; i++) {
#pragma HLS PIPELINE II=1
        y[i] = buf[2 * i] + buf[2 * i + 1];
    }
}
"""
    bad = check(tmp_path, fill(src, storage="ram_1p"))
    assert rules(bad) == ["b"] and bad.loop("pairs").ii == 2 and "buf bank 0 (ram_1p)" in bad.summary()
    assert check(tmp_path, fill(src, storage="ram_2p")).ok  # two reads, two ports


def test_rule_b_bank_chosen_at_run_time(tmp_path):
    """The v2 weight window: K words from K cyclic banks at an address known only at run time, so every read
    may reach every bank (a mux): K loads per bank and iteration. A constant bank per read passes."""
    src = """
void top(unsigned y[96]) {
    static const unsigned w[128] = {1, 2, 3};
#pragma HLS BIND_STORAGE variable=w type=rom_1p impl=bram
#pragma HLS ARRAY_PARTITION variable=w cyclic factor=4
win: for (int j = 0; j < 96; j++) {
#pragma HLS PIPELINE II=1
        const unsigned a = {address};
        unsigned s = 0;
take: for (int k = 0; k < 4; k++) {
#pragma HLS UNROLL
            s = s + w[a + k];
        }
        y[j] = s;
    }
}
"""
    bad = check(tmp_path, fill(src, address="(unsigned)(j * 13) >> 3"))
    assert rules(bad) == ["b"] and bad.loop("win").ii == 4
    assert bad.loop("win").muxes == [("w", 4, 32)]
    ok = check(tmp_path, fill(src.replace("w[128]", "w[512]"), address="(unsigned)j * 4u"))
    assert ok.ok, ok.summary()  # groups start on multiples of 4: read k always hits bank k


def test_rule_b_stream_read_twice(tmp_path):
    src = """
void top(fifo_t &s, float y[32]) {
two: for (int i = 0; i < 32; i++) {
#pragma HLS PIPELINE II={ii}
        const float a = s.read();
        const float b = s.read();
        y[i] = a + b;
    }
}
"""
    assert rules(check(tmp_path, fill(src, ii=1))) == ["b"]
    assert check(tmp_path, fill(src, ii=2)).ok


# ---- rule c: dividers ------------------------------------------------------------------------------------

def test_rule_c_division_by_a_non_power_of_two(tmp_path):
    src = """
void top(const unsigned x[64], unsigned y[64]) {
div: for (int i = 0; i < 64; i++) {
#pragma HLS PIPELINE II=1
        y[i] = (x[i] {op} {d}u) + (unsigned)i;
    }
}
"""
    for op in ("/", "%"):
        bad = check(tmp_path, fill(src, op=op, d=36))
        assert rules(bad) == ["c"] and f"'{op}' by 36" in bad.summary()
        assert check(tmp_path, fill(src, op=op, d=64)).ok  # a shift or a mask
    assert rules(check(tmp_path, fill(src.replace("{d}u", "x[63 - i]"), op="/", d=0))) == ["c"]


# ---- rules d and e: dataflow -----------------------------------------------------------------------------

DATAFLOW = """
static void load(const float *g, float a[64]) {
ld: for (int i = 0; i < 64; i++) {
#pragma HLS PIPELINE II=1
        a[i] = g[i];
    }
}
static void scale(const float a[64], float b[64]) {
sc: for (int i = 0; i < 64; i++) {
#pragma HLS PIPELINE II=1
        b[i] = a[i] * 2.0f;
    }
}
static void add(const float a[64], const float b[64], float c[64]) {
ad: for (int i = 0; i < 64; i++) {
#pragma HLS PIPELINE II=1
        c[i] = a[i] + b[i];
    }
}
static void store(const float c[64], const float *g2, float y[64]) {
st: for (int i = 0; i < 64; i++) {
#pragma HLS PIPELINE II=1
        y[i] = c[i] + g2[i];
    }
}
void top(const float *g, const float *h, float y[64]) {
#pragma HLS INTERFACE m_axi port=g offset=slave bundle=gmem0
#pragma HLS INTERFACE m_axi port=h offset=slave bundle=gmem1
#pragma HLS DATAFLOW
    float a[64];
    float b[64];
    float c[64];
{calls}
}
"""


def test_rule_d_one_m_axi_argument_in_two_processes(tmp_path):
    bad = check(tmp_path, fill(DATAFLOW, calls="    load(g, a);\n    scale(a, b);\n    store(b, g, y);"))
    assert rules(bad) == ["d"] and "m_axi argument g is used by 2 processes (load, store)" in bad.summary()
    ok = check(tmp_path, fill(DATAFLOW, calls="    load(g, a);\n    scale(a, b);\n    store(b, h, y);"))
    assert ok.ok, ok.summary()
    assert ok.modules["top"].dataflow and ok.modules["top"].interval == max(m.latency for k, m in ok.modules.items()
                                                                           if k != "top")


def test_rule_e_multi_consumer_and_bypass(tmp_path):
    bad = check(tmp_path, fill(DATAFLOW, calls="    load(g, a);\n    scale(a, b);\n    add(a, b, c);\n"
                                                "    store(c, h, y);"))
    assert rules(bad) == ["e"] and "channel a has 1 writer(s) and 2 reader(s)" in bad.summary()
    bypass = check(tmp_path, fill(DATAFLOW, calls="    load(g, a);\n    scale(b, c);\n    add(a, c, b);\n"
                                                   "    store(b, h, y);"))
    assert "e" in rules(bypass) and "bypassing" in bypass.summary()


def test_unsupported_code_is_refused_in_one_line(tmp_path):
    from pycompress.hw.hls.check.cparse import ParseError

    with pytest.raises(ParseError, match="while"):
        check(tmp_path, "void top(int x[4]) { int i = 0; while (i < 4) { x[i] = 0; i++; } }")
