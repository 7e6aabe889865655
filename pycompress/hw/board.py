"""The target board as data: read from boards/<name>/board.json, the one place the part number lives.

Python passes these values to the HLS, RTL and TCL templates; TCL scripts that run
on their own read the same JSON.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, fields

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
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", name) or ".." in name:
        raise PycompressError(f"--board {name!r:.80}: a board is named by its folder under {BOARDS_DIR}")
    path = BOARDS_DIR / name / "board.json"
    if not path.exists():
        raise PycompressError(f"unknown board {name!r}: no {path}")
    data = read_json_object(path, "board description")
    try:
        board = Board(**data)
    except TypeError as exc:
        raise PycompressError(f"{path}: {exc}") from None
    for f in fields(Board):  # every value reaches templates and divisions: typed and positive here
        value = getattr(board, f.name)
        if f.type == "int" and (type(value) is not int or not 0 < value <= 10**9):
            raise PycompressError(f"{path}: {f.name} must be a positive integer, not {value!r:.40}")
        if f.type == "str" and (not isinstance(value, str) or not value):
            raise PycompressError(f"{path}: {f.name} must be a non-empty string, not {value!r:.40}")
    return board
