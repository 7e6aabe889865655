"""Stage 2: the lossless storage schemes, each one file or folder with its encode, decode and
stored-field validation: exponent sharing (`expshare`), codebooks from clustering (`codebook`),
entropy-coded exponents (`huffman/`), codebooks with entropy-coded indices (`coded_codebook`). Each registers its tensor class with the container.

May import: core.
"""
from . import codebook, coded_codebook, expshare, huffman  # noqa: F401  (registers every scheme with the container)
