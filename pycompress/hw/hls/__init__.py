"""HLS generator: layer graph + compressed tables -> Vitis/Vivado HLS project, C simulation, estimates."""
from __future__ import annotations

from .project import HLSProject  # noqa: F401
from .writer import generate, render_project  # noqa: F401
