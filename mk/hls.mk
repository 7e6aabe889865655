# HLS generator (issue 5): generate + C-simulate the default LeNet kernel (bf16 exponent sharing) and its baseline.
HLS_BUILD  ?= build/hls-lenet
HLS_FORMAT ?= bf16

.PHONY: hls hls-estimate

$(HLS_BUILD)/lenet-$(HLS_FORMAT).pcz: $(STAMP)
	@mkdir -p $(HLS_BUILD)
	$(BIN)/pycompress compress $(LENET) --format $(HLS_FORMAT) -o $@

hls: $(HLS_BUILD)/lenet-$(HLS_FORMAT).pcz
	$(BIN)/pycompress generate $< -o $(HLS_BUILD)/kernel
	$(BIN)/pycompress csim $(HLS_BUILD)/kernel
	$(BIN)/pycompress generate $< -o $(HLS_BUILD)/baseline --baseline
	$(BIN)/pycompress csim $(HLS_BUILD)/baseline

hls-estimate: $(HLS_BUILD)/lenet-$(HLS_FORMAT).pcz
	$(BIN)/pycompress estimate $< -o $(HLS_BUILD)/estimates.json
