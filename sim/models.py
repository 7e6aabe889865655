"""Models and layers the RTL tests stream: the default LeNet in every format, a clustered
LeNet, and synthetic layers that reach every bit pattern or special value of a format."""
from __future__ import annotations

import numpy as np
import torch

from pycompress.schemes.codebook import make_clustered
from pycompress.schemes.expshare import encode_bits
from pycompress.compress import CompressConfig, compress_state_dict
from pycompress.core.container import CompressedModel
from pycompress.core.formats import get_format, to_format, tensor_bits

EXPSHARE_FORMATS = ("fp32", "bf16", "fp16")
CODEBOOK_SIZE = 16


def lenet_expshare(state_dict: dict, fmt: str) -> CompressedModel:
    return compress_state_dict(state_dict, CompressConfig(format=fmt), info={"source": "default LeNet"})


def cluster_layer(weight: torch.Tensor, k: int = CODEBOOK_SIZE, fmt: str = "fp32"):
    """A k-value codebook (quantiles of the layer, rounded to `fmt`) and nearest-value indices."""
    f = get_format(fmt)
    w = weight.detach().float().reshape(-1)
    book = to_format(torch.quantile(w, torch.linspace(0, 1, k)), f)
    book_bits = np.unique(tensor_bits(book))
    values = torch.from_numpy(book_bits.view(f.int_dtype).copy()).view(f.torch_dtype).float()
    idx = torch.argmin((w[:, None] - values[None, :]).abs(), dim=1).numpy()
    return make_clustered(book_bits, idx, tuple(weight.shape), f)


def lenet_clustered(state_dict: dict, fmt: str = "fp32", k: int = CODEBOOK_SIZE) -> CompressedModel:
    """Every weight tensor (dim >= 2) of LeNet shared into a k-entry codebook; the rest kept raw."""
    tensors, raw = {}, {}
    for name, t in state_dict.items():
        if t.is_floating_point() and t.dim() >= 2:
            tensors[name] = cluster_layer(t, k, fmt)
        else:
            raw[name] = t
    return CompressedModel(format=fmt, order=tuple(state_dict), tensors=tensors, raw=raw,
                           info={"method": f"{k}-value quantile codebook (RTL test model)"})


def single_layer(tensor, name: str = "layer.weight") -> CompressedModel:
    """A one-tensor model around an ExpShareTensor or ClusteredTensor."""
    return CompressedModel(format=tensor.format, order=(name,), tensors={name: tensor}, raw={})


def all_patterns(fmt: str):
    """Every bit pattern of a 16-bit format: every (sign, index, mantissa) with all exponents in the ROM."""
    f = get_format(fmt)
    return encode_bits(np.arange(1 << f.total_bits, dtype=np.uint32).astype(f.uint_dtype), f)


def special_values(fmt: str, extra_random: int = 2000, seed: int = 0):
    """+-0, smallest/largest subnormals, smallest/largest normals, +-inf, quiet/signalling NaNs with payloads."""
    f = get_format(fmt)
    m, top = f.mantissa_bits, f.max_exponent_field
    sign = 1 << (f.total_bits - 1)
    mags = [0, 1, 2, 3, (1 << m) - 1, 1 << (m - 1), 1 << m, (top - 1) << m | ((1 << m) - 1),  # zero, subnormals, normals
            f.bias << m, top << m,  # 1.0, inf
            top << m | 1, top << m | (1 << (m - 1)), top << m | ((1 << m) - 1), top << m | 0x5 << (m - 4)]  # NaNs
    vals = np.array(mags + [v | sign for v in mags], dtype=np.uint64)
    rng = np.random.default_rng(seed)
    rand = rng.integers(0, 1 << f.total_bits, extra_random, dtype=np.uint64)
    bits = np.concatenate([vals, rand]).astype(f.uint_dtype)
    return encode_bits(bits, f)


def single_exponent(fmt: str, n: int = 1000, seed: int = 0):
    """A layer whose weights all share one exponent (random signs and mantissas): a one-entry ROM."""
    f = get_format(fmt)
    rng = np.random.default_rng(seed)
    bits = (rng.integers(0, 2, n, dtype=np.uint64) << np.uint64(f.total_bits - 1)) | np.uint64(f.bias << f.mantissa_bits) \
        | rng.integers(0, 1 << f.mantissa_bits, n, dtype=np.uint64)
    return encode_bits(bits.astype(f.uint_dtype), f)


def one_weight(fmt: str, value: float = -1.5):
    f = get_format(fmt)
    return encode_bits(tensor_bits(to_format(torch.tensor([value]), f)), f)


def main(argv=None) -> int:
    """python sim/models.py MODEL.pt -o OUT.pcz [--format fp32|bf16] [-k 16]: the clustered test model."""
    import argparse
    import sys
    from pathlib import Path

    from pycompress.core.container import save
    from pycompress.core.fileio import load_state_dict

    ap = argparse.ArgumentParser(description="write the clustered LeNet the RTL tests stream")
    ap.add_argument("model")
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--format", default="fp32", choices=("fp32", "bf16"))
    ap.add_argument("-k", type=int, default=CODEBOOK_SIZE)
    args = ap.parse_args(argv)
    cm = lenet_clustered(load_state_dict(args.model), args.format, args.k)
    save(cm, Path(args.output))
    print(f"{args.output}: {len(cm.tensors)} layers clustered into {args.k}-value {args.format} codebooks", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
