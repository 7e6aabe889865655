"""C simulation of a generated project against the numpy reference and PyTorch, with figures."""
from __future__ import annotations

import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .. import container
from ..errors import PycompressError
from ..formats import tensor_bits
from ..verify import first_bit_difference
from .context import kernel_model
from .project import HLSProject
from .reference import reference_forward
from .torch_model import torch_forward
from .vectors import dataset_inputs


@dataclass(frozen=True)
class CsimResult:
    project: str
    top: str
    images: int
    compile_s: float
    simulate_s: float
    weights_checked: int
    weights_bit_exact: bool
    outputs_bit_exact: bool
    first_difference: str | None
    top1_agreement_pct: float  # kernel argmax vs PyTorch argmax
    kernel_accuracy_pct: float | None
    torch_accuracy_pct: float | None

    def to_dict(self) -> dict:
        return asdict(self)


def check_weights(project: HLSProject, cm) -> tuple[int, str | None]:
    """Every weight decoded by the C++ equals the Python decode (storage bits and widened float bits)."""
    km = kernel_model(cm)
    baseline = project.manifest.get("baseline", False)
    # the raw baseline keeps storage-format bits in its weight streams (its biases are float32 arrays)
    raw_streams = {p["tensor"] for p in project.manifest["params"]
                   if project.manifest.get("kernel") == "raw" and p.get("role") == "stream"}
    checked = 0
    for name, (fmt_bits, float_bits) in project.decoded_weights().items():
        want_float = km.params[name].view(np.uint32).reshape(-1)
        diff = first_bit_difference(want_float, float_bits)
        if diff is None and name in cm.tensors and (not baseline or name in raw_streams):
            want = cm.tensors[name].decode_bits().reshape(-1).astype(np.uint32)
            diff = first_bit_difference(want, fmt_bits)
        elif diff is None and name in cm.raw and not baseline:
            diff = first_bit_difference(tensor_bits(cm.raw[name].float()).reshape(-1).view(np.uint32), fmt_bits)
        if diff is not None:
            return checked, f"{name}: {diff}"
        checked += fmt_bits.size
    return checked, None


def run_csim(path: str | Path, images: int | None = None, progress: bool = True) -> CsimResult:
    project = HLSProject(path)
    model_file = Path(path) / project.manifest["files"]["model"]
    cm = container.load(model_file)
    km = kernel_model(cm)
    start = time.perf_counter()
    project.compile(progress=progress)
    compile_s = time.perf_counter() - start
    checked, wdiff = check_weights(project, cm)
    x, labels = dataset_inputs(km.graph, images)
    if progress:
        print(f"simulating {len(x)} inputs ...", file=sys.stderr, flush=True)
    start = time.perf_counter()
    y = project.predict(x)
    sim_s = time.perf_counter() - start
    ref = reference_forward(km.graph, km.params, x)
    odiff = first_bit_difference(ref, y)
    ty = torch_forward(km.graph, km.params, x)
    agree = 100.0 * float(np.mean(ty.argmax(1) == y.argmax(1)))
    kacc = tacc = None
    if labels is not None:
        kacc = 100.0 * float(np.mean(y.argmax(1) == labels))
        tacc = 100.0 * float(np.mean(ty.argmax(1) == labels))
    return CsimResult(str(path), project.top, len(x), round(compile_s, 2), round(sim_s, 3), checked, wdiff is None,
                      odiff is None, wdiff or (f"outputs: {odiff}" if odiff else None), agree, kacc, tacc)


def require_exact(result: CsimResult) -> None:
    if not (result.weights_bit_exact and result.outputs_bit_exact):
        raise PycompressError(f"C simulation of {result.project} is not bit-exact: {result.first_difference}")
