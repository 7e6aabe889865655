"""What every hardware writer starts from: the layer graph, float32 parameters and the tables of each scheme.

The weight stream a MAC layer's lanes read is described by the tensor's tables
(hw/layout.py for exponent sharing and clustering, hw/huffman_layout.py for
entropy coding): each scheme says once what its code is (`code_bits`,
`cost_scheme`, `rom_bits`, `element_bits`), and `weight_stream` turns that into
the plan's WeightStream for the compressed kernel or a baseline.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pycompress.core.container import CompressedModel
from pycompress.core.errors import PycompressError
from pycompress.core.formats import tensor_bits
from pycompress.core.graph import Graph, graph_of
from pycompress.hw.huffman_layout import HuffmanTables, huffman_tables, is_huffman
from pycompress.hw.layout import ClusterTables, ExpShareTables, layer_tables
from .memory import WeightStream

KERNEL_FORMATS = ("fp32", "bf16", "fp16")
KERNELS = ("compressed", "raw", "float")  # exponent-shared/clustered; raw bits in the storage format; float32


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


def weight_stream(km: KernelModel, name: str, kernel: str) -> WeightStream:
    """The stream of one weight in the chosen kernel: the scheme's codes (compressed), the raw bits in the
    storage format (raw), or float32 bits (float, and any weight stored without tables)."""
    t = km.tables.get(name)
    if t is not None and kernel == "compressed":
        return WeightStream(t.cost_scheme, t.format.name, t.code_bits, t.depth, t.rom_bits)
    if t is not None and kernel == "raw":
        return WeightStream("raw", t.format.name, t.format.total_bits, t.depth)
    return WeightStream("float", "fp32", 32, int(km.params[name].size))


def element_bits(km: KernelModel, name: str, kernel: str) -> int:
    """Bits of one entry of a random-access table (biases): the scheme's element code in the compressed
    kernel when it has a random-access decoder, else float32."""
    t = km.tables.get(name)
    bits = t.element_bits if t is not None and kernel == "compressed" else None
    return 32 if bits is None else bits
