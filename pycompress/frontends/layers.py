"""The torch side of the graph's element-wise layers: which torch modules and functions are which
`Activation`, the per-channel scale-and-shift module a batch norm becomes when it has no
convolution to fold into, and the torch module of each graph activation (for the network rebuilt
from a layer graph, which computes with torch's own functions)."""
from __future__ import annotations

import torch
from torch import nn

from pycompress.core.errors import PycompressError


class ScaleShift(nn.Module):
    """y = x * scale[c] + shift[c] on channel dimension 1 (two float32 roundings, as the kernels compute)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(channels))
        self.shift = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = (1, -1) + (1,) * (x.dim() - 2)
        return x * self.scale.reshape(shape) + self.shift.reshape(shape)


def trace(module: nn.Module):
    """torch.fx trace of `module` with ScaleShift kept as one call (a leaf, like torch's own layers)."""
    import torch.fx

    class Tracer(torch.fx.Tracer):
        def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
            return isinstance(m, ScaleShift) or super().is_leaf_module(m, qualname)

    try:
        graph = Tracer().trace(module)
    except Exception as exc:  # fx raises many kinds for untraceable control flow
        raise PycompressError(f"cannot trace {type(module).__name__} with torch.fx: {str(exc).splitlines()[0]}") from None
    return torch.fx.GraphModule(module, graph, type(module).__name__)


def _gelu(approximate: str) -> tuple[str, tuple[float, ...]]:
    if approximate not in ("none", "tanh"):
        raise PycompressError(f"GELU with approximate={approximate!r} is not supported (only 'none' or 'tanh')")
    return ("gelu" if approximate == "none" else "gelu_tanh", ())


def module_activation(mod: nn.Module) -> tuple[str, tuple[float, ...]] | None:
    """(function, params) of an activation module other than ReLU, or None when it is not one."""
    if isinstance(mod, nn.ReLU6):
        return ("hardtanh", (0.0, 6.0))
    if isinstance(mod, nn.Hardtanh):
        return ("hardtanh", (float(mod.min_val), float(mod.max_val)))
    if isinstance(mod, nn.LeakyReLU):
        return ("leaky_relu", (float(mod.negative_slope),))
    if isinstance(mod, nn.GELU):
        return _gelu(mod.approximate)
    simple = {nn.Sigmoid: "sigmoid", nn.Tanh: "tanh", nn.SiLU: "silu", nn.Hardsigmoid: "hardsigmoid",
              nn.Hardswish: "hardswish"}
    for cls, function in simple.items():
        if type(mod) is cls:
            return (function, ())
    return None


_F = nn.functional
_FUNCTIONS = {  # function -> (graph function, names of its float arguments after the input, their defaults)
    _F.relu6: ("hardtanh", (), ()), _F.hardtanh: ("hardtanh", ("min_val", "max_val"), (-1.0, 1.0)),
    _F.leaky_relu: ("leaky_relu", ("negative_slope",), (0.01,)),
    torch.sigmoid: ("sigmoid", (), ()), _F.sigmoid: ("sigmoid", (), ()), torch.tanh: ("tanh", (), ()),
    _F.tanh: ("tanh", (), ()), _F.silu: ("silu", (), ()), _F.hardsigmoid: ("hardsigmoid", (), ()),
    _F.hardswish: ("hardswish", (), ()),
}
_METHODS = {"sigmoid": "sigmoid", "tanh": "tanh", "sigmoid_": "sigmoid", "tanh_": "tanh"}


def function_activation(node) -> tuple[str, tuple[float, ...]] | None:
    """(function, params) of an fx call_function/call_method node that is an activation, or None."""
    if node.op == "call_method":
        return (_METHODS[node.target], ()) if node.target in _METHODS and len(node.args) == 1 else None
    if node.target is _F.gelu:
        return _gelu(node.args[1] if len(node.args) > 1 else node.kwargs.get("approximate", "none"))
    if node.target is _F.relu6:
        return ("hardtanh", (0.0, 6.0))
    spec = _FUNCTIONS.get(node.target)
    if spec is None:
        return None
    function, names, defaults = spec
    values = list(node.args[1:1 + len(names)])
    values += [node.kwargs.get(n, d) for n, d in zip(names[len(values):], defaults[len(values):])]
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        raise PycompressError(f"node {node.name!r}: {function} with non-constant arguments {values}")
    return (function, tuple(float(v) for v in values))


def torch_activation(function: str, params: tuple[float, ...]) -> nn.Module:
    """torch's own module for a graph activation (what the user's model computes)."""
    if function == "hardtanh":
        return nn.Hardtanh(params[0], params[1])
    if function == "leaky_relu":
        return nn.LeakyReLU(params[0])
    if function in ("gelu", "gelu_tanh"):
        return nn.GELU("none" if function == "gelu" else "tanh")
    return {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "silu": nn.SiLU, "hardsigmoid": nn.Hardsigmoid,
            "hardswish": nn.Hardswish}[function]()
