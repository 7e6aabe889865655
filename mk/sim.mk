# RTL verification (Verilator + cocotb) and open-source resource counts (Yosys): issue 6.
#   make sim            compress the default LeNet, write RTL images, stream every weight through the RTL,
#                       the whole-network RTL engine (rtl/mac_engine.sv, issue 22): 100 test digits through LeNet and
#                       20 through the digits CNN under random backpressure with a reset mid-image, bit-exact, and
#                       the board top (AXI4-Lite + AXI4-Stream, sim/accel_harness.py) on 3 digits,
#                       run the cocotb/pytest RTL suite and the HLS C simulation, print a summary
#   make sim WAVES=1    also dump VCD waveforms (sim_build/*-waves/, build/sim/runs/*/*/dump.vcd)
#   make synth-report   Yosys synth_xilinx (xc7) LUT/FF/BRAM/DSP counts and the timing ESTIMATE (worst register-to-
#                       register path per module, docs/rtl.md) of the whole LeNet engine, BF16, and its weight stores
#                       as raw / offset exponent / exponent sharing / Huffman at the same lanes (30-80 min on 2
#                       shared cores), the decoders, streamers, LeNet tables
SIM_OUT     := build/sim
SIM_FORMATS := fp32 bf16 fp16
HUFFMAN_FORMATS := bf16 fp32  # entropy-coded LeNet through rtl/huffman_streamer.sv (sim/huffman_streamer.py)
RTL_TESTS   := tests/test_rtl_images.py tests/test_rtl_refmodel.py tests/test_rtl_lint.py tests/test_rtl_sim.py \
               tests/test_huffman_rtl.py tests/test_network_engine.py tests/test_vivado_rtl.py
WAVES       ?= 0
export WAVES

.PHONY: sim synth-report

sim: $(STAMP)
	@mkdir -p $(SIM_OUT)
	@rm -rf $(SIM_OUT)/runs
	@status=0; \
	for f in $(SIM_FORMATS); do \
	  $(BIN)/pycompress compress $(LENET) -o $(SIM_OUT)/lenet-$$f.pcz --format $$f || exit 1; \
	done; \
	$(PY) sim/models.py $(LENET) -o $(SIM_OUT)/lenet-cluster16.pcz --format fp32 -k 16 || exit 1; \
	for m in $(SIM_FORMATS) cluster16; do \
	  $(BIN)/pycompress rtl $(SIM_OUT)/lenet-$$m.pcz -o $(SIM_OUT)/rtl-$$m || exit 1; \
	  $(PY) sim/run_model.py $(SIM_OUT)/lenet-$$m.pcz --images $(SIM_OUT)/rtl-$$m --work $(SIM_OUT)/runs/$$m \
	    --tests stream_layer,throughput || status=1; \
	done; \
	for f in $(HUFFMAN_FORMATS); do \
	  $(BIN)/pycompress compress $(LENET) -o $(SIM_OUT)/lenet-huffman-$$f.pcz --format $$f --scheme huffman || exit 1; \
	  $(BIN)/pycompress rtl $(SIM_OUT)/lenet-huffman-$$f.pcz -o $(SIM_OUT)/rtl-huffman-$$f || exit 1; \
	  $(PY) sim/huffman_streamer.py $(SIM_OUT)/lenet-huffman-$$f.pcz --images $(SIM_OUT)/rtl-huffman-$$f \
	    --work $(SIM_OUT)/huffman-streamer-$$f || status=1; \
	  echo "HLS C simulation (huffman $$f):"; \
	  $(BIN)/pycompress generate $(SIM_OUT)/lenet-huffman-$$f.pcz -o $(SIM_OUT)/hls-huffman-$$f && \
	  $(BIN)/pycompress csim $(SIM_OUT)/hls-huffman-$$f || status=1; \
	done; \
	echo "Float units (sim/fp_units.py): 2,097,152 pairs through each multiplier (incl. narrow WB=8, WB=4) and adder:"; \
	$(PY) sim/fp_units.py --out $(SIM_OUT)/fp_units || status=1; \
	echo "Whole-network RTL engine (sim/network_harness.py): LeNet 100 inputs, the digits CNN 20, BF16:"; \
	$(PY) sim/network_harness.py --model lenet --images 100 --out $(SIM_OUT)/network || status=1; \
	$(PY) sim/network_harness.py --model digits --images 20 --out $(SIM_OUT)/network || status=1; \
	echo "The engine with entropy-coded lanes (each decodes its own Huffman stream): LeNet from pool2, 3 inputs:"; \
	$(PY) sim/network_harness.py --model lenet --images 3 --start pool2 --scheme huffman --out $(SIM_OUT)/network-huffman || status=1; \
	echo "Board top (sim/accel_harness.py): the digits CNN's engine behind AXI4-Lite and AXI4-Stream:"; \
	$(PY) sim/accel_harness.py --model digits --images 3 --out $(SIM_OUT)/accel || status=1; \
	$(PY) -m pytest -q -m "sim and not long" $(RTL_TESTS) --junitxml=$(SIM_OUT)/pytest-rtl.xml -p no:cacheprovider || status=1; \
	if $(BIN)/pycompress --help 2>/dev/null | grep -qw csim; then \
	  for f in $(SIM_FORMATS); do \
	    echo "HLS C simulation ($$f):"; \
	    $(BIN)/pycompress generate $(SIM_OUT)/lenet-$$f.pcz -o $(SIM_OUT)/hls-$$f && \
	    $(BIN)/pycompress csim $(SIM_OUT)/hls-$$f || status=1; \
	  done; \
	else echo "HLS C simulation: skipped (no 'pycompress csim' command)"; fi; \
	$(PY) sim/summary.py $(SIM_OUT)/runs --junit $(SIM_OUT)/pytest-rtl.xml || status=1; \
	if [ $$status -ne 0 ]; then echo "make sim: FAILED (see above)"; fi; \
	exit $$status

synth-report: $(STAMP)
	$(PY) -m pycompress.hw.rtl.synth_report --out build/synth
