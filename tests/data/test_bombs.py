"""Hostile inputs bounded by what their headers promise: a gzip MNIST file that inflates far
past its IDX header, an image file too large to be an image, and a 1 x 60,000 JPEG whose
resize would take gigabytes. Each ends in one line (a DataError, or the image skipped with
its reason), the gzip bomb under a memory limit well below what it inflates to."""

from __future__ import annotations

import gzip
import io
import struct
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from PIL import Image

from localnet.data.idx import read_idx_bytes
from localnet.data.imagenet.decode import MAX_ASPECT, DecodeError, decode_resized
from localnet.data.imagenet.prepare import _decode_task
from localnet.errors import DataError


def _bomb(path, inflated: int) -> None:
    """A labels file whose header promises 10 bytes and whose stream inflates to `inflated`."""
    header = struct.pack(">BBBBI", 0, 0, 0x08, 1, 10)
    with gzip.open(path, "wb", compresslevel=9) as out:
        out.write(header)
        chunk = b"\0" * 2**20
        for _ in range(inflated // len(chunk)):
            out.write(chunk)


def test_a_gzip_bomb_stops_at_what_its_header_promises(tmp_path):
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    _bomb(path, 64 * 2**20)
    with pytest.raises(DataError, match=r"inflates past the 18 bytes its IDX header promises"):
        read_idx_bytes(path, what="MNIST file")


@pytest.mark.slow
def test_a_gigabyte_gzip_bomb_under_a_memory_limit(tmp_path):
    """2 GiB of zeros in a 2 MB file, read under a 1 GiB address-space limit: one line, exit 1."""
    path = tmp_path / "bomb.gz"
    _bomb(path, 2 * 2**30)
    child = textwrap.dedent(f"""
        import resource, sys
        resource.setrlimit(resource.RLIMIT_AS, ({2**30}, {2**30}))
        from localnet.data.idx import read_idx_bytes
        from localnet.errors import DataError
        try:
            read_idx_bytes({str(path)!r})
        except DataError as err:
            print(err); sys.exit(1)
    """)
    done = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, timeout=300)
    assert done.returncode == 1 and "inflates past the 18 bytes" in done.stdout, done.stdout + done.stderr
    assert "Traceback" not in done.stderr


def _jpeg(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 10, 10)).save(buffer, format="JPEG")
    return buffer.getvalue()


def test_an_extreme_aspect_ratio_is_skipped_not_blown_up():
    data = _jpeg(1, 60000)
    assert len(data) < 100_000
    with pytest.raises(DecodeError, match=rf"1 x 60000 pixels: an aspect ratio beyond {MAX_ASPECT}:1"):
        decode_resized(data, 256)
    assert decode_resized(_jpeg(40, 800), 16).shape == (16, 16, 3)  # 20:1 is still an image


def test_an_image_file_too_large_is_not_read(tmp_path):
    path = tmp_path / "huge.JPEG"
    with open(path, "wb") as out:  # sparse: 3 GB on paper, nothing on disk
        out.seek(3 * 2**30)
        out.write(b"\0")
    reason = _decode_task((str(path), 0, -1, 16, False))
    assert isinstance(reason, str) and reason.startswith("3,221,225,473 bytes, more than an image file may have")
    good = tmp_path / "good.JPEG"
    good.write_bytes(_jpeg(20, 30))
    assert isinstance(_decode_task((str(good), 0, -1, 16, False)), np.ndarray)


def _write_terabyte_npz(path) -> None:
    """An imagenet32 file whose data header claims (10^10, 3072) uint8 (28 TiB) in a few bytes."""
    import zipfile

    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "|u1", "fortran_order": False,
                                                  "shape": (10**10, 3072)})
    labels = io.BytesIO()
    np.save(labels, np.ones(4, dtype=np.int64))
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("data.npy", header.getvalue() + b"\0" * 64)
        archive.writestr("labels.npy", labels.getvalue())


def test_an_npz_header_claiming_terabytes_is_not_believed(tmp_path):
    from localnet.data.downsampled import IMAGENET32, read_batch

    path = tmp_path / "val_data.npz"
    _write_terabyte_npz(path)
    with pytest.raises(DataError, match=r"data.npy claims shape \(10000000000, 3072\)"):
        read_batch(IMAGENET32, path)


LIMIT = 2**30  # 1 GiB of address space: each bomb would need far more


def _under_limit(code: str) -> subprocess.CompletedProcess:
    child = textwrap.dedent(f"""
        import resource, sys
        resource.setrlimit(resource.RLIMIT_AS, ({LIMIT}, {LIMIT}))
    """) + textwrap.dedent(code)
    return subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_the_image_and_npz_bombs_under_a_memory_limit(tmp_path):
    """The 1 x 60,000 JPEG (12 GB once resized) and the npz header claiming 28 TiB, each in a
    process limited to 1 GiB: the one-line refusal, not a MemoryError."""
    (tmp_path / "tall.jpg").write_bytes(_jpeg(1, 60000))
    done = _under_limit(f"""
        from localnet.data.imagenet.decode import DecodeError, decode_resized
        try:
            decode_resized(open({str(tmp_path / "tall.jpg")!r}, "rb").read(), 256)
        except DecodeError as err:
            print(err); sys.exit(1)
    """)
    assert done.returncode == 1 and "an aspect ratio beyond" in done.stdout, done.stdout + done.stderr
    path = tmp_path / "val_data.npz"
    _write_terabyte_npz(path)
    done = _under_limit(f"""
        from localnet.data.downsampled import IMAGENET32, read_batch
        from localnet.errors import DataError
        try:
            read_batch(IMAGENET32, __import__("pathlib").Path({str(path)!r}))
        except DataError as err:
            print(err); sys.exit(1)
    """)
    assert done.returncode == 1 and "claims shape (10000000000, 3072)" in done.stdout, done.stdout + done.stderr
