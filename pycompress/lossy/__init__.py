"""Stage 4: the lossy methods of the exponent-sharing paper (Kashikar et al.): exponent
approximation A1/A2/A3 by magnitude or frequency and its iterative search (Alg. 1/2), mantissa
approximation, ESART retraining, the int8/fp16 baselines, and the study that compares them.

May import: core, schemes, frontends, pycompress.compress.
"""
