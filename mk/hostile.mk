# Hostile inputs (issue 23): peak memory and time of each refusal of a bomb or a hang.
.PHONY: bench-hostile

bench-hostile: $(STAMP)
	$(PY) benchmarks/bench_hostile.py
