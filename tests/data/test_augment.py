"""augment_batch: shapes, determinism, flip axes, crops as windows of the padded image."""

from __future__ import annotations

import numpy as np
import pytest

from localnet.data.augment import AugmentConfig, augment_batch

B, H, W, C = 64, 6, 9, 2  # H != W and C != 3, so swapped axes cannot pass unnoticed


@pytest.fixture
def x():
    # Values 1..255: no image pixel equals the zero padding, so each crop matches one window.
    return np.random.default_rng(1).integers(1, 256, size=(B, H, W, C), dtype=np.uint8)


def run(x, seed=0, **config):
    return augment_batch(x, AugmentConfig(**config), np.random.default_rng(seed))


@pytest.mark.parametrize("config", [
    dict(flip="sideways"), dict(flip="Horizontal"), dict(crop_padding=-1), dict(crop_padding=2.0),
    dict(crop_padding=True), dict(crop_padding="4"),
])
def test_config_validation(config):
    with pytest.raises(ValueError, match="augment (flip|crop_padding)"):
        AugmentConfig(**config)


def test_config_defaults_and_frozen():
    config = AugmentConfig()
    assert (config.flip, config.crop_padding, config.is_identity) == ("horizontal", 4, False)
    with pytest.raises(AttributeError):
        config.flip = "none"  # type: ignore[misc]


@pytest.mark.parametrize("flip", ["horizontal", "vertical", "none"])
@pytest.mark.parametrize("pad", [0, 1, 4])
def test_shape_dtype_and_determinism(x, flip, pad):
    before = x.copy()
    out = run(x, seed=3, flip=flip, crop_padding=pad)
    assert out.shape == x.shape and out.dtype == np.uint8 and out.flags.c_contiguous
    assert np.array_equal(out, run(x, seed=3, flip=flip, crop_padding=pad))
    assert np.array_equal(x, before)  # input untouched
    if (flip, pad) != ("none", 0):
        assert not np.array_equal(out, run(x, seed=4, flip=flip, crop_padding=pad))


def test_identity(x):
    out = run(x, flip="none", crop_padding=0)
    assert np.array_equal(out, x) and out is not x and not np.shares_memory(out, x)


@pytest.mark.parametrize(("flip", "reverse"), [("vertical", (slice(None, None, -1),)),
                                                ("horizontal", (slice(None), slice(None, None, -1)))])
def test_flip_axis(x, flip, reverse):
    out = run(x, flip=flip, crop_padding=0)
    flipped = np.array([np.array_equal(o, xi[reverse]) for o, xi in zip(out, x, strict=True)])
    kept = np.array([np.array_equal(o, xi) for o, xi in zip(out, x, strict=True)])
    assert (flipped ^ kept).all()  # each example is exactly one of the two
    assert 16 <= flipped.sum() <= 48  # about half of 64 (p = 0.5)
    # The batch-level slices the brief names: x[:, ::-1] is vertical, x[:, :, ::-1] horizontal.
    batch_flip = x[:, ::-1] if flip == "vertical" else x[:, :, ::-1]
    assert np.array_equal(out[flipped], batch_flip[flipped])


def windows(padded_image, pad):
    """{(dy, dx): window} of every (H, W) window of one padded (H+2p, W+2p, C) image."""
    return {(dy, dx): padded_image[dy:dy + H, dx:dx + W]
            for dy in range(2 * pad + 1) for dx in range(2 * pad + 1)}


@pytest.mark.parametrize("flip", ["none", "vertical", "horizontal"])
def test_crops_are_windows_of_padded_image(x, flip):
    pad = 2
    out = run(x, seed=5, flip=flip, crop_padding=pad)
    padded = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    offsets = set()
    for o, p in zip(out, padded, strict=True):
        sources = [p, p[::-1] if flip == "vertical" else p[:, ::-1]] if flip != "none" else [p]
        found = [k for s in sources for k, win in windows(s, pad).items() if np.array_equal(o, win)]
        assert len(found) == 1, found  # exactly one window (of the image or its flip)
        offsets.add(found[0])
    # 64 draws from 25 offsets: the extremes 0 and 2*pad occur on both axes.
    assert {dy for dy, _ in offsets} == set(range(2 * pad + 1))
    assert {dx for _, dx in offsets} == set(range(2 * pad + 1))
    assert len(offsets) > 2 * pad + 1  # independent per axis, not one shared offset


def test_rejects_non_batch():
    with pytest.raises(ValueError, match=r"\(B, H, W, C\)"):
        augment_batch(np.zeros((6, 9, 2), np.uint8), AugmentConfig(), np.random.default_rng(0))
