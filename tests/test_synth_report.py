"""Yosys resource counts: stat parsing, and big weight tables really map to block RAM."""
from __future__ import annotations

import numpy as np
import pytest

from pycompress.core.errors import PycompressError
from pycompress.hw.rtl.images import RTL_DIR, hex_lines
from pycompress.hw.rtl.synth_report import Resources, format_table, resources_from_stat, synthesise


def test_resources_from_stat_counts_primitives():
    stat = {"modules": {"\\top": {"num_cells_by_type": {
        "LUT2": 3, "LUT6": 4, "FDRE": 10, "FDSE": 1, "RAMB18E1": 2, "RAMB36E1": 3, "DSP48E1": 1, "RAM64X1D": 2,
        "IBUF": 9, "CARRY4": 5}}}}
    r = resources_from_stat("d", stat)
    # slice LUTs: 7 logic LUTs + 2 LUTs in each RAM64X1D (a dual-port 64 x 1 RAM takes two LUT sites)
    assert r == Resources("d", lut=7, lutram=2, ff=11, ramb18=2, ramb36=3, dsp=1, lut_sites=11)
    assert r.bram18k == 8 and r.slice_luts == 11
    assert "d" in format_table([("bf16", r)])
    with pytest.raises(PycompressError):
        resources_from_stat("d", {"modules": {}})


def _rom(tmp_path, depth: int, width: int, block: int) -> Resources:
    rng = np.random.default_rng(0)
    (tmp_path / "table.mem").write_text(hex_lines(rng.integers(0, 1 << width, depth), width) + "\n")
    params = {"WIDTH": width, "DEPTH": depth, "INIT_FILE": "table.mem", "BLOCK": block}
    return synthesise(f"table_rom {depth}x{width}", "table_rom", tmp_path, [RTL_DIR / "table_rom.sv"], params)


@pytest.mark.yosys
@pytest.mark.slow
def test_large_table_maps_to_block_ram(tmp_path):
    """fc1's 30,720-entry mantissa table (7 bits, BF16) lands in RAMB primitives, not LUTs."""
    r = _rom(tmp_path, 30720, 7, block=1)
    assert r.ramb18 + r.ramb36 > 0
    assert r.lutram == 0 and r.lut < 50  # only address/output glue, no table in logic
    assert r.bram18k >= -(-30720 * 7 // 18432)  # at least the bits it holds


@pytest.mark.yosys
@pytest.mark.slow
def test_small_rom_stays_out_of_block_ram(tmp_path):
    """An exponent ROM of 16 entries is left to LUTs (BLOCK=0), as the decoders ask."""
    r = _rom(tmp_path, 16, 8, block=0)
    assert r.ramb18 + r.ramb36 == 0
