"""A prepared ImageNet store is checked before training reads it: a malformed manifest, arrays
whose shape or dtype are not the manifest's (an absurd count included), a missing chunk file
and labels outside the classes each fail in one line, before anything large is allocated."""

from __future__ import annotations

import json
import shutil

import pytest
from data.imagenet_fixture import write_folders

from localnet.data.imagenet import open_split, prepare_imagenet
from localnet.errors import DataError


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    root = tmp_path_factory.mktemp("store")
    write_folders(root / "src")
    prepare_imagenet(root / "src", root / "out", size=8, chunk=4)
    return root / "out" / "train"


@pytest.fixture
def split(prepared, tmp_path):
    copy = tmp_path / "train"
    shutil.copytree(prepared, copy)
    return copy


def _edit_json(path, change):
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def test_a_good_store_opens(split):
    images, labels, manifest = open_split(split)
    assert images.shape[0] == len(labels) == manifest["count"] == 14


def test_a_malformed_manifest(split):
    (split / "manifest.json").write_text("{not json")
    with pytest.raises(DataError, match=r"is not a readable prepared split \(JSONDecodeError"):
        open_split(split)
    (split / "manifest.json").write_text(json.dumps({"count": 14}))
    with pytest.raises(DataError, match=r"is not a readable prepared split \(KeyError"):
        open_split(split)


@pytest.mark.parametrize("count", [10**10, -1, "14"])
def test_an_absurd_or_lying_count_allocates_nothing(split, count):
    _edit_json(split / "manifest.json", lambda m: m.update(count=count))
    with pytest.raises(DataError, match="manifest.json is malformed"):
        open_split(split)


def test_arrays_that_are_not_the_manifest_s(split):
    _edit_json(split / "labels" / "zarr.json", lambda z: z.update(shape=[10**10]))
    with pytest.raises(DataError, match=r"labels is \(10000000000,\) int16, but the manifest says \(14,\) int16"):
        open_split(split)


def test_one_channel_images_are_refused(split):
    def one_channel(z):
        z["shape"][-1] = 1

    _edit_json(split / "images" / "zarr.json", one_channel)
    with pytest.raises(DataError, match=r"images is \(14, 8, 8, 1\) uint8, but the manifest says \(14, 8, 8, 3\)"):
        open_split(split)


def test_a_missing_shard_fails_instead_of_reading_zeros(split):
    (split / "images" / "c" / "2" / "0" / "0" / "0").unlink()
    with pytest.raises(DataError, match=r"images lacks 1 of its chunk files \(the first: images/c/2/0/0/0\)"):
        open_split(split)


def test_labels_outside_the_classes(split):
    _edit_json(split / "manifest.json", lambda m: m.update(classes=m["classes"][:1]))
    with pytest.raises(DataError, match=r"labels hold values outside 0..0"):
        open_split(split)
