"""Fixtures of the recording tests."""

from __future__ import annotations

import pytest

from localnet.data.synthetic import write_synthetic_mnist


@pytest.fixture
def data_dir(tmp_path):
    directory = tmp_path / "mnist"
    write_synthetic_mnist(directory, n_train=48, n_test=16)
    return directory
