"""The host program's logic, compiled with gcc against the kernel's C simulation.

host_logic.c (image packing, result class, accuracy) is the file the board program links;
here it drives the HLS generator's kernel through its stream interface (host_csim.cpp in
place of the AXI DMA) on the 1,000 test digits, and must reach the accuracy of the PyTorch
compressed model. The kernel comes from the real generator (`pycompress generate`).
"""
from __future__ import annotations

import importlib.util
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from pycompress.core import container
from pycompress.hw.board import load_board
from pycompress.frontends.lenet import load_lenet, mnist_split, predict
from pycompress.hw.vivado.build import assemble
from pycompress.hw.vivado.host import ImageSet, default_test_set
from pycompress.hw.vivado.manifest import load_manifest
from conftest import REPO

XIL_SIM = REPO / "tests" / "data" / "vivado" / "xil_sim"
AP_TYPES = REPO / ".venv" / "lib" / "python3.11" / "site-packages" / "hls4ml" / "templates" / "vivado" / "ap_types"
HAVE_HLS = importlib.util.find_spec("pycompress.hw.hls") is not None
needs_hls = pytest.mark.skipif(not HAVE_HLS, reason="the HLS generator (pycompress.hw.hls, issue 5) is not in this checkout")


def _compile(build: Path, out: Path) -> tuple[Path, list[str]]:
    """gcc for the host's C files, g++ for the kernel's C simulation and the driver.

    Returns the local driver executable and the objects (kernel + pyc_kernel_run) that
    the simulated-board build of main.c links against.
    """
    src, fw, csim = build / "host" / "src", build / "hls" / "firmware", build / "host" / "csim"
    # PYC_STANDALONE_CSIM: the generator's g++ (not Vitis) build of the kernel (hls_templates/defines.h.j2)
    includes = ["-DPYC_STANDALONE_CSIM", "-I", str(src), "-I", str(fw), "-I", str(AP_TYPES)]
    objs = []
    for c in ("host_logic.c", "test_data.c") + (("weights_image.c",) if (src / "weights_image.c").exists() else ()):
        obj = out / (c + ".o")
        subprocess.run(["gcc", "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-c", str(src / c), "-I", str(src),
                        "-o", str(obj)], check=True, capture_output=True, text=True)
        objs.append(str(obj))
    kernel_objs = []
    for i, cpp in enumerate(build / "hls" / rel for rel in load_manifest(build / "hls").sources):
        obj = out / f"kernel{i}.o"
        proc = subprocess.run(["g++", "-std=c++14", "-O2", "-w", "-c", str(cpp), *includes, "-o", str(obj)],
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr[-4000:]
        kernel_objs.append(str(obj))
    for name, flags in (("driver.o", []), ("run_only.o", ["-DPYC_NO_MAIN"])):
        proc = subprocess.run(["g++", "-std=c++14", "-O2", "-w", *flags, "-c", str(csim / "host_csim.cpp"), *includes,
                               "-o", str(out / name)], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr[-4000:]
    exe = out / "host_csim"
    subprocess.run(["g++", str(out / "driver.o"), *kernel_objs, *objs, "-o", str(exe)], check=True, capture_output=True)
    return exe, [str(out / "run_only.o"), *kernel_objs]


def test_host_logic_compiles_standalone_with_strict_warnings(tmp_path):
    """The hardware-independent files build with -Wall -Wextra -Werror as C99 and C++ (no kernel needed)."""
    from vivado_helpers import write_minimal_hls_project
    from pycompress.hw import kernel_interface as ki

    build = tmp_path / "b"
    write_minimal_hls_project(build / "hls", ki.TOP_FUNCTION)
    rng = np.random.default_rng(1)
    images = rng.standard_normal((3, 1, 28, 28)).astype(np.float32)
    images[0, 0, 0, :3] = [-0.0, np.inf, np.float32(1e-45)]  # raw bits must survive: -0, inf, subnormal
    assemble(build, "b", load_board(), ImageSet(images, np.array([1, 2, 3]), "random"))
    src = build / "host" / "src"
    check = tmp_path / "check.c"
    check.write_text(
        '#include <stdio.h>\n#include <string.h>\n#include "host_logic.h"\n'
        
        "int main(void) {\n"
        "  static uint32_t buf[PYC_INPUT_WORDS]; uint32_t scores[10] = {0};\n"
        "  float f[10] = {0.5f, 2.0f, 2.0f, -1.0f, 0, 0, 0, 0, 0, 0}; pyc_tally_t t;\n"
        "  for (unsigned i = 0; i < PYC_NUM_IMAGES; ++i) { pyc_pack_image(pyc_test_images, i, buf);\n"
        "    for (unsigned k = 0; k < PYC_INPUT_WORDS; ++k) printf(\"%08x\\n\", buf[k]); }\n"
        "  memcpy(scores, f, sizeof f); printf(\"argmax %u\\n\", pyc_result_class(scores));\n"
        "  scores[7] = 0x7fc00001u; printf(\"nan %u\\n\", pyc_result_class(scores));\n"
        "  pyc_tally_init(&t); pyc_tally_add(&t, 1, 1, 10); pyc_tally_add(&t, 2, 1, 20); pyc_tally_add(&t, 11, 1, 30);\n"
        "  printf(\"tally %u %u %u %u\\n\", t.correct, t.images, t.invalid, pyc_accuracy_centi(&t));\n"
        "  printf(\"cycles %llu\\n\", (unsigned long long)pyc_counts_to_cycles(333333, 333333333ull));\n"
        "  return 0; }\n")
    exe = tmp_path / "check"
    for compiler, std in (("gcc", "-std=c99"), ("g++", "-std=c++14")):
        files = [str(check), str(src / "host_logic.c"), str(src / "test_data.c")]
        if compiler == "g++":
            files = ["-x", "c++"] + files
        subprocess.run([compiler, std, "-Wall", "-Wextra", "-Werror", "-I", str(src), *files, "-o", str(exe)],
                       check=True, capture_output=True, text=True)
    lines = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout.splitlines()
    words = np.array([int(w, 16) for w in lines[:3 * 784]], dtype=np.uint32)
    assert np.array_equal(words, images.reshape(-1).view(np.uint32))  # packing is bit-exact
    assert lines[3 * 784:] == ["argmax 1", "nan 7", "tally 1 3 1 3333", "cycles 100000"]


def _board_program(build: Path, out: Path, kernel_objs: list[str]) -> Path:
    """main.c on the simulated BSP (tests/data/vivado/xil_sim), linked with a kernel implementation."""
    src = build / "host" / "src"
    exe = out / "board_sim"
    objs = []
    extra = [src / "weights_image.c"] if (src / "weights_image.c").exists() else []
    for c in (src / "main.c", src / "host_logic.c", src / "test_data.c", *extra, XIL_SIM / "xil_sim.c"):
        obj = out / (c.name + ".board.o")
        proc = subprocess.run(["gcc", "-std=c99", "-O1", "-Wall", "-Wextra", "-Werror", "-c", str(c), "-I", str(src),
                               "-I", str(XIL_SIM), "-o", str(obj)], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        objs.append(str(obj))
    subprocess.run(["g++", *objs, *kernel_objs, "-o", str(exe)], check=True, capture_output=True, text=True)
    return exe


def test_board_program_on_simulated_bsp(tmp_path):
    """main.c itself: DMA order, kernel start, accuracy and cycle printing, LEDs, timeout path.

    The kernel here is a test double (scores = the first 10 input words), so the expected
    classes are known: the images are built so that 3 of 4 are classified correctly.
    """
    from vivado_helpers import write_minimal_hls_project
    from pycompress.hw import kernel_interface as ki

    build = tmp_path / "b"
    write_minimal_hls_project(build / "hls", ki.TOP_FUNCTION)
    images = np.zeros((4, 1, 28, 28), dtype=np.float32)
    for i, cls in enumerate([3, 7, 0, 9]):
        images[i].reshape(-1)[cls] = 1.0
    assemble(build, "b", load_board(), ImageSet(images, np.array([3, 7, 1, 9]), "synthetic"))
    double = tmp_path / "double.c"
    double.write_text('#include <string.h>\n#include "host_config.h"\n'
                      "int pyc_kernel_run(const unsigned *in, unsigned *out) {\n"
                      "  memcpy(out, in, PYC_OUTPUT_WORDS * 4); return 0; }\n")
    obj = tmp_path / "double.o"
    subprocess.run(["gcc", "-c", str(double), "-I", str(build / "host" / "src"), "-o", str(obj)], check=True)
    exe = _board_program(build, tmp_path, [str(obj)])

    ok = subprocess.run([str(exe)], capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "b, 4 images of 784 words, 10 classes" in ok.stdout
    assert "3/4 correct, accuracy 75.00 %, 0 invalid results" in ok.stdout
    assert "1000 PL cycles per image" in ok.stdout and ok.stdout.rstrip().endswith("DONE")
    assert ok.stderr.splitlines()[-1] == "LEDS 1"  # LD0 done, LD1 off

    hung = subprocess.run([str(exe)], capture_output=True, text=True, timeout=60, env={"SIM_FAIL_IMAGE": "2"})
    assert hung.returncode == 1
    assert "ERROR: DMA transfer for image 2 failed or timed out" in hung.stdout
    assert "2/2 correct" in hung.stdout and hung.stdout.rstrip().endswith("FAILED")
    assert hung.stderr.splitlines()[-1] == "LEDS 2"  # LD1 error


@pytest.fixture(scope="module")
def generated_kernel(tmp_path_factory, lenet_state_dict):
    """The HLS generator's project for the default LeNet compressed losslessly in BF16."""
    from pycompress.compress import CompressConfig, compress_state_dict
    from pycompress.hw.hls import generate

    root = tmp_path_factory.mktemp("host")
    pcz = root / "lenet-bf16.pcz"
    container.save(compress_state_dict(lenet_state_dict, CompressConfig(format="bf16")), pcz)
    generate(container.load(pcz), root / "hls", progress=False)
    return pcz, root / "hls"


@pytest.mark.csim
@pytest.mark.slow
@needs_hls
def test_host_logic_against_kernel_csim_matches_pytorch_accuracy(generated_kernel, tmp_path):
    pcz, hls = generated_kernel
    build = tmp_path / "lenet_bf16"
    shutil.copytree(hls, build / "hls")
    tests = default_test_set()
    assemble(build, "lenet_bf16", load_board(), tests)
    exe, kernel_objs = _compile(build, tmp_path)
    run = subprocess.run([str(exe)], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    predicted = np.array([int(v) for v in run.stdout.split()])
    assert predicted.shape == (1000,)

    split = mnist_split()
    reference = predict(load_lenet(container.load(pcz).state_dict()), split.x_test).numpy()
    labels = split.y_test.numpy()
    host_acc, torch_acc = 100.0 * np.mean(predicted == labels), 100.0 * np.mean(reference == labels)
    agreement = 100.0 * np.mean(predicted == reference)
    print(f"host logic + kernel csim: accuracy {host_acc:.2f}% (PyTorch compressed {torch_acc:.2f}%), "
          f"agreement {agreement:.2f}%")
    assert host_acc == torch_acc
    assert agreement >= 99.9
    assert run.stderr.strip().startswith(f"accuracy {host_acc:.2f} % {int(round(host_acc * 10))}/1000")

    # the board program itself (main.c) on the simulated BSP, with the same kernel C simulation
    board = subprocess.run([str(_board_program(build, tmp_path, kernel_objs))], capture_output=True, text=True, timeout=600)
    assert board.returncode == 0, board.stdout[-2000:] + board.stderr[-2000:]
    correct = int(np.sum(predicted == labels))
    assert f"{correct}/1000 correct, accuracy {host_acc:.2f} %, 0 invalid results" in board.stdout


@pytest.mark.csim
@needs_hls
def test_host_with_weights_in_ddr(lenet_state_dict, tmp_path):
    """--weights ddr: the host program's weight image (weights_image.c) drives the kernel's C simulation, and
    main.c on the simulated BSP writes the image's address into the kernel's pointer register before starting it."""
    from pycompress.compress import CompressConfig, compress_state_dict
    from pycompress.hw.hls import generate

    cm = compress_state_dict(lenet_state_dict, CompressConfig(format="bf16"))
    build = tmp_path / "lenet_ddr"
    generate(cm, build / "hls", weights="ddr", progress=False)
    full = default_test_set()
    n = 200
    tests = ImageSet(full.images[:n], full.labels[:n], full.source)
    assemble(build, "lenet_ddr", load_board(), tests)
    exe, kernel_objs = _compile(build, tmp_path)
    run = subprocess.run([str(exe)], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    predicted = np.array([int(v) for v in run.stdout.split()])
    reference = predict(load_lenet(cm.state_dict()), mnist_split().x_test[:n]).numpy()
    assert np.array_equal(predicted, reference)  # the kernel (bit-exact with the numpy reference) agrees on every digit
    board = subprocess.run([str(_board_program(build, tmp_path, kernel_objs))], capture_output=True, text=True, timeout=600)
    assert board.returncode == 0, board.stdout[-2000:] + board.stderr[-2000:]
    correct = int(np.sum(predicted == tests.labels))
    assert f"{correct}/{n} correct" in board.stdout and board.stdout.rstrip().endswith("DONE")
    # without the pointer write the simulated BSP refuses to run the kernel (it would read the wrong DDR)
    main = build / "host" / "src" / "main.c"
    text = main.read_text()
    main.write_text(text.replace("Xil_Out32(PYC_KERNEL_BASEADDR + pyc_weight_regs[i], ", "(void)(", 1))
    bad = subprocess.run([str(_board_program(build, tmp_path, kernel_objs))], capture_output=True, text=True, timeout=600)
    assert bad.returncode == 1 and "ERROR: DMA transfer for image 0 failed" in bad.stdout
