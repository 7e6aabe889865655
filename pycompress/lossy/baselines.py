"""Table 3 baselines: magnitude pruning at the same memory saving, and int8 post-training quantisation.

Sizes follow the paper's accounting: a pruned layer is credited with the
pruned fraction of its storage (no sparse-index overhead), an int8 layer with
8 bits per weight (plus one fp32 scale and zero point per tensor or channel).
"""
from __future__ import annotations

import copy
import warnings
from dataclasses import asdict, dataclass
from typing import Callable, Iterable

import torch
from torch import nn
from torch.nn.utils import prune

from pycompress.compress import is_encoded
from pycompress.core.errors import PycompressError
from pycompress.core.formats import get_format


@dataclass(frozen=True)
class BaselineResult:
    method: str
    accuracy: float
    savings_pct: float  # against the storage format of the weights
    weight_bits: int  # bits the encoded weights take
    original_bits: int
    detail: str

    def to_dict(self) -> dict:
        return asdict(self)


def _weighted_modules(model: nn.Module) -> list[tuple[nn.Module, str]]:
    return [(m, "weight") for m in model.modules()
            if isinstance(getattr(m, "weight", None), nn.Parameter) and is_encoded(m.weight.detach(), False)]


def pruned_copy(model: nn.Module, amount_pct: float, fmt: str = "bf16") -> nn.Module:
    """A copy with `amount_pct` % of every weight tensor zeroed by L1 magnitude, weights rounded to `fmt`."""
    f = get_format(fmt)
    pruned = copy.deepcopy(model)
    for module, name in _weighted_modules(pruned):
        prune.l1_unstructured(module, name, amount=amount_pct / 100.0)
        prune.remove(module, name)
        with torch.no_grad():  # evaluated in the storage format, like every other row of the table
            module.weight.copy_(module.weight.to(f.torch_dtype).to(module.weight.dtype))
    return pruned


def magnitude_prune(model: nn.Module, amount_pct: float, evaluate: Callable[[nn.Module], float],
                    fmt: str = "bf16") -> BaselineResult:
    """Per-layer L1 (magnitude) unstructured pruning of `amount_pct` % of each weight tensor (torch.nn.utils.prune)."""
    if not 0.0 <= amount_pct < 100.0:
        raise PycompressError(f"pruning amount must be in [0, 100), got {amount_pct}")
    f = get_format(fmt)
    pruned = pruned_copy(model, amount_pct, fmt)
    targets = _weighted_modules(pruned)
    n = sum(m.weight.numel() for m, _ in targets)
    zeros = sum(int((m.weight == 0).sum()) for m, _ in targets)
    original = n * f.total_bits
    kept = original - round(original * amount_pct / 100.0)
    return BaselineResult("magnitude pruning", float(evaluate(pruned)), 100.0 * (original - kept) / original, kept, original,
                          f"{amount_pct:.2f}% of each layer's weights pruned by magnitude ({100.0 * zeros / n:.2f}% zero)")


def int8_ptq(model: nn.Module, calibration: Iterable[torch.Tensor], example: torch.Tensor,
             evaluate: Callable[[nn.Module], float], fmt: str = "bf16", engine: str | None = None) -> BaselineResult:
    """Static int8 post-training quantisation by torch.ao FX graph mode (x86/fbgemm, else qnnpack)."""
    from torch.ao.quantization import get_default_qconfig_mapping
    from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx

    engines = torch.backends.quantized.supported_engines
    engine = engine or next((e for e in ("x86", "fbgemm", "qnnpack") if e in engines), None)
    if engine is None or engine not in engines:
        raise PycompressError(f"no int8 quantisation engine available (supported here: {', '.join(engines)})")
    f = get_format(fmt)
    previous = torch.backends.quantized.engine
    deterministic = torch.are_deterministic_algorithms_enabled()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            # quantized tensors have no "deterministic" resize; inference here is repeatable anyway
            torch.use_deterministic_algorithms(False)
            torch.backends.quantized.engine = engine
            prepared = prepare_fx(copy.deepcopy(model).eval(), get_default_qconfig_mapping(engine), (example,))
            with torch.no_grad():
                for x in calibration:
                    prepared(x)
            quantized = convert_fx(prepared)
            acc = float(evaluate(quantized))
            scales = 0
            for m in quantized.modules():
                w = m.weight() if callable(getattr(m, "weight", None)) else None
                if isinstance(w, torch.Tensor) and w.is_quantized:
                    per_channel = w.qscheme() in (torch.per_channel_affine, torch.per_channel_symmetric)
                    scales += (w.q_per_channel_scales().numel() if per_channel else 1)
        finally:
            torch.backends.quantized.engine = previous
            torch.use_deterministic_algorithms(deterministic)
    n = sum(m.weight.numel() for m, _ in _weighted_modules(model))
    original = n * f.total_bits
    bits = 8 * n + 64 * scales
    return BaselineResult("int8 PTQ", acc, 100.0 * (original - bits) / original, bits, original,
                          f"torch.ao FX static int8, engine {engine}, {scales} scale/zero-point pairs")
