"""C simulation of a generated project against the numpy reference and PyTorch, with figures."""
from __future__ import annotations

import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from pycompress.core import container
from pycompress.core.errors import PycompressError
from pycompress.core.verify import first_bit_difference
from pycompress.hw.plan import kernel_model
from .project import HLSProject
from .reference import reference_forward
from pycompress.frontends.torch_model import torch_forward
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
    compared_with: str = "graph"  # "graph" (a network rebuilt from the layer graph) or "model FILE" (the user's own)
    inputs: str = ""  # where the inputs came from
    model_accuracy_pct: float | None = None  # the user's model with its own (uncompressed) weights, --model and labels
    max_abs_diff: float | None = None  # largest |kernel output - PyTorch output|: the kernel's float arithmetic vs torch's
    nonfinite_outputs: int = 0  # NaN or infinite kernel outputs: where there are any, agreement and difference mean little

    def to_dict(self) -> dict:
        return asdict(self)


def check_weights(project: HLSProject, cm) -> tuple[int, str | None]:
    """Every weight decoded by the C++ equals the Python decode: its widened float bits, and its raw bits in the
    representation the kernel holds it in (the manifest's `format` per parameter): the storage format's bits
    for a stream or table of the container's codes, float32 bits for a parameter kept as a float array (the
    biases of an entropy-coded kernel, tensors stored raw, the float baseline)."""
    km = kernel_model(cm)
    held = {p["tensor"]: p.get("format") for p in project.manifest["params"]}
    checked = 0
    for name, (fmt_bits, float_bits) in project.decoded_weights().items():
        want_float = km.params[name].view(np.uint32).reshape(-1)
        diff = first_bit_difference(want_float, float_bits)
        if diff is None:
            as_float = held.get(name) == "fp32" or name not in cm.tensors
            want = want_float if as_float else cm.tensors[name].decode_bits().reshape(-1).astype(np.uint32)
            diff = first_bit_difference(want, fmt_bits)
        if diff is not None:
            return checked, f"{name}: {diff}"
        checked += fmt_bits.size
    return checked, None


def data_inputs(spec: str, shape: tuple[int, ...], n: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The test part of `--data` (an .npz or a built-in name), checked to fit the kernel's input shape."""
    from pycompress.frontends.datasets import load_data

    x, y = load_data(spec, item_shape=tuple(shape)).part("test")  # a wrong shape is refused from the headers
    if tuple(x.shape[1:]) != tuple(shape):
        raise PycompressError(f"{spec}: x_test has items of shape {tuple(x.shape[1:])} (array shape {tuple(x.shape)}), "
                              f"but the kernel takes {tuple(shape)}")
    if n is not None:
        x, y = x[:n], y[:n]
    return np.ascontiguousarray(x.numpy(), np.float32), y.numpy()


def model_forward(model_path: str, cm, km, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(outputs of the user's module with the kernel's weights, outputs with its own weights): the module is the
    user's program (a .pt2 rebuilt op by op, BatchNorm folded), not the network the layer graph describes."""
    import torch

    from pycompress.frontends import load_model, require_architecture

    model = load_model(model_path)
    build = require_architecture(model, "csim --model")
    own = model.state_dict
    kernel = {k: torch.from_numpy(np.array(v, np.float32)) for k, v in km.params.items()}
    extra = sorted(set(kernel) - set(own))
    if extra:
        raise PycompressError(f"{model_path}: the kernel's tensor {extra[0]} is not in this model "
                              f"(its tensors: {', '.join(sorted(own)[:4])}, ...): not the model the kernel was made from")
    sd = {**own, **kernel}
    for k, v in kernel.items():
        if tuple(v.shape) != tuple(own[k].shape):
            raise PycompressError(f"{model_path}: tensor {k} has shape {tuple(own[k].shape)} in the model, "
                                  f"{tuple(v.shape)} in the kernel: not the model the kernel was made from")
    xt = torch.from_numpy(x)
    if model.input_shape is not None and tuple(x.shape[1:]) != tuple(model.input_shape):
        raise PycompressError(f"{model_path}: the model takes inputs of shape {tuple(model.input_shape)}, "
                              f"the kernel {tuple(x.shape[1:])}")

    def run(weights) -> np.ndarray:
        m = build(weights)
        with torch.no_grad():
            return torch.cat([m(xt[i:i + 500]).reshape(len(xt[i:i + 500]), -1) for i in range(0, len(xt), 500)]).numpy()

    return run(sd), run(own)


def run_csim(path: str | Path, images: int | None = None, progress: bool = True, data: str | None = None,
             model: str | None = None) -> CsimResult:
    """Compile and simulate; inputs: the test part of `data` when given, else the graph's dataset or random inputs.
    Top-1 agreement is with `model` (the user's own module, with the kernel's weights) when given, else with
    the network rebuilt from the layer graph."""
    project = HLSProject(path)
    model_file = Path(path) / project.manifest["files"]["model"]
    cm = container.load(model_file)
    km = kernel_model(cm)
    if data is not None:  # fail on the data before compiling
        x, labels = data_inputs(data, tuple(km.graph.input_shape), images)
        source = f"{data}: test part"
    else:
        x, labels = dataset_inputs(km.graph, images)
        source = f"{km.graph.dataset}: test part" if labels is not None else "seeded uniform random inputs"
    own = None
    if model is not None:  # the user's module, before compiling: a wrong model fails in one line at once
        ty, own = model_forward(model, cm, km, x)
    start = time.perf_counter()
    project.compile(progress=progress)
    compile_s = time.perf_counter() - start
    checked, wdiff = check_weights(project, cm)
    if progress:
        print(f"simulating {len(x)} inputs ...", file=sys.stderr, flush=True)
    start = time.perf_counter()
    y = project.predict(x)
    sim_s = time.perf_counter() - start
    ref = reference_forward(km.graph, km.params, x)
    odiff = first_bit_difference(ref, y)
    if model is not None:
        compared = f"model {model}"
    else:
        ty, compared = torch_forward(km.graph, km.params, x), "graph"
    agree = 100.0 * float(np.mean(ty.argmax(1) == y.argmax(1)))
    with np.errstate(invalid="ignore"):
        gap = float(np.max(np.abs(y.astype(np.float64) - ty.astype(np.float64)))) if y.size else 0.0
    kacc = tacc = macc = None
    if labels is not None:
        kacc = 100.0 * float(np.mean(y.argmax(1) == labels))
        tacc = 100.0 * float(np.mean(ty.argmax(1) == labels))
        if own is not None:
            macc = 100.0 * float(np.mean(own.argmax(1) == labels))
    return CsimResult(str(path), project.top, len(x), round(compile_s, 2), round(sim_s, 3), checked, wdiff is None,
                      odiff is None, wdiff or (f"outputs: {odiff}" if odiff else None), agree, kacc, tacc,
                      compared, source, macc, gap, count_nonfinite(y))


def count_nonfinite(outputs: np.ndarray) -> int:
    return int((~np.isfinite(outputs)).sum())


def nonfinite_note(count: int) -> str:
    """The words a simulator's summary adds when outputs are NaN or infinite (argmax and differences of such
    outputs say little: an all-NaN row's argmax is 0 in both)."""
    return f"; {count:,} outputs NaN or infinite (agreement and difference mean little)" if count else ""


def require_exact(result: CsimResult) -> None:
    if not (result.weights_bit_exact and result.outputs_bit_exact):
        raise PycompressError(f"C simulation of {result.project} is not bit-exact: {result.first_difference}")
