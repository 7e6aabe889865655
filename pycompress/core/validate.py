"""Checks for untrusted container data: bounded JSON and typed, range-checked fields.

A `.pcz` may come from anyone, and its checksums are unkeyed, so they only catch
accidents. Every metadata value is therefore checked here for type and range
before anything is decoded; once a container has passed, decoding cannot fail
on its data. Storage schemes use these helpers in their `validate_stored` hook.
"""
from __future__ import annotations

import json
import math
from typing import Any, Iterable, Mapping

import numpy as np

from . import bitpack
from .errors import PycompressError
from .formats import FORMATS, FloatFormat

MAX_JSON_BYTES = 64 << 20  # one JSON text (safetensors header, pycompress metadata)
MAX_JSON_DEPTH = 64  # nested arrays/objects: refused before json.loads could recurse
MAX_JSON_ITEMS = 4_000_000  # values and keys of one text: json.loads's objects stay within a few hundred MB
MAX_INT_DIGITS = 20  # integers in metadata fit in 64 bits
MAX_DIMS = 16
MAX_NUMEL = 1 << 36  # elements of one tensor (also bounded by the file: byte lengths must match)
MAX_NAME_CHARS = 4096
INDEX_CHUNK = 1 << 20  # values per slice when scanning packed indices: bounds temporary memory


class Invalid(PycompressError):
    """A metadata field or stored array that fails its check (the container adds the file name)."""


# ---------------------------------------------------------------- JSON with bounded size, depth and integers

_OPEN = np.zeros(256, np.int8)
_OPEN[[ord("["), ord("{")]] = 1
_OPEN[[ord("]"), ord("}")]] = -1
_ITEM = np.zeros(256, np.bool_)  # a value or key starts after each of these (an upper bound on objects made)
_ITEM[[ord("["), ord("{"), ord(","), ord(":")]] = True
_SPECIAL = _ITEM | (_OPEN != 0)
SCAN_CHUNK = 1 << 18  # bytes per slice of the scan: its temporary memory is a few MiB whatever the text


def json_shape(text: bytes) -> tuple[int, int]:
    """(deepest nesting of arrays/objects, an upper bound on the values and keys) of a JSON text.

    One pass in fixed-size slices, so time is linear and memory constant in the text's length
    (a regex that skips strings backtracks quadratically on a quote followed by escaped quotes).
    A quote ends or starts a string unless an odd run of backslashes precedes it; brackets,
    commas and colons inside strings do not count. On text that is not JSON the figures are
    meaningless but finite, and json.loads refuses the text afterwards.
    """
    view = memoryview(text).cast("B")
    depth = top = items = 0
    in_string = False
    run = 0  # backslashes ending the previous slice
    for start in range(0, len(view), SCAN_CHUNK):
        b = np.frombuffer(view[start:start + SCAN_CHUNK], np.uint8)
        backslash = b == 92
        first = np.flatnonzero(backslash & ~np.concatenate(([False], backslash[:-1])))  # each run's first backslash
        quotes = np.flatnonzero(b == 34)
        escaped = np.zeros(quotes.size, np.bool_)
        after = quotes > 0
        after[after] = backslash[quotes[after] - 1]  # quotes right after a backslash
        if after.any():
            q = quotes[after]
            begin = first[np.searchsorted(first, q - 1, "right") - 1]
            escaped[after] = ((q - begin + np.where(begin == 0, run, 0)) & 1) == 1
        if quotes.size and quotes[0] == 0:
            escaped[0] = bool(run & 1)
        toggles = quotes[~escaped]
        special = np.flatnonzero(_SPECIAL[b])
        special = special[((np.searchsorted(toggles, special) + int(in_string)) & 1) == 0]  # outside strings
        chars = b[special]
        level = depth + np.cumsum(_OPEN[chars], dtype=np.int64)
        if level.size:
            top, depth = max(top, int(level.max())), int(level[-1])
        items += int(np.count_nonzero(_ITEM[chars]))
        in_string = bool((int(in_string) + toggles.size) & 1)
        if backslash[-1]:
            run = b.size - int(first[-1]) + (run if first[-1] == 0 else 0)
        else:
            run = 0
    return max(top, 0), items + 1


def json_depth(text: bytes) -> int:
    """Deepest nesting of arrays/objects (see json_shape)."""
    return json_shape(text)[0]


def _bounded_int(s: str) -> int:
    if len(s.lstrip("-")) > MAX_INT_DIGITS:
        raise Invalid(f"integer of {len(s)} digits")
    return int(s)


def _finite_float(s: str) -> float:
    v = float(s)
    if not math.isfinite(v):
        raise Invalid(f"number {s[:20]} out of range")
    return v


