"""What every hardware writer starts from: the layer graph, float32 parameters and the tables of each scheme.

The weight stream a MAC layer's lanes read is described by the tensor's tables
(hw/layout.py for exponent sharing and clustering, hw/huffman_layout.py for
entropy coding): each scheme says once what its code is (`code_bits`,
`rom_bits`, `raw_codes`), and `weight_stream` turns that into the plan's
WeightStream (a table of codes in loop order) for the compressed kernel or a
baseline (raw bits, the offset exponent, float32).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pycompress.core.container import CompressedModel
from pycompress.core.errors import PycompressError
from pycompress.core.formats import tensor_bits
from pycompress.core.graph import Graph, graph_of
from pycompress.hw.huffman_layout import HuffmanTables, huffman_tables, is_huffman
from pycompress.hw.layout import ClusterTables, ExpShareTables, layer_tables, offset_codes
from .memory import HuffmanShape, WeightStream

KERNEL_FORMATS = ("fp32", "bf16", "fp16")
# exponent-shared/clustered/entropy-coded; raw bits in the storage format; the offset exponent; float32
KERNELS = ("compressed", "raw", "offset", "float")


@dataclass(frozen=True)
class KernelModel:
    """What both the generator and the reference need: graph, float32 parameter values, table layouts."""

    graph: Graph
    params: dict[str, np.ndarray]  # state_dict key -> float32 values as the kernel sees them (decoded, widened)
    tables: dict[str, ExpShareTables | ClusterTables | HuffmanTables]  # encoded params only
    format: str


def kernel_model(cm: CompressedModel) -> KernelModel:
    graph = graph_of(cm.graph, cm.info.get("no_graph")[:300] if isinstance(cm.info.get("no_graph"), str) else None)
    tables = {t.name: t for t in (huffman_tables(cm) if is_huffman(cm) else layer_tables(cm))}
    params = {}
    for name in graph.param_names():
        if name not in cm.tensors and name not in cm.raw:
            raise PycompressError(f"layer graph needs tensor {name!r}, which the compressed model does not hold")
        t = tables.get(name)
        if t is not None and t.format.name not in KERNEL_FORMATS:
            raise PycompressError(f"tensor {name!r} is stored in {t.format.name}; the HLS kernel supports {', '.join(KERNEL_FORMATS)}")
        value = cm.tensors[name].decode() if name in cm.tensors else cm.raw[name]
        if not value.is_floating_point():
            raise PycompressError(f"tensor {name!r} is not floating point ({value.dtype})")
        params[name] = tensor_bits(value.float()).view(np.float32).copy()
    return KernelModel(graph, params, tables, cm.format)


def check_kernel(kernel: str) -> None:
    if kernel not in KERNELS:
        raise PycompressError(f"unknown kernel {kernel!r} (choose from {', '.join(KERNELS)})")


def bias_kernel(km: KernelModel, name: str, kernel: str) -> str:
    """The kernel a bias table is held in: float32 for an entropy-coded bias of the compressed kernel (the Huffman
    decoders serve weight streams; a bias is read once per output), else `kernel`."""
    return "float" if kernel == "compressed" and isinstance(km.tables.get(name), HuffmanTables) else kernel


def weight_stream(km: KernelModel, name: str, kernel: str, outputs: int = 0, reduction: int = 1) -> WeightStream:
    """The table of one weight (or bias: reduction 1) in the chosen kernel, `outputs` x `reduction` codes: the
    scheme's codes (compressed), the raw bits in the storage format (raw), each exponent minus the tensor's
    smallest at the width of its range (offset), or float32 bits (float, and any tensor stored without tables)."""
    t = km.tables.get(name)
    outputs = outputs or int(km.params[name].size) // reduction
    if t is None or kernel == "float":
        return WeightStream("float", "fp32", 32, int(km.params[name].size), 0, outputs, reduction)
    fmt = t.format.name
    if kernel == "compressed":
        if isinstance(t, HuffmanTables):
            st = t.tensor
            nsym = int(st.distinct_symbols)
            h = HuffmanShape(int(st.code_bits), int(st.numel), t.rest_bits, t.window,
                             4 + max(1, (nsym - 1).bit_length()), nsym, t.upper_bits)
            return WeightStream("huffman", fmt, t.code_bits, t.depth, 0, outputs, reduction, h)
        return WeightStream(t.scheme, fmt, t.code_bits, t.depth, t.rom_bits, outputs, reduction)
    if kernel == "offset" and not isinstance(t, ClusterTables):
        bits, _ = t.raw_codes()
        mant = t.tensor.mantissa_bits if isinstance(t, HuffmanTables) else t.mantissa_bits
        o = offset_codes(bits, t.format, mant)
        return WeightStream("offset", fmt, o.code_bits, t.depth, 0, outputs, reduction)
    return WeightStream("raw", fmt, t.format.total_bits, t.depth, 0, outputs, reduction)
