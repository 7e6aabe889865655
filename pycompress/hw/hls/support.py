"""Which layer graph ops the HLS kernel has: any other is one line naming the layer, before anything is written."""
from __future__ import annotations

from pycompress.core.errors import PycompressError
from pycompress.core.graph import Graph

HLS_OPS = ("conv2d", "linear", "relu", "maxpool2d", "avgpool2d", "flatten", "globalavgpool", "add")


def require_hls(graph: Graph) -> None:
    for layer in graph.layers:
        if getattr(layer, "padding", 0) and layer.op != "conv2d":
            raise PycompressError(f"layer {layer.name!r} ({layer.op} with padding {layer.padding}) has no HLS kernel "
                                  "yet; stats, compress, evaluate and the lossy commands work on this model")
        if layer.op not in HLS_OPS:
            what = f"{layer.op} {layer.function}" if layer.op == "activation" else layer.op
            raise PycompressError(f"layer {layer.name!r} ({what}) has no HLS kernel yet (supported: {', '.join(HLS_OPS)}); "
                                  "stats, compress, evaluate and the lossy commands work on this model")
