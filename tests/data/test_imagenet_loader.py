"""The shard loader: seeded order, mid-epoch resume, crop/flip, prefetch threads, device normalisation."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from localnet.backend import get_backend
from localnet.data.imagenet import ShardLoader, normalize_on_device, open_split, prepare_imagenet

S, N = 12, 41  # 41 images in chunks of 4: 11 chunks, the last one short


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A prepared split whose image i is filled with a pattern that identifies i."""
    src = tmp_path_factory.mktemp("src")
    rng = np.random.default_rng(0)
    for i in range(N):
        folder = src / "train" / f"n{i % 3:08d}"
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (S, S, 3), dtype=np.uint8)).save(folder / f"img_{i:03d}.png")
    out = tmp_path_factory.mktemp("out")
    prepare_imagenet(src, out, size=S, chunk=4)
    return out / "train"


def collect(loader, epoch, start=0):
    return [(x.copy(), y.copy()) for x, y in loader.batches(epoch, start)]


def test_order_is_a_seeded_permutation_that_changes_each_epoch(store):
    loader = ShardLoader(store, 8, seed=1, crop=S)
    a, b = loader.order(0), loader.order(1)
    assert sorted(a.tolist()) == list(range(N)) and sorted(b.tolist()) == list(range(N))
    assert not np.array_equal(a, b)
    np.testing.assert_array_equal(a, ShardLoader(store, 8, seed=1, crop=S).order(0))
    assert not np.array_equal(a, ShardLoader(store, 8, seed=2, crop=S).order(0))
    # images are shuffled within windows of chunks: each window of 4 chunks covers 16 images
    window = set(a[:16].tolist())
    assert len({i // 4 for i in window}) == 4


def test_batches_follow_the_order_without_augmentation(store):
    images, labels, _ = open_split(store)
    loader = ShardLoader(store, 8, seed=3, crop=S, flip=False)
    batches = collect(loader, 2)
    assert [len(y) for _, y in batches] == [8, 8, 8, 8, 8, 1] == [8] * 5 + [1]
    order = loader.order(2)
    np.testing.assert_array_equal(np.concatenate([x for x, _ in batches]), images[:][order])
    np.testing.assert_array_equal(np.concatenate([y for _, y in batches]), labels[order])


@pytest.mark.parametrize("workers", [1, 2])
def test_deterministic_and_resumable_mid_epoch(store, workers):
    loader = ShardLoader(store, 6, seed=5, crop=8, workers=workers, window=3)
    full = collect(loader, 4)
    again = collect(ShardLoader(store, 6, seed=5, crop=8, workers=3 - workers, window=3), 4)
    resumed = collect(loader, 4, start=3)
    assert len(resumed) == len(full) - 3
    for (xa, ya), (xb, yb) in zip(full, again, strict=True):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)
    for (xa, ya), (xb, yb) in zip(full[3:], resumed, strict=True):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)


def test_crop_and_flip_take_windows_of_the_stored_image(store):
    images, _, _ = open_split(store)
    loader = ShardLoader(store, 41, seed=7, crop=7)
    (x, _), = collect(loader, 0)
    order, flipped = loader.order(0), 0
    for i, j in enumerate(order):
        source = images[j]
        found = [(dy, dx, f) for dy in range(S - 6) for dx in range(S - 6) for f in (False, True)
                 if np.array_equal(x[i], source[dy:dy + 7, dx:dx + 7][:, ::-1] if f else source[dy:dy + 7, dx:dx + 7])]
        assert found, f"batch image {i} is no crop of image {j}"
        flipped += found[0][2]
    assert 5 < flipped < 36  # about half are flipped


def test_eval_mode_is_file_order_and_centre_crop(store):
    images, labels, _ = open_split(store)
    (x, y), = collect(ShardLoader(store, 64, crop=8, train=False), 0)
    np.testing.assert_array_equal(x, images[:][:, 2:10, 2:10])
    np.testing.assert_array_equal(y, labels)


def test_early_close_stops_the_threads(store):
    import threading

    before = threading.active_count()
    for _ in ShardLoader(store, 2, crop=S, prefetch=1).batches(0):
        break
    assert threading.active_count() == before


def test_normalize_on_device():
    backend = get_backend("numpy", "float32")
    x = np.full((2, 3, 3, 3), 255, dtype=np.uint8)
    out = normalize_on_device(backend, x, mean=(0.5, 0.5, 0.0), std=(0.5, 0.25, 1.0))
    assert out.dtype == np.float32 and out.shape == x.shape
    np.testing.assert_allclose(out[0, 0, 0], [1.0, 2.0, 1.0], rtol=1e-6)


def test_crop_larger_than_stored_is_refused(store):
    with pytest.raises(ValueError, match="crop 13"):
        ShardLoader(store, 4, crop=13)


def test_each_pass_of_an_epoch_has_its_own_order(store):
    loader = ShardLoader(store, 8, seed=1, crop=S)
    first, second = loader.order(3), loader.order(3, pass_index=1)
    assert sorted(second.tolist()) == list(range(N)) and not np.array_equal(first, second)
    np.testing.assert_array_equal(np.concatenate([y for _, y in ShardLoader(store, 8, seed=1, crop=S).batches(3, 0, 1)]),
                                  open_split(store)[1][second])
