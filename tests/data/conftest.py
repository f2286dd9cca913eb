"""Fixtures shared by the dataset tests."""

from __future__ import annotations

import pytest

import localnet.data.paths as paths_module


@pytest.fixture
def isolated_env(tmp_path, monkeypatch):
    """No $LOCALNET_DATA, an empty cache, and no shipped copy: tests see only tmp_path.
    A module takes it for every test with `pytestmark = pytest.mark.usefixtures("isolated_env")`."""
    monkeypatch.delenv("LOCALNET_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(paths_module, "shipped_data_dir", lambda name: tmp_path / "shipped" / name)
