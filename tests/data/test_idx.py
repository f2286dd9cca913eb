"""IDX reader/writer: round trips, and one-line DataErrors for every kind of bad file."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import arrays

from localnet.data.idx import encode_idx, read_idx, write_idx
from localnet.errors import DataError

shapes = st.lists(st.integers(0, 5), min_size=1, max_size=4).map(tuple)


def assert_one_line(err: pytest.ExceptionInfo, *fragments: str) -> str:
    """The error's message, after checking it is one line containing each fragment."""
    message = str(err.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message
    return message


@settings(deadline=None)  # example count comes from the active profile
@given(array=arrays(np.uint8, shapes), gz=st.booleans())
def test_round_trip(tmp_path_factory, array, gz):
    path = tmp_path_factory.mktemp("idx") / ("a.idx.gz" if gz else "a.idx")
    write_idx(path, array)
    back = read_idx(path)
    assert back.dtype == np.uint8
    assert back.shape == array.shape
    np.testing.assert_array_equal(back, array)


def test_mnist_magic_and_header(tmp_path):
    images = np.arange(2 * 28 * 28, dtype=np.uint64).astype(np.uint8).reshape(2, 28, 28)
    labels = np.array([3, 7], dtype=np.uint8)
    raw = encode_idx(images)
    assert raw[:4] == bytes.fromhex("00000803")
    assert struct.unpack(">3I", raw[4:16]) == (2, 28, 28)
    assert encode_idx(labels)[:8] == bytes.fromhex("00000801") + struct.pack(">I", 2)
    write_idx(tmp_path / "x.gz", images)
    write_idx(tmp_path / "y", labels)
    assert read_idx(tmp_path / "x.gz", expect_ndim=3).shape == (2, 28, 28)
    assert read_idx(tmp_path / "y", expect_ndim=1).tolist() == [3, 7]


def test_gzip_output_is_deterministic(tmp_path):
    array = np.ones((3, 4), dtype=np.uint8)
    a = write_idx(tmp_path / "a.gz", array).read_bytes()
    b = write_idx(tmp_path / "b.gz", array).read_bytes()
    assert a == b


def test_read_only_result(tmp_path):
    back = read_idx(write_idx(tmp_path / "a", np.zeros(4, np.uint8)))
    assert not back.flags.writeable


@pytest.mark.parametrize("gz", [True, False])
def test_truncated_items(tmp_path, gz):
    data = encode_idx(np.zeros((5, 28, 28), np.uint8))[:-100]
    path = tmp_path / ("x.gz" if gz else "x")
    path.write_bytes(gzip.compress(data) if gz else data)
    with pytest.raises(DataError) as err:
        read_idx(path, what="MNIST file", fix="get a new one")
    message = assert_one_line(err, str(path), "truncated", "get a new one", str(len(data)))
    assert str(16 + 5 * 784) in message  # expected size


def test_truncated_gzip_stream(tmp_path):
    path = tmp_path / "x.gz"
    noise = np.random.default_rng(0).integers(0, 256, (50, 28, 28), dtype=np.uint8)
    path.write_bytes(gzip.compress(encode_idx(noise))[:2000])
    with pytest.raises(DataError) as err:
        read_idx(path)
    assert_one_line(err, str(path), "truncated", "gzip")


def test_truncated_header(tmp_path):
    path = tmp_path / "x"
    path.write_bytes(bytes.fromhex("00000803") + b"\x00\x00\x00\x05")
    with pytest.raises(DataError) as err:
        read_idx(path)
    assert_one_line(err, str(path), "truncated")


def test_empty_file(tmp_path):
    path = tmp_path / "x"
    path.write_bytes(b"")
    with pytest.raises(DataError) as err:
        read_idx(path)
    assert_one_line(err, str(path), "truncated")


def test_trailing_bytes(tmp_path):
    path = tmp_path / "y"
    path.write_bytes(encode_idx(np.zeros(3, np.uint8)) + b"junk")
    with pytest.raises(DataError) as err:
        read_idx(path)
    assert_one_line(err, str(path), "4 trailing bytes")


@pytest.mark.parametrize("magic", ["12345678", "00000800", "01000801"])
def test_bad_magic(tmp_path, magic):
    path = tmp_path / "x"
    path.write_bytes(bytes.fromhex(magic) + b"\x00" * 8)
    with pytest.raises(DataError) as err:
        read_idx(path)
    assert_one_line(err, str(path), "not an IDX file")


def test_unsupported_dtype(tmp_path):
    path = tmp_path / "x"
    path.write_bytes(bytes.fromhex("00000d01") + struct.pack(">I", 1) + b"\x00" * 4)
    with pytest.raises(DataError) as err:
        read_idx(path)
    assert_one_line(err, str(path), "0x0d")


def test_wrong_rank(tmp_path):
    path = write_idx(tmp_path / "labels.gz", np.zeros((4, 2), np.uint8))
    with pytest.raises(DataError) as err:
        read_idx(path, expect_ndim=1)
    assert_one_line(err, str(path), "0x00000802", "expected 0x00000801")


def test_not_gzip(tmp_path):
    path = tmp_path / "x.gz"
    path.write_bytes(encode_idx(np.zeros(3, np.uint8)))
    with pytest.raises(DataError) as err:
        read_idx(path)
    assert_one_line(err, str(path), "not a valid gzip file")


def test_corrupt_gzip_body(tmp_path):
    data = bytearray(gzip.compress(encode_idx(np.arange(200, dtype=np.uint8))))
    data[20:30] = b"\xff" * 10
    path = tmp_path / "x.gz"
    path.write_bytes(bytes(data))
    with pytest.raises(DataError) as err:
        read_idx(path)
    assert_one_line(err, str(path))


def test_missing_file(tmp_path):
    path = tmp_path / "nope.gz"
    with pytest.raises(DataError) as err:
        read_idx(path)
    assert_one_line(err, str(path), "does not exist")


def test_directory_instead_of_file(tmp_path):
    with pytest.raises(DataError) as err:
        read_idx(tmp_path)
    assert_one_line(err, str(tmp_path), "cannot be read")


def test_write_rejects_non_uint8(tmp_path):
    with pytest.raises(ValueError):
        write_idx(tmp_path / "x", np.zeros(3, np.int32))
