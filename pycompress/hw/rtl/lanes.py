"""Memory images of the RTL engine's lanes (rtl/mac_engine.sv, rtl/lane_wsrc.sv): codes, biases, the ROM.

Per MAC layer and channel lane l, in the order the lane consumes them
(`layout.bunch_lane_order`): `<prefix>_lNN_code.mem`, the lane's codes, either one
per line (a small table, left to LUTs) or packed back to back by the HLS kernel's
packer (`layout.pack_stream`) into stream words of 18 or 36 bits (the stream's 36-bit
words split in two when the codes fit 18: the same bit string); `<prefix>_lNN_bias.mem`,
the lane's biases as float32 bits at index k*B + b; and `<prefix>_rom.mem`, the
exponent ROM or codebook every lane's decoder reads. Deterministic, vectorised.
"""
from __future__ import annotations

import numpy as np

from pycompress.hw.layout import LayerTables, bunch_lane_order, pack_stream
from pycompress.hw.plan.cost_rtl import EngineConfig, stream_word_bits
from .images import _env, hex_lines


def lane_codes(t: LayerTables, cfg: EngineConfig) -> tuple[np.ndarray, int, np.ndarray]:
    """(codes per lane (P, R*G) in consumption order, code bits, order) of a weight's tables."""
    codes, bits = t.stream_codes()
    outputs = t.shape[0]
    order = bunch_lane_order(outputs, codes.size // outputs, cfg.pc, cfg.k, cfg.order_taps)
    return codes[order], bits, order


def stream_words(codes: np.ndarray, bits: int) -> tuple[np.ndarray, int]:
    """One lane's codes packed (pack_stream, 36-bit words) and cut into stream words of the RTL width: (words, width)."""
    width = stream_word_bits(bits)
    s = pack_stream(codes, bits)
    words36 = s.words
    if width == 18:
        words36 = np.stack([words36 >> np.uint64(18), words36 & np.uint64((1 << 18) - 1)], axis=1).reshape(-1)
    used = -(-codes.size * bits // width)
    return words36[:used], width


def lane_images(t: LayerTables, cfg: EngineConfig, packed: bool, bias_bits: np.ndarray | None,
                prefix: str) -> dict[str, str]:
    """Every image of one MAC layer's lanes: file name -> text."""
    mem = _env().get_template("table.mem.j2")
    files: dict[str, str] = {}
    codes, bits, _ = lane_codes(t, cfg)
    rom, rom_width = t.rom
    files[f"{prefix}_rom.mem"] = mem.render(ident=t.ident, table=t.rom_label, depth=int(np.size(rom)), width=rom_width,
                                            body=hex_lines(rom, rom_width))
    outputs = t.shape[0]
    bias = np.zeros(outputs, np.uint32) if bias_bits is None else np.asarray(bias_bits, np.uint32).reshape(-1)
    for lane in range(cfg.pc):
        if packed:
            words, width = stream_words(codes[lane], bits)
            files[f"{prefix}_l{lane:02d}_code.mem"] = mem.render(
                ident=t.ident, table=f"lane {lane} code stream ({bits}-bit codes)", depth=int(words.size), width=width,
                body=hex_lines(words, width))
        else:
            files[f"{prefix}_l{lane:02d}_code.mem"] = mem.render(
                ident=t.ident, table=f"lane {lane} codes", depth=int(codes[lane].size), width=bits,
                body=hex_lines(codes[lane], bits))
        # bias of output k*P*B + lane*B + b at index k*B + b
        kk, bb = np.divmod(np.arange(cfg.groups), cfg.bunch)
        files[f"{prefix}_l{lane:02d}_bias.mem"] = mem.render(
            ident=t.ident, table=f"lane {lane} bias", depth=cfg.groups, width=32,
            body=hex_lines(bias[kk * cfg.pc * cfg.bunch + lane * cfg.bunch + bb], 32))
    return files
