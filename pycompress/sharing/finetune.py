"""Retraining for weight sharing: masked fine-tuning after pruning, and codebook fine-tuning after clustering.

Codebook fine-tuning is the clustering counterpart of ESART (lossy/esart.py), as in Deep
Compression (Han et al., ICLR 2016): the forward pass uses every weight's shared value, and the
gradient of a shared value is the sum of the gradients of the weights that use it (an index_add);
the zero entry of a pruned layer stays frozen, so the sparsity survives. Biases and other
parameters that are not shared (BatchNorm) train as usual.

Both loops train on the training part only, with Adam and a cosine learning-rate decay to zero
over each call, optional +-`shift`-pixel translations of image batches, and a loss that mixes the
labels' cross-entropy with distillation from the original model (its softened outputs at
temperature T, Hinton et al. 2015): the original is what the compressed model should agree with.
Run inside `frontends.lenet.torch_threads(1, deterministic=True)` for bit-identical repeats.
"""
from __future__ import annotations

import math
from typing import Callable, Mapping

import numpy as np
import torch
from torch import nn

from pycompress.core.errors import PycompressError
from pycompress.core.formats import bits_tensor, get_format, tensor_bits
from pycompress.schemes.codebook import ClusteredTensor, make_clustered
from .prune import apply_mask
from .share_config import TrainConfig  # noqa: F401 (re-exported)

Progress = Callable[[str], None] | None


class Trainer:
    """The training part of a task and the original model (the teacher), shared by every loop."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, teacher: nn.Module, config: TrainConfig) -> None:
        if len(y) == 0:
            raise PycompressError("fine-tuning needs a non-empty training part")
        self.x, self.y, self.cfg = x, y, config
        self.teacher = teacher.eval()
        for p in self.teacher.parameters():
            p.requires_grad_(False)

    def _batch(self, idx: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        x = self.x[idx]
        if self.cfg.shift and x.dim() == 4 and min(x.shape[2:]) > 2 * self.cfg.shift:
            from pycompress.frontends.lenet import shift_batch

            x = shift_batch(x, gen, self.cfg.shift)
        return x

    def _loss(self, out: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        loss = nn.functional.cross_entropy(out, y)
        a, t = self.cfg.distill, self.cfg.temperature
        if a == 0:
            return loss
        with torch.no_grad():
            soft = nn.functional.softmax(self.teacher(x) / t, dim=1)
        kd = nn.functional.kl_div(nn.functional.log_softmax(out / t, dim=1), soft, reduction="batchmean") * t * t
        return (1 - a) * loss + a * kd

    def loop(self, model: nn.Module, params: list[torch.Tensor], epochs: int, lr: float, seed: int,
             before: Callable[[], None] | None = None, after_backward: Callable[[], None] | None = None,
             after_step: Callable[[], None] | None = None) -> float:
        """`epochs` passes over the training part; returns the mean loss of the last one."""
        gen = torch.Generator().manual_seed(seed)
        opt = torch.optim.Adam(params, lr=lr)
        n = len(self.y)
        steps = max(1, epochs * -(-n // self.cfg.batch))
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda t: 0.5 * (1 + math.cos(math.pi * min(t, steps) / steps)))
        total = 0.0
        for _ in range(epochs):
            model.train()
            perm = torch.randperm(n, generator=gen)
            total = 0.0
            for i in range(0, n, self.cfg.batch):
                idx = perm[i:i + self.cfg.batch]
                if before:
                    before()
                x = self._batch(idx, gen)
                opt.zero_grad(set_to_none=True)
                loss = self._loss(model(x), x, self.y[idx])
                loss.backward()
                if after_backward:
                    after_backward()
                opt.step()
                sched.step()
                if after_step:
                    after_step()
                total += float(loss.detach()) * len(idx)
        model.eval()
        return total / n


def _named(model: nn.Module, names) -> dict[str, nn.Parameter]:
    params = dict(model.named_parameters())
    missing = [n for n in names if n not in params]
    if missing:
        raise PycompressError(f"cannot fine-tune: {', '.join(missing[:3])} is not a parameter of the model")
    return {n: params[n] for n in names}


def masked_finetune(trainer: Trainer, model: nn.Module, keep: Mapping[str, torch.Tensor], epochs: int, seed: int) -> float:
    """Train every parameter; after each step the pruned weights are set back to +0.0."""
    targets = _named(model, keep)

    @torch.no_grad()
    def remask() -> None:
        for name, p in targets.items():
            p.copy_(apply_mask(p, keep[name]))

    remask()
    return trainer.loop(model, list(model.parameters()), epochs, trainer.cfg.lr, seed, after_step=remask)


def codebook_finetune(trainer: Trainer, model: nn.Module, clustered: Mapping[str, ClusteredTensor], epochs: int,
                      seed: int) -> dict[str, ClusteredTensor]:
    """Train the shared values (gradient: the sum over each value's weights) and the parameters that are not
    shared; the zero entry (+0.0) of a codebook stays frozen. Returns the fine-tuned codebooks, rounded to
    their format, with the same indices; the model is left holding exactly their values."""
    targets = _named(model, clustered)
    books, index, frozen = {}, {}, {}
    for name, ct in clustered.items():
        books[name] = nn.Parameter(bits_tensor(np.asarray(ct.codebook), ct.fmt).to(torch.float32).clone())
        index[name] = torch.from_numpy(ct.indices().astype(np.int64))
        frozen[name] = torch.from_numpy(np.asarray(ct.codebook) == 0)  # +0.0: the pruned weights
    for p in targets.values():
        p.requires_grad_(True)
    shared = {id(p) for p in targets.values()}
    others = [p for p in model.parameters() if id(p) not in shared]

    @torch.no_grad()
    def load() -> None:
        for name, p in targets.items():
            p.copy_(books[name][index[name]].reshape(p.shape))

    def gather() -> None:
        for name, p in targets.items():
            books[name].grad = shared_gradient(p.grad, index[name], books[name].numel(), frozen[name])
            p.grad = None

    trainer.loop(model, list(books.values()) + others, epochs, trainer.cfg.codebook_lr, seed, before=load,
                 after_backward=gather)
    out = {}
    for name, ct in clustered.items():
        fmt = get_format(ct.format)
        bits = tensor_bits(books[name].detach().to(fmt.torch_dtype))
        bits[frozen[name].numpy()] = 0
        out[name] = _canonical(bits, index[name].numpy(), ct.shape, fmt)
    with torch.no_grad():
        for name, p in targets.items():
            p.copy_(out[name].decode().to(p.dtype))
    return out


def shared_gradient(weight_grad: torch.Tensor, index: torch.Tensor, k: int, frozen: torch.Tensor) -> torch.Tensor:
    """Gradient of each shared value: the sum of the gradients of the weights that use it (0 where frozen)."""
    g = torch.zeros(k, dtype=weight_grad.dtype).index_add_(0, index, weight_grad.reshape(-1))
    g[frozen] = 0
    return g


def _canonical(book_bits: np.ndarray, index: np.ndarray, shape, fmt) -> ClusteredTensor:
    """Equal shared values (after rounding) merged, codebook in ascending value order."""
    values = bits_tensor(book_bits, fmt).to(torch.float64).numpy()
    values = np.where(values == 0, 0.0, values)  # -0.0 and +0.0 are one entry, stored as +0.0
    uniq, inverse = np.unique(values, return_inverse=True)
    bits = tensor_bits(torch.from_numpy(uniq).to(torch.float32).to(fmt.torch_dtype))
    return make_clustered(bits, inverse.reshape(-1)[index], shape, fmt)
