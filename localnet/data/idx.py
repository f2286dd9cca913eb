"""IDX files (the MNIST container format), gzipped or raw, read and written with numpy.

Layout: a 4-byte magic `00 00 <dtype> <ndim>`, then `ndim` big-endian uint32 sizes,
then the items in C order. Only dtype 0x08 (unsigned byte) is supported, which is
all MNIST uses: magic 0x00000801 is a 1-D label vector, 0x00000803 a 3-D image stack.

Every problem with a file raises a one-line `DataError` that names the file and a fix.
"""

from __future__ import annotations

import gzip
import math
import struct
import zlib
from pathlib import Path

import numpy as np

from ..errors import DataError

UBYTE = 0x08
DEFAULT_FIX = "replace it with a good copy"


def is_gzip_path(path: str | Path) -> bool:
    """True when `path` names a gzipped file (by its `.gz` suffix)."""
    return str(path).endswith(".gz")


class _TooLong(Exception):
    """The gzip stream holds more than its IDX header promises (args[0]: that size)."""


def _inflate_bounded(data: bytes) -> bytes:
    """gzip-decompress `data`, but never to more than its IDX header promises (+1 byte, to
    tell "too long" from "exact"): a small file that inflates to gigabytes stops there."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    head = inflater.decompress(data, 4)
    if len(head) == 4 and head[:2] == b"\0\0":
        head += inflater.decompress(inflater.unconsumed_tail, 4 * head[3])
    promised = (4 + 4 * head[3] + math.prod(struct.unpack(f">{head[3]}I", head[4:4 + 4 * head[3]]))
                if len(head) == 4 + 4 * head[3] and head[:2] == b"\0\0" else 2**31)
    body = inflater.decompress(inflater.unconsumed_tail, promised - len(head) + 1)
    if len(head) + len(body) > promised:
        raise _TooLong(promised)
    if not inflater.eof:
        raise EOFError("the gzip stream ended early")
    rest = inflater.unused_data
    if rest.strip(b"\0"):  # zero padding after the member is allowed, as gzip.decompress allows it
        if rest[:2] == b"\x1f\x8b":  # a second member: more than the header promises
            raise _TooLong(promised)
        raise gzip.BadGzipFile("trailing garbage after the gzip stream")
    return head + body


def read_idx_bytes(path: str | Path, *, what: str = "IDX file", fix: str = DEFAULT_FIX) -> bytes:
    """The file's IDX bytes: decompressed if `path` ends in .gz, else as stored.

    `what` names the file's kind in messages (e.g. "MNIST file"); `fix` is the advice
    appended to every error. Raises DataError for a missing, unreadable, truncated
    or otherwise corrupt file.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{what} {path} does not exist: {fix}") from None
    except OSError as err:
        raise DataError(f"{what} {path} cannot be read ({error_summary(err)}): {fix}") from None
    if not is_gzip_path(path):
        return data
    try:
        return _inflate_bounded(data)
    except _TooLong as err:
        raise DataError(f"{what} {path} inflates past the {err.args[0]:,} bytes its IDX header promises "
                        f"(a corrupt or hostile gzip file): {fix}") from None
    except EOFError:
        raise DataError(f"{what} {path} is truncated (gzip stream ended early): {fix}") from None
    except (gzip.BadGzipFile, zlib.error, OSError) as err:
        raise DataError(
            f"{what} {path} is not a valid gzip file ({error_summary(err)}): {fix}"
        ) from None


def parse_idx(
    data: bytes,
    path: str | Path,
    *,
    expect_ndim: int | None = None,
    what: str = "IDX file",
    fix: str = DEFAULT_FIX,
) -> np.ndarray:
    """Parse decompressed IDX bytes into a read-only uint8 array of the header's shape.

    `path` is only used in messages. The byte count must equal the header's size
    exactly: a short file is truncated, a long one has trailing bytes; both raise.
    """
    where = f"{what} {path}"
    if len(data) < 4:
        raise DataError(f"{where} is truncated ({len(data)} bytes, no IDX header): {fix}")
    zero, dtype, ndim = struct.unpack(">HBB", data[:4])
    magic = int.from_bytes(data[:4], "big")
    if zero != 0 or ndim == 0:
        raise DataError(f"{where} is not an IDX file (magic 0x{magic:08x}): {fix}")
    if dtype != UBYTE:
        raise DataError(
            f"{where} holds IDX dtype 0x{dtype:02x}, "
            f"only unsigned bytes (0x08) are supported: {fix}"
        )
    if expect_ndim is not None and ndim != expect_ndim:
        raise DataError(
            f"{where} has magic 0x{magic:08x} ({ndim}-D), expected 0x{0x800 + expect_ndim:08x} "
            f"({expect_ndim}-D): {fix}"
        )
    header_size = 4 + 4 * ndim
    if len(data) < header_size:
        raise DataError(f"{where} is truncated inside its header ({len(data)} bytes): {fix}")
    shape = struct.unpack(f">{ndim}I", data[4:header_size])
    expected = header_size + math.prod(shape)
    if len(data) < expected:
        raise DataError(
            f"{where} is truncated: header says shape {shape} ({expected} bytes) "
            f"but it holds {len(data)} bytes: {fix}"
        )
    if len(data) > expected:
        raise DataError(
            f"{where} has {len(data) - expected} trailing bytes after shape {shape} "
            f"({expected} bytes expected): {fix}"
        )
    # frombuffer shares memory with the (immutable) bytes: no copy, read-only.
    return np.frombuffer(data, dtype=np.uint8, offset=header_size).reshape(shape)


def read_idx(
    path: str | Path,
    *,
    expect_ndim: int | None = None,
    what: str = "IDX file",
    fix: str = DEFAULT_FIX,
) -> np.ndarray:
    """Read an IDX file (gzipped if the name ends in .gz) into a read-only uint8 array.

    MNIST images come back as (N, 28, 28), labels as (N,). `expect_ndim` (1 for
    labels, 3 for images) additionally checks the magic number.
    """
    data = read_idx_bytes(path, what=what, fix=fix)
    return parse_idx(data, path, expect_ndim=expect_ndim, what=what, fix=fix)


def encode_idx(array: np.ndarray) -> bytes:
    """The IDX bytes (header + items) of a uint8 array with 1 to 255 dimensions."""
    array = np.asarray(array)
    if array.dtype != np.uint8:
        raise ValueError(f"IDX writer supports uint8 arrays only, got {array.dtype}")
    if not 1 <= array.ndim <= 255:
        raise ValueError(f"IDX arrays need 1 to 255 dimensions, got {array.ndim}")
    header = struct.pack(f">HBB{array.ndim}I", 0, UBYTE, array.ndim, *array.shape)
    return header + np.ascontiguousarray(array).tobytes()


def write_idx(path: str | Path, array: np.ndarray) -> Path:
    """Write `array` (uint8) as an IDX file, gzipped when `path` ends in .gz.

    The gzip header carries no name or timestamp (mtime=0), so equal arrays give
    byte-identical files and stable MD5s. Returns the path written.
    """
    path = Path(path)
    data = encode_idx(array)
    if is_gzip_path(path):
        data = gzip.compress(data, mtime=0)
    path.write_bytes(data)
    return path


def error_summary(err: BaseException) -> str:
    """A short single-line description of an exception, for messages."""
    text = str(err).replace("\n", " ").strip()
    return f"{type(err).__name__}: {text}" if text else type(err).__name__