def parse_json(text: bytes | str, what: str) -> Any:
    """json.loads with the text's size, nesting depth and integer length bounded first."""
    raw = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else bytes(text)
    if len(raw) > MAX_JSON_BYTES:
        raise Invalid(f"{what} is {len(raw)} bytes, limit {MAX_JSON_BYTES}")
    depth, items = json_shape(raw)
    if depth > MAX_JSON_DEPTH:
        raise Invalid(f"{what} nests {depth} deep, limit {MAX_JSON_DEPTH}")
    if items > MAX_JSON_ITEMS:
        raise Invalid(f"{what} holds about {items:,} values, limit {MAX_JSON_ITEMS:,}")
    try:
        return json.loads(raw.decode("utf-8"), parse_int=_bounded_int, parse_float=_finite_float)
    except Invalid as exc:
        raise Invalid(f"{what}: {exc}") from None
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise Invalid(f"{what} is not valid JSON") from None


# ---------------------------------------------------------------- typed fields

def need_dict(value: Any, what: str) -> dict:
    if not isinstance(value, dict):
        raise Invalid(f"{what} is {type(value).__name__}, expected an object")
    return value


def need_list(value: Any, what: str, max_len: int) -> list:
    if not isinstance(value, list):
        raise Invalid(f"{what} is {type(value).__name__}, expected a list")
    if len(value) > max_len:
        raise Invalid(f"{what} has {len(value)} entries, limit {max_len}")
    return value


def need_keys(d: Mapping, what: str, required: Iterable[str], optional: Iterable[str] = ()) -> None:
    """Exactly the required keys, plus any of the optional ones: nothing unexplained."""
    required, allowed = set(required), set(required) | set(optional)
    missing, extra = sorted(required - set(d)), sorted(set(d) - allowed, key=str)
    if missing:
        raise Invalid(f"{what}: missing {', '.join(missing)}")
    if extra:
        raise Invalid(f"{what}: unexpected {', '.join(map(repr, extra[:5]))}")


def need_int(value: Any, what: str, lo: int, hi: int) -> int:
    if type(value) is not int:  # bool, float 2.0 and "1" are refused
        raise Invalid(f"{what} is {type(value).__name__} {_short(value)}, expected an integer")
    if not lo <= value <= hi:
        raise Invalid(f"{what} = {value} outside {lo}..{hi}")
    return value


def need_str(value: Any, what: str, max_len: int = MAX_NAME_CHARS, empty: bool = False) -> str:
    if not isinstance(value, str):
        raise Invalid(f"{what} is {type(value).__name__} {_short(value)}, expected a string")
    if len(value) > max_len or (not value and not empty):
        raise Invalid(f"{what} has {len(value)} characters (1..{max_len})")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate (JSON's \udc80): no file, terminal or tool can take it
            raise Invalid(f"{what} {_short(value)} is not valid Unicode (a lone surrogate)") from None
    return value


def need_shape(value: Any, what: str) -> tuple[int, ...]:
    """A tensor shape: a list of positive ints ([] for a 0-d tensor), at most MAX_NUMEL elements."""
    dims = need_list(value, what, MAX_DIMS)
    shape = tuple(need_int(d, f"{what}[{i}]", 1, MAX_NUMEL) for i, d in enumerate(dims))
    if math.prod(shape) > MAX_NUMEL:
        raise Invalid(f"{what} {list(shape)} has more than {MAX_NUMEL} elements")
    return shape


def need_format(value: Any, what: str, allowed: Iterable[str] = FORMATS) -> FloatFormat:
    allowed = tuple(allowed)
    if not isinstance(value, str) or value not in allowed:
        raise Invalid(f"{what} {_short(value)} is not one of {', '.join(allowed)}")
    return FORMATS[value]


def need_array(arrays: Mapping[str, np.ndarray], key: str, what: str, nbytes: int,
               dtype: np.dtype | str = np.uint8) -> np.ndarray:
    """A stored field of exactly the byte length the widths and counts imply."""
    arr = arrays[key]
    if arr.dtype != np.dtype(dtype):
        raise Invalid(f"{what}: field {key} has dtype {arr.dtype}, expected {np.dtype(dtype)}")
    if arr.nbytes != nbytes:
        raise Invalid(f"{what}: field {key} holds {arr.nbytes} bytes, {nbytes} expected")
    return arr


def need_fields(arrays: Mapping[str, np.ndarray], what: str, fields: Iterable[str]) -> None:
    fields = set(fields)
    if set(arrays) != fields:
        raise Invalid(f"{what}: stored fields {sorted(arrays)}, expected {sorted(fields)}")


def need_zero_padding(packed: np.ndarray, n: int, width: int, what: str) -> None:
    """The unused low bits of the last byte are zero, as `bitpack.pack` writes them (one canonical form)."""
    spare = -(n * width) % 8
    if spare and packed.size and int(packed[-1]) & ((1 << spare) - 1):
        raise Invalid(f"{what}: padding bits of the last byte are not zero")


def packed_max(packed: np.ndarray, width: int, n: int) -> int:
    """Largest of n packed `width`-bit values, unpacked in slices (memory independent of n)."""
    step = INDEX_CHUNK  # a multiple of 8 values, so slices start on byte edges
    top = 0
    for i in range(0, n, step):
        m = min(step, n - i)
        chunk = packed[i * width // 8: i * width // 8 + bitpack.packed_nbytes(m, width)]
        top = max(top, int(bitpack.unpack(chunk, width, m, np.uint16 if width <= 16 else np.uint64).max()))
    return top


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
