"""The PyTorch model a layer graph describes, for top-1 agreement checks against the kernel."""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..graph import AvgPool2d, Conv2d, Flatten, Graph, Linear, MaxPool2d, ReLU


def torch_model(graph: Graph, params: dict[str, np.ndarray]) -> nn.Sequential:
    """nn.Sequential with the given float32 weights (BN already folded), in eval mode."""
    mods: list[nn.Module] = []
    for layer in graph.layers:
        if isinstance(layer, Conv2d):
            m = nn.Conv2d(layer.in_channels, layer.out_channels, layer.kernel, layer.stride, layer.padding, bias=bool(layer.bias))
        elif isinstance(layer, Linear):
            m = nn.Linear(layer.in_features, layer.out_features, bias=bool(layer.bias))
        elif isinstance(layer, ReLU):
            m = nn.ReLU()
        elif isinstance(layer, MaxPool2d):
            m = nn.MaxPool2d(layer.kernel, layer.stride)
        elif isinstance(layer, AvgPool2d):
            m = nn.AvgPool2d(layer.kernel, layer.stride)
        elif isinstance(layer, Flatten):
            m = nn.Flatten()
        else:  # pragma: no cover
            raise TypeError(type(layer).__name__)
        if isinstance(layer, (Conv2d, Linear)):
            with torch.no_grad():
                m.weight.copy_(torch.from_numpy(params[layer.weight]))
                if layer.bias:
                    m.bias.copy_(torch.from_numpy(params[layer.bias]))
        mods.append(m)
    return nn.Sequential(*mods).eval()


@torch.no_grad()
def torch_forward(graph: Graph, params: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    model = torch_model(graph, params)
    xt = torch.from_numpy(np.asarray(x, np.float32).reshape(-1, *graph.input_shape))
    return torch.cat([model(xt[i:i + 500]) for i in range(0, len(xt), 500)]).numpy()
