"""HLS C++ decoder of the `huffman` scheme: render it for given tensors and check it in C simulation.

Python passes plain values (stream words, tables, widths) to the templates
`huffman_decode.h.j2` (the II=1 decoder), `huffman_tensors.h.j2` and `huffman_csim.cpp.j2`;
`csim` compiles them with g++ and the ap_types headers of the installed hls4ml package
and returns every decoded weight, to be compared bit for bit with the Python decode.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import PycompressError
from ..hls.templates import render
from ..hwnames import ModelName
from .layout import HuffmanTables, tensor_tables, words
from .scheme import HuffmanTensor

SOURCES = {"huffman_decode.h": "huffman_decode.h.j2", "huffman_tensors.h": "huffman_tensors.h.j2",
           "huffman_csim.cpp": "huffman_csim.cpp.j2"}


@dataclass(frozen=True)
class DecoderTensor:
    """Plain values the templates need for one tensor."""

    name: ModelName  # rendered only through |cpp_comment
    ident: str
    format: str
    n: int
    total: int  # format width
    mant_bits: int  # format mantissa width
    head: int
    mw: int  # fixed-width mantissa bits per weight
    mww: int  # mantissa stream word width
    drop: int  # low mantissa bits not stored (zero)
    symw: int
    nsym: int
    max_len: int
    lutw: int
    code: np.ndarray
    sign: np.ndarray
    mant: np.ndarray
    symbols: np.ndarray
    lut: np.ndarray


def decoder_tensor(t: HuffmanTables) -> DecoderTensor:
    """Template values from the shared packer (entropy.layout), at its hardware window."""
    st = t.tensor
    mw = t.rest_bits
    mww = 16 if mw <= 16 else 32
    lutw = 4 + max(1, int(st.distinct_symbols - 1).bit_length())  # <= 16: symbol index < 2^12
    n = st.numel
    return DecoderTensor(
        name=ModelName(t.name), ident=t.ident, format=t.format.name, n=n, total=t.format.total_bits,
        mant_bits=t.format.mantissa_bits, head=t.head, mw=mw, mww=mww, drop=t.drop, symw=t.upper_bits,
        nsym=st.distinct_symbols, max_len=t.window, lutw=lutw,
        code=t.code_words(pad=2),  # + 2 words: the refill may read past the last code
        sign=words(st.sign, 16, -(-n // 16)),
        mant=words(st.mantissa, mww, max(1, -(-st.mantissa.size // (mww // 8)) + 1)),
        symbols=st.symbols.astype(np.uint64),
        lut=t.lut(index=True),
    )


def write_decoder(tensors: dict[str, HuffmanTensor], folder: str | Path) -> Path:
    """Render the decoder, the tensors' streams and the C-simulation main into `folder`."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    values = [decoder_tensor(t) for t in tensor_tables(tensors)]
    for out, template in SOURCES.items():
        (folder / out).write_text(render(template, tensors=values))
    return folder


def csim(tensors: dict[str, HuffmanTensor], folder: str | Path) -> dict[str, np.ndarray]:
    """Compile and run the C simulation; the decoded raw bits of every tensor (flat, storage dtype)."""
    from ..hls.project import ap_types_dir

    folder = write_decoder(tensors, folder)
    cxx = os.environ.get("CXX", "g++")
    if shutil.which(cxx) is None:
        raise PycompressError(f"C++ compiler {cxx!r} not found (C simulation needs g++)")
    exe = folder / "huffman_csim"
    res = subprocess.run([cxx, "-O2", "-std=c++14", "-w", "-I", str(ap_types_dir()), "-I", str(folder),
                          str(folder / "huffman_csim.cpp"), "-o", str(exe)], capture_output=True, text=True)
    if res.returncode != 0:
        first = next((line for line in res.stderr.splitlines() if "error" in line), res.stderr.strip()[:300])
        raise PycompressError(f"g++ failed on {folder}: {first}")
    run = subprocess.run([str(exe)], cwd=folder, capture_output=True, text=True)
    if run.returncode != 0:
        raise PycompressError(f"{exe} failed: {run.stderr.strip()[:300]}")
    out = {}
    for t in tensor_tables(tensors):
        name, st, ident = t.name, t.tensor, t.ident
        dtype = st.fmt.uint_dtype.newbyteorder("<")
        out[name] = np.fromfile(folder / f"{ident}.bin", dtype=dtype).astype(st.fmt.uint_dtype)
    return out
