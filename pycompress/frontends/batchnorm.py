"""Batch norm anywhere: folded into the conv/linear before it, else into the one after it where that is
exact, else kept as a per-channel scale-and-shift layer (`layers.ScaleShift`), so that every front end
hands the hardware only layers it has.

With s = gamma / sqrt(var + eps) and t = beta - mean * s (float64, then cast), BN(x) = x * s + t:
- before it a Conv2d/Linear whose output nothing else reads: w' = w * s[out], b' = (b - mean) * s + beta;
- after it the only reader, a Conv2d without padding (groups 1) or a Linear, called once:
  w'[:, i] = w[:, i] * s[i], b' = b + sum over i (and the kernel) of w[:, i] * t[i]. Exact in real
  arithmetic because every input of that layer passes through the BN (zero padding would not);
- otherwise (after a ReLU, a pool, an add, on the input) a ScaleShift at the BN's own path, its
  tensors `<path>.scale` and `<path>.shift`.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import nn

from pycompress.core.errors import PycompressError
from .layers import ScaleShift, trace as _trace


@dataclass(frozen=True)
class Folded:
    module: nn.Module
    before: int  # batch norms folded into the layer before them
    after: int  # ... into the layer after them
    kept: int  # kept as scale-and-shift layers

    @property
    def note(self) -> str:
        parts = [f"{n} {what}" for n, what in ((self.before, "folded into the preceding layer"),
                                                (self.after, "folded into the following layer"),
                                                (self.kept, "kept as a per-channel scale-and-shift layer")) if n]
        return f"batch norm: {', '.join(parts)}" if parts else ""


def _padding_free(conv: nn.Conv2d) -> bool:
    pad = conv.padding
    if pad == "valid":
        return True
    if pad == "same":
        return all(k == 1 for k in conv.kernel_size)
    return all(int(p) == 0 for p in pad)


def _next_layer(gm, node, want: type, calls: dict) -> nn.Module | None:
    """The conv/linear that is the only reader of `node`, when folding into it is exact."""
    if len(node.users) != 1:
        return None
    user = next(iter(node.users))
    if user.op != "call_module" or calls.get(user.target, 0) != 1 or user.args[0] is not node:
        return None
    mod = gm.get_submodule(user.target)
    if not isinstance(mod, want):
        return None
    if isinstance(mod, nn.Conv2d) and (mod.groups != 1 or not _padding_free(mod)):
        return None
    return mod


@torch.no_grad()
def fold(module: nn.Module, inplace: bool = False) -> Folded:
    """`module` (a copy unless `inplace`) with every BatchNorm1d/2d folded or turned into a ScaleShift."""
    module = (module if inplace else copy.deepcopy(module)).eval()
    gm = _trace(module)
    calls: dict[str, int] = {}
    for node in gm.graph.nodes:
        if node.op == "call_module":
            calls[node.target] = calls.get(node.target, 0) + 1
    counts = {"before": 0, "after": 0, "kept": 0}
    for node in gm.graph.nodes:
        if node.op != "call_module" or not isinstance(gm.get_submodule(node.target), (nn.BatchNorm2d, nn.BatchNorm1d)):
            continue
        bn = gm.get_submodule(node.target)
        if bn.running_mean is None or bn.running_var is None:
            raise PycompressError(f"layer {node.target!r} of type {type(bn).__name__} has no running statistics "
                                  "(track_running_stats=False): it normalises by each batch, which no kernel can")
        if calls[node.target] != 1:
            raise PycompressError(f"layer {node.target!r} ({type(bn).__name__}) is called more than once")
        s = (bn.weight.double() if bn.affine else 1.0) / torch.sqrt(bn.running_var.double() + bn.eps)
        t = (bn.bias.double() if bn.affine else 0.0) - bn.running_mean.double() * s
        want = nn.Conv2d if isinstance(bn, nn.BatchNorm2d) else nn.Linear
        src = node.args[0] if node.args else None
        prev = gm.get_submodule(src.target) if getattr(src, "op", None) == "call_module" else None
        if isinstance(prev, want) and len(src.users) == 1 and calls[src.target] == 1:
            _into_previous(prev, bn, s)
            counts["before"] += 1
            new: nn.Module = nn.Identity()
        elif (nxt := _next_layer(gm, node, want, calls)) is not None:
            _into_next(nxt, s, t)
            counts["after"] += 1
            new = nn.Identity()
        else:
            new = ScaleShift(bn.num_features)
            new.scale.copy_(s.to(torch.float32))
            new.shift.copy_(t.to(torch.float32))
            counts["kept"] += 1
        _set_submodule(module, node.target, new)
    return Folded(module, counts["before"], counts["after"], counts["kept"])


def _into_previous(prev: nn.Module, bn: nn.Module, s: torch.Tensor) -> None:
    out = prev.out_channels if isinstance(prev, nn.Conv2d) else prev.out_features
    bias = prev.bias.double() if prev.bias is not None else torch.zeros(out, dtype=torch.float64)
    beta = bn.bias.double() if bn.affine else 0.0
    shape = (-1,) + (1,) * (prev.weight.dim() - 1)
    dtype = prev.weight.dtype
    prev.weight = nn.Parameter((prev.weight.double() * s.reshape(shape)).to(dtype))
    prev.bias = nn.Parameter(((bias - bn.running_mean.double()) * s + beta).to(dtype))


def _into_next(nxt: nn.Module, s: torch.Tensor, t: torch.Tensor) -> None:
    w = nxt.weight.double()
    shape = (1, -1) + (1,) * (w.dim() - 2)
    out = w.shape[0]
    bias = nxt.bias.double() if nxt.bias is not None else torch.zeros(out, dtype=torch.float64)
    extra = (w * t.reshape(shape)).reshape(out, -1).sum(1)
    dtype = nxt.weight.dtype
    nxt.weight = nn.Parameter((w * s.reshape(shape)).to(dtype))
    nxt.bias = nn.Parameter((bias + extra).to(dtype))


def fold_batchnorm(module: nn.Module, inplace: bool = False) -> nn.Module:
    """A copy (or `module` itself, `inplace`) with every batch norm folded or kept as a ScaleShift."""
    return fold(module, inplace).module


def _set_submodule(root: nn.Module, target: str, new: nn.Module) -> None:
    parent, _, leaf = target.rpartition(".")
    setattr(root.get_submodule(parent) if parent else root, leaf, new)
