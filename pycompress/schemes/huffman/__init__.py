"""Lossless entropy coding of exponents (issue 15): the `huffman` container scheme and its codec."""
from .huffman import DEFAULT_MAX_LEN, canonical_codes, check_lengths, decode_table, package_merge
from .scheme import DEFAULT_BLOCK, HuffmanTensor, encode, encode_bits, huffman_stored_bits

__all__ = ["DEFAULT_BLOCK", "DEFAULT_MAX_LEN", "HuffmanTensor", "canonical_codes", "check_lengths", "decode_table",
           "encode", "encode_bits", "huffman_stored_bits", "package_merge"]
