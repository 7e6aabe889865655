import numpy as np
import pytest

from pycompress.core.bitpack import pack, packed_nbytes, unpack


@pytest.mark.parametrize("width", [1, 2, 3, 5, 7, 8, 9, 10, 13, 16, 17, 23, 31, 32, 33, 52, 64])
@pytest.mark.parametrize("n", [0, 1, 7, 8, 9, 1001])
def test_round_trip_every_width(width, n):
    rng = np.random.default_rng(width * 1000 + n)
    values = rng.integers(0, (1 << width) - 1, size=n, dtype=np.uint64, endpoint=True)
    if n:
        values[0] = (1 << width) - 1  # the largest value must survive
    packed = pack(values, width)
    assert packed.dtype == np.uint8 and packed.size == packed_nbytes(n, width)
    np.testing.assert_array_equal(unpack(packed, width, n), values)


def test_layout_is_msb_first():
    # 5=101, 1=001, 7=111 -> 101001111 -> 0xA7 0x80
    assert pack(np.array([5, 1, 7], np.uint8), 3).tolist() == [0xA7, 0x80]
    assert pack(np.array([1, 0, 1], np.uint8), 1).tolist() == [0xA0]
    assert pack(np.array([0x3FF], np.uint16), 10).tolist() == [0xFF, 0xC0]


def test_short_buffer_is_an_error():
    with pytest.raises(ValueError, match="needed"):
        unpack(np.zeros(1, np.uint8), 7, 3)


@pytest.mark.parametrize("width", [10, 23, 52])
def test_wide_fields_across_chunks(width):
    """More values than one chunk of the wide path: chunks must join on the right bytes."""
    from pycompress.core.bitpack import CHUNK

    n = CHUNK + 13
    values = np.random.default_rng(width).integers(0, 1 << width, size=n, dtype=np.uint64)
    packed = pack(values, width)
    np.testing.assert_array_equal(unpack(packed, width, n), values)
    # the stream is the same as packing the two halves back to back (CHUNK values fill whole bytes)
    assert packed.tobytes() == pack(values[:CHUNK], width).tobytes() + pack(values[CHUNK:], width).tobytes()
