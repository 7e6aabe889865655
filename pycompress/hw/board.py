"""The target board as data: read from boards/<name>/board.json, the one place the part number lives.

Python passes these values to the HLS, RTL and TCL templates; TCL scripts that run
on their own read the same JSON.
"""
from __future__ import annotations

from dataclasses import dataclass

from pycompress.core.errors import PycompressError
from pycompress.core.fileio import read_json_object

from pycompress.core.paths import BOARDS_DIR


@dataclass(frozen=True)
class Board:
    name: str
    vendor: str
    part: str
    board_part: str
    pl_clock_mhz: int
    pl_clock_source: str
    ps7_preset: str
    bram18k: int
    dsp48e1: int
    lut: int
    ff: int

    @property
    def clock_period_ns(self) -> float:
        return 1000.0 / self.pl_clock_mhz


def load_board(name: str = "zedboard") -> Board:
    path = BOARDS_DIR / name / "board.json"
    if not path.exists():
        raise PycompressError(f"unknown board {name!r}: no {path}")
    data = read_json_object(path, "board description")
    try:
        return Board(**data)
    except TypeError as exc:
        raise PycompressError(f"{path}: {exc}") from None
