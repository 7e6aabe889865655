"""The PyTorch model a layer graph describes, for top-1 agreement checks against the kernel."""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from pycompress.core.graph import (Activation, Add, AvgPool2d, Conv2d, Flatten, GlobalAvgPool, Graph, Linear, MaxPool2d,
    ReLU, ScaleShift, Softmax)
from .layers import ScaleShift as ScaleShiftModule, torch_activation


class GraphModule(nn.Module):
    """Runs the layers in order, each reading the activations the graph names (residual adds included)."""

    def __init__(self, graph: Graph, mods: list[nn.Module]) -> None:
        super().__init__()
        self.sources = graph.sources()
        self.layers = nn.ModuleList(mods)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        acts = [x]
        for mod, src in zip(self.layers, self.sources):
            acts.append(mod(*(acts[i] for i in src)))
        return acts[-1]


class _Add(nn.Module):
    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return a + b


def _module(layer) -> nn.Module:
    if isinstance(layer, Conv2d):
        return nn.Conv2d(layer.in_channels, layer.out_channels, layer.kernel, layer.stride, layer.padding, bias=bool(layer.bias))
    if isinstance(layer, Linear):
        return nn.Linear(layer.in_features, layer.out_features, bias=bool(layer.bias))
    if isinstance(layer, Activation):
        return torch_activation(layer.function, layer.params)
    if isinstance(layer, ScaleShift):
        return ScaleShiftModule(layer.channels)
    simple = {ReLU: nn.ReLU, Flatten: nn.Flatten, Add: _Add, GlobalAvgPool: lambda: nn.AdaptiveAvgPool2d(1),
              Softmax: lambda: nn.Softmax(dim=1)}
    if type(layer) in simple:
        return simple[type(layer)]()
    if isinstance(layer, MaxPool2d):
        return nn.MaxPool2d(layer.kernel, layer.stride, layer.padding)
    if isinstance(layer, AvgPool2d):
        return nn.AvgPool2d(layer.kernel, layer.stride, layer.padding)
    raise TypeError(type(layer).__name__)  # pragma: no cover


def torch_model(graph: Graph, params: dict[str, np.ndarray]) -> nn.Module:
    """The graph as a module with the given float32 weights (BN already folded), in eval mode."""
    mods: list[nn.Module] = []
    for layer in graph.layers:
        m = _module(layer)
        if isinstance(layer, (Conv2d, Linear)):
            with torch.no_grad():
                m.weight.copy_(torch.from_numpy(params[layer.weight]))
                if layer.bias:
                    m.bias.copy_(torch.from_numpy(params[layer.bias]))
        elif isinstance(layer, ScaleShift):
            with torch.no_grad():
                m.scale.copy_(torch.from_numpy(params[layer.scale]))
                m.shift.copy_(torch.from_numpy(params[layer.shift]))
        mods.append(m)
    return GraphModule(graph, mods).eval()


@torch.no_grad()
def torch_forward(graph: Graph, params: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    model = torch_model(graph, params)
    xt = torch.from_numpy(np.asarray(x, np.float32).reshape(-1, *graph.input_shape))
    return torch.cat([model(xt[i:i + 500]).reshape(len(xt[i:i + 500]), -1) for i in range(0, len(xt), 500)]).numpy()
