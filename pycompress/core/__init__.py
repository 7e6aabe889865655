"""Stage 1, the ground floor: what every other stage stands on.

Owns float formats and bit packing, the `.pcz` container with its validation boundary and its
scheme registry (schemes register themselves; core never names one), the layer graph (the
model description every later stage reads), memory accounting (the papers' Eq. 1-4), file I/O
with the one atomic-output policy, errors, progress lines and plots.

May import: the standard library, numpy, torch. Never another pycompress stage.
"""
