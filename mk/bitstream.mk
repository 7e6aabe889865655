# Vivado flow for the ZedBoard (issue 7): see docs/vivado.md.
#   make bitstream [MODEL=build/lenet-bf16.pcz] [BASELINE=1] [JOBS=4] [ENGINE=hls|rtl]
#     ENGINE=rtl: the whole-network RTL engine (docs/rtl.md) in the same block design, packaged by Vivado alone
#   make bitstream-scripts    the same build folders, no tool run (works without Vivado)
#   make vivado-report        Table 7-like comparison from the build folders' reports
MODEL ?= build/lenet-bf16.pcz
BASELINE ?= 0
ENGINE ?= hls
JOBS ?= 4
VIVADO_BUILD ?= build/vivado
VIVADO_NAME = $(basename $(notdir $(MODEL)))
BITSTREAM_FLAGS = -o $(VIVADO_BUILD) --jobs $(JOBS) --engine $(ENGINE) $(if $(filter 1 yes true,$(BASELINE)),--baseline)

.PHONY: bitstream bitstream-scripts vivado-report

bitstream: $(STAMP)
	@$(BIN)/pycompress bitstream $(MODEL) $(BITSTREAM_FLAGS)

bitstream-scripts: $(STAMP)
	@$(BIN)/pycompress bitstream $(MODEL) $(BITSTREAM_FLAGS) --scripts-only

vivado-report: $(STAMP)
	@$(BIN)/pycompress vivado-report $(VIVADO_BUILD)/$(subst -,_,$(VIVADO_NAME))
