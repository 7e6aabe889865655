"""Where the files beside the Python code live: shipped models inside the package, and the hardware
sources (templates, RTL, board data) in the repository folders next to it. One place, so that moving a
module never changes what a relative `__file__` climb reaches."""
from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1]
REPO_DIR = PACKAGE_DIR.parent
MODELS_DIR = PACKAGE_DIR / "models"
BOARDS_DIR = REPO_DIR / "boards"
RTL_DIR = REPO_DIR / "rtl"
HLS_TEMPLATE_DIR = REPO_DIR / "hls_templates"
