# RTL verification (Verilator + cocotb) and open-source resource counts (Yosys): issue 6.
#   make sim            compress the default LeNet, write RTL images, stream every weight through the RTL,
#                       run the cocotb/pytest RTL suite and the HLS C simulation, print a summary
#   make sim WAVES=1    also dump VCD waveforms (sim_build/*-waves/, build/sim/runs/*/*/dump.vcd)
#   make synth-report   Yosys synth_xilinx (xc7) LUT/FF/BRAM/DSP counts of the decoders, streamers, LeNet tables
SIM_OUT     := build/sim
SIM_FORMATS := fp32 bf16 fp16
RTL_TESTS   := tests/test_rtl_images.py tests/test_rtl_refmodel.py tests/test_rtl_lint.py tests/test_rtl_sim.py \
               tests/test_huffman_rtl.py
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
	$(PY) -m pytest -q -m sim $(RTL_TESTS) --junitxml=$(SIM_OUT)/pytest-rtl.xml -p no:cacheprovider || status=1; \
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
	$(PY) -m pycompress.synth_report --out build/synth
