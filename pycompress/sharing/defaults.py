"""Defaults of the clustering commands, in a module without torch so the CLI can print them in --help."""

DEFAULT_KS = (2, 4, 8, 16, 32, 64, 128, 256)
EXPLORE_TRIALS = 300  # NSGA-II trials added by one explore run (0: greedy only)
EXPLORE_POPULATION = 24
EXPLORE_SEED = 0
