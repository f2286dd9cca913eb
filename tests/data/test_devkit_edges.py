"""Devkit and input-file edge cases end in one line, never a traceback or a hang: a meta.mat
that is empty, MATLAB v7.3 (HDF5), a folder, a FIFO, or declares far more synsets than the
release; an extracted devkit without its ground truth; a FIFO as a config or a sweep space."""

from __future__ import annotations

import io
import os
import tarfile

import numpy as np
import pytest
from data.imagenet_fixture import write_release
from scipy.io import savemat

from localnet.config import load_config
from localnet.data.imagenet import prepare_imagenet
from localnet.data.imagenet.sources import DEVKIT_DIR, DEVKIT_TAR, GROUND_TRUTH, META
from localnet.errors import ConfigError, DataError
from localnet.sweep.space import load_space


@pytest.fixture
def extracted(tmp_path):
    """A release whose devkit is an extracted folder (meta.mat and the ground truth)."""
    src = tmp_path / "src"
    write_release(src)
    with tarfile.open(src / DEVKIT_TAR) as tar:
        tar.extractall(src, filter="data")
    (src / DEVKIT_TAR).unlink()
    return src


def _many_synsets() -> bytes:
    buffer = io.BytesIO()
    records = np.zeros((100000,), dtype=[("ILSVRC2012_ID", "O"), ("WNID", "O"), ("num_train_images", "O")])
    savemat(buffer, {"synsets": records}, do_compression=True)
    return buffer.getvalue()


@pytest.mark.parametrize("meta", ["empty", "hdf5", "folder", "fifo", "many"])
def test_a_bad_meta_mat_is_one_line(extracted, meta, tmp_path):
    path = extracted / DEVKIT_DIR / META
    path.unlink()
    if meta == "empty":
        path.write_bytes(b"")
    elif meta == "hdf5":
        path.write_bytes(b"MATLAB 7.3 MAT-file" + b" " * 97 + b"\x00\x02IM" + b"\x89HDF\r\n\x1a\n" + b"\0" * 512)
    elif meta == "folder":
        path.mkdir()
    elif meta == "fifo":
        os.mkfifo(path)
    else:
        path.write_bytes(_many_synsets())
    with pytest.raises(DataError) as err:
        prepare_imagenet(extracted, tmp_path / "out", size=8, splits=("val",))
    assert "\n" not in str(err.value) and "meta.mat" in str(err.value), str(err.value)


def test_an_extracted_devkit_without_its_ground_truth(extracted, tmp_path):
    (extracted / DEVKIT_DIR / GROUND_TRUTH).unlink()
    with pytest.raises(DataError, match=r"ILSVRC2012_validation_ground_truth.txt is missing"):
        prepare_imagenet(extracted, tmp_path / "out", size=8, splits=("val",))


def test_a_fifo_as_config_or_space_does_not_hang(tmp_path):
    fifo = tmp_path / "fifo.toml"
    os.mkfifo(fifo)
    with pytest.raises(ConfigError, match="is not a regular file"):
        load_config(fifo)
    with pytest.raises(ConfigError, match="is not a regular file"):
        load_space(fifo)


def test_a_truncated_train_tar_without_devkit_is_one_line(tmp_path):
    src = tmp_path / "src"
    write_release(src)
    (src / DEVKIT_TAR).unlink()
    tar = src / "ILSVRC2012_img_train.tar"
    tar.write_bytes(tar.read_bytes()[:3000])
    with pytest.raises(DataError, match=r"cannot be read as a tar \(ReadError|runs past the end of the tar"):
        prepare_imagenet(src, tmp_path / "out", size=8, splits=("train",))


def test_a_tar_member_claiming_more_than_the_file_is_one_line(tmp_path):
    """A header promising 10 MB of data in a 2 KB file (a hostile or cut tar)."""
    src = tmp_path / "src"
    (src / "val").mkdir(parents=True)
    info = tarfile.TarInfo("n01440764.tar")
    info.size = 10 * 2**20
    (src / "ILSVRC2012_img_train.tar").write_bytes(info.tobuf(format=tarfile.GNU_FORMAT) + b"\0" * 512)
    with pytest.raises(DataError, match=r"(cannot be read as a tar \(ReadError: unexpected end of data\)"
                                        r"|member n01440764.tar claims 10,485,760 bytes, which run past the end)"):
        prepare_imagenet(src, tmp_path / "out", size=8, splits=("train",))
