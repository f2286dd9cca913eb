"""localnet.data.paths: a dataset that is not found gets one line naming where it looked
and how to get it: the fetch command where there is a mirror, else how to prepare it."""

from __future__ import annotations

import pytest

from localnet.data.paths import resolve_data_dir
from localnet.errors import DataError


@pytest.mark.parametrize("name", ["imagenet", "imagenet32"])
def test_a_dataset_without_a_download_points_to_how_to_get_it(tmp_path, monkeypatch, name):
    monkeypatch.delenv("LOCALNET_DATA", raising=False)
    with pytest.raises(DataError) as err:
        resolve_data_dir(name, tmp_path)
    message = str(err.value)
    assert "\n" not in message and "localnet data fetch" not in message
    assert ("localnet data prepare imagenet" in message) if name == "imagenet" else ("download" in message)


def test_imagenet_names_each_missing_manifest_by_its_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("LOCALNET_DATA", str(tmp_path))
    with pytest.raises(DataError, match=r"missing in .*: train/manifest\.json, val/manifest\.json\): .*; or unset"):
        resolve_data_dir("imagenet")


def test_a_dataset_with_a_mirror_names_the_fetch_command(tmp_path, monkeypatch):
    monkeypatch.delenv("LOCALNET_DATA", raising=False)
    with pytest.raises(DataError, match=f"run `localnet data fetch mnist --data-dir {tmp_path}`"):
        resolve_data_dir("mnist", tmp_path)
