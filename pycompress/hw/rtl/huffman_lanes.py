"""Entropy-coded lanes of the RTL engine (rtl/lane_hsrc.sv): each lane's own record stream and the decode tables.

A huffman tensor codes each weight's symbol (exponent field and the top `head`
mantissa bits) with a length-limited canonical Huffman code and stores its sign and
mantissa rest beside it. A lane of the engine reads its weights in its own order
(`layout.bunch_lane_order`), so each lane gets its own stream of records, in that
order: code, sign, rest, back to back, MSB first, packed into 36-bit words by the
HLS kernel's packer (`layout.pack_stream` bit order); the code table is the tensor's
own (`canonical_codes` of its stored lengths). Canonical decoding needs three small
tables, written once per layer: the left-justified limit of each code length, the
first sorted symbol index of each length minus its first code, and the symbols in
(length, symbol) order. Everything from hw/huffman_layout.py's HuffmanTables.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pycompress.hw.huffman_layout import HuffmanTables
from pycompress.hw.layout import STREAM_WORD_BITS, bunch_lane_order
from pycompress.hw.plan.cost_rtl import EngineConfig
from pycompress.schemes.huffman.huffman import canonical_codes
from .images import _env, hex_lines


@dataclass(frozen=True)
class HuffmanLaneTables:
    """What lane_hsrc is built with: field widths, the canonical decode tables and the records of each weight."""

    head: int
    rest: int
    max_len: int  # L: the longest code in use (0 for a single symbol)
    limits: np.ndarray  # L entries, L + 1 bits
    bases: np.ndarray  # L entries, two's complement in sym_bits + 1 bits
    sorted_symbols: np.ndarray  # the symbols in (length, symbol) order
    sym_bits: int
    record_values: np.ndarray  # per weight in C order: code | sign | rest
    record_bits: np.ndarray  # per weight: code length + 1 + rest


def lane_tables(t: HuffmanTables) -> HuffmanLaneTables:
    ht = t.tensor
    fmt = t.format
    bits = ht.decode_bits().reshape(-1).astype(np.uint64)
    m, e = fmt.mantissa_bits, fmt.exponent_bits
    head, rest = t.head, t.rest_bits
    mant = bits & np.uint64((1 << m) - 1)
    expo = (bits >> np.uint64(m)) & np.uint64((1 << e) - 1)
    sign = (bits >> np.uint64(m + e)) & np.uint64(1)
    value = (expo << np.uint64(head)) | (mant >> np.uint64(m - head))
    symbols = np.asarray(ht.symbols, np.uint64)
    index = np.searchsorted(symbols, value)
    lengths = np.asarray(ht.code_lengths, np.int64)
    codes = canonical_codes(lengths).astype(np.uint64)
    rests = t.rest()
    clen = lengths[index]
    record = (codes[index] << np.uint64(1 + rest)) | (sign << np.uint64(rest)) | rests
    max_len = int(lengths.max()) if lengths.size > 1 else 0
    order = np.lexsort((np.arange(lengths.size), lengths))
    sorted_symbols = symbols[order]
    limits = np.zeros(max(max_len, 1), np.uint64)
    bases = np.zeros(max(max_len, 1), np.int64)
    sym_bits = max(1, (int(symbols.size) - 1).bit_length())
    first_index = 0
    for l in range(1, max_len + 1):  # canonical: the codes of length l are consecutive, after the shorter ones
        members = order[lengths[order] == l]
        count = int(members.size)
        first_code = int(codes[members[0]]) if count else (int(limits[l - 2]) >> (max_len - l + 1) << 1 if l > 1 else 0)
        limits[l - 1] = (first_code + count) << (max_len - l)
        bases[l - 1] = first_index - first_code
        first_index += count
    mask = (1 << (sym_bits + 1)) - 1
    return HuffmanLaneTables(head, rest, max_len, limits, (bases & mask).astype(np.uint64), sorted_symbols, sym_bits,
                             record, (clen + 1 + rest).astype(np.int64))


def pack_records(values: np.ndarray, lengths: np.ndarray, word_bits: int = STREAM_WORD_BITS) -> np.ndarray:
    """Variable-length records back to back, MSB first, in `word_bits`-bit words, the last one zero padded."""
    lengths = np.asarray(lengths, np.int64)
    total = int(lengths.sum())
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    which = np.repeat(np.arange(lengths.size), lengths)
    pos = np.arange(total) - starts[which]
    bitv = (np.asarray(values, np.uint64)[which] >> (lengths[which] - 1 - pos).astype(np.uint64)) & np.uint64(1)
    bitv = np.concatenate([bitv, np.zeros(-total % word_bits, np.uint64)]).reshape(-1, word_bits)
    weights = np.uint64(1) << np.arange(word_bits - 1, -1, -1, dtype=np.uint64)
    return (bitv * weights).sum(axis=1, dtype=np.uint64)


def lane_streams(t: HuffmanTables, cfg: EngineConfig, lt: HuffmanLaneTables | None = None) -> list[np.ndarray]:
    """Each lane's record stream as 36-bit words."""
    lt = lt or lane_tables(t)
    outputs = t.tensor.shape[0]
    order = bunch_lane_order(outputs, t.depth // outputs, cfg.pc, cfg.k, cfg.order_taps)
    return [pack_records(lt.record_values[order[l]], lt.record_bits[order[l]]) for l in range(cfg.pc)]


def lane_bits(t: HuffmanTables, cfg: EngineConfig) -> int:
    """Stream bits of the largest lane (for the cost model and the memory rules)."""
    lt = lane_tables(t)
    outputs = t.tensor.shape[0]
    order = bunch_lane_order(outputs, t.depth // outputs, cfg.pc, cfg.k, cfg.order_taps)
    return int(lt.record_bits[order].sum(axis=1).max())


def huffman_lane_images(t: HuffmanTables, cfg: EngineConfig, bias_bits: np.ndarray | None, prefix: str) -> dict[str, str]:
    """Every image of one entropy-coded MAC layer: the lanes' record streams and biases, the decode tables."""
    mem = _env().get_template("table.mem.j2")
    lt = lane_tables(t)
    files = {
        f"{prefix}_hlimit.mem": mem.render(ident=t.ident, table="code length limits", depth=int(lt.limits.size),
                                           width=lt.max_len + 1, body=hex_lines(lt.limits, lt.max_len + 1)),
        f"{prefix}_hbase.mem": mem.render(ident=t.ident, table="first index minus first code", depth=int(lt.bases.size),
                                          width=lt.sym_bits + 1, body=hex_lines(lt.bases, lt.sym_bits + 1)),
        f"{prefix}_hsym.mem": mem.render(ident=t.ident, table="symbols by code", depth=int(lt.sorted_symbols.size),
                                         width=t.upper_bits, body=hex_lines(lt.sorted_symbols, t.upper_bits)),
    }
    outputs = t.tensor.shape[0]
    bias = np.zeros(outputs, np.uint32) if bias_bits is None else np.asarray(bias_bits, np.uint32).reshape(-1)
    kk, bb = np.divmod(np.arange(cfg.groups), cfg.bunch)
    for lane, words in enumerate(lane_streams(t, cfg, lt)):
        files[f"{prefix}_l{lane:02d}_code.mem"] = mem.render(
            ident=t.ident, table=f"lane {lane} record stream", depth=int(words.size), width=STREAM_WORD_BITS,
            body=hex_lines(words, STREAM_WORD_BITS))
        files[f"{prefix}_l{lane:02d}_bias.mem"] = mem.render(
            ident=t.ident, table=f"lane {lane} bias", depth=cfg.groups, width=32,
            body=hex_lines(bias[kk * cfg.pc * cfg.bunch + lane * cfg.bunch + bb], 32))
    return files
