"""The DDR weight path's sizes (`--weights ddr`): beat width, FIFO depths, beats per stream and per group.

Facts the cost model and the HLS writer share; the image itself is written by
hw/hls/ddr.py.
"""
from __future__ import annotations

import math

from pycompress.hw.layout import window_words

DDR_WORD_BITS = 64  # AXI data width of the m_axi port (a Zynq-7000 HP port is 64 bits wide)
DDR_FIFO_DEPTH = 64  # beats between the burst reader and the unpacker (one 64-beat burst in flight)
DDR_GROUP_FIFO_DEPTH = 4  # groups of P codes between the unpacker and the MAC loop (they run in step)


def ddr_words(payload_bits: int) -> int:
    """64-bit beats one stream of `payload_bits` bits occupies (and moves, once per image)."""
    return math.ceil(payload_bits / DDR_WORD_BITS)


def ddr_window(code_bits: int, lanes: int) -> int:
    """64-bit words the reader keeps in its window so that any group of `lanes` codes lies inside it."""
    return window_words(code_bits, lanes, DDR_WORD_BITS)


def ddr_shifts(code_bits: int, lanes: int) -> int:
    """Beats the unpacker may have to take in for one group (its II): groups start at multiples of
    gcd(group, 64) bits in a word, so at most (64 - gcd + group) // 64 words are passed per group."""
    group = code_bits * lanes
    return (DDR_WORD_BITS - math.gcd(group, DDR_WORD_BITS) + group) // DDR_WORD_BITS
