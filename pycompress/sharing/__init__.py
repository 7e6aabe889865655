"""Stage 5: weight sharing by clustering (Dupuis et al.): k-means codebooks per layer, the
per-layer sensitivity analysis, the design-space exploration (Optuna, local or on a shared
PostgreSQL server) and its report.

May import: core, schemes, frontends, pycompress.compress, lossy.
"""
