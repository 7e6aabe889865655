# Lossy compression study (issue 3): Alg. 1/2 (A1/A2/A3), mantissa approximation, ESART, baselines on the default LeNet.
.PHONY: study study-quick

study: $(STAMP)  ## regenerate reports/lenet (report.md, PNGs, study.json, headline .pcz models)
	$(BIN)/pycompress study -o reports/lenet

study-quick: $(STAMP)  ## the reduced study the tests run, into build/study-quick
	$(BIN)/pycompress study --quick -o build/study-quick
