"""Patch kernels: TF SAME sizes, im2col against a naive loop, and col2im as im2col's adjoint."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from localnet.layers.patches import PatchGeometry, col2im_gather, image_shape, same_padding

# The backend fixture is stateless, so sharing it across hypothesis examples is safe.
fixture_ok = settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
geometries = st.tuples(st.integers(1, 9), st.integers(1, 9), st.integers(1, 4),  # H, W, C
                       st.integers(1, 6), st.integers(1, 3), st.integers(1, 4))  # k, s, B


@pytest.mark.parametrize("size, kernel, stride, expected", [
    (28, 3, 2, (14, 0, 1)),   # MNIST LC layer 1: TF puts the odd pixel after
    (14, 3, 2, (7, 0, 1)),
    (32, 5, 2, (16, 1, 2)),   # CIFAR LC layer 1
    (16, 5, 2, (8, 1, 2)),
    (8, 3, 1, (8, 1, 1)),
    (5, 4, 1, (5, 1, 2)),     # even kernel
    (7, 1, 3, (3, 0, 0)),     # a 1x1 kernel never pads
    (2, 5, 3, (1, 1, 2)),     # kernel larger than the input
    (11, 2, 4, (3, 0, 0)),    # total pad clamps at zero
])
def test_same_padding_known_cases(size, kernel, stride, expected):
    assert same_padding(size, kernel, stride) == expected


@given(size=st.integers(1, 64), kernel=st.integers(1, 9), stride=st.integers(1, 5))
def test_same_padding_is_tf_same(size, kernel, stride):
    out, before, after = same_padding(size, kernel, stride)
    assert out == int(np.ceil(size / stride))
    total = max((out - 1) * stride + kernel - size, 0)
    assert (before, after) == (total // 2, total - total // 2)
    assert (out - 1) * stride + kernel <= size + before + after  # the last window fits


def naive_im2col(x: np.ndarray, kernel: int, stride: int) -> np.ndarray:
    """(P, B, K) by a loop over positions, straight from the definition."""
    batch, h, w, c = x.shape
    oh, top, bottom = same_padding(h, kernel, stride)
    ow, left, right = same_padding(w, kernel, stride)
    padded = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))
    cols = np.empty((oh * ow, batch, kernel * kernel * c))
    for oy in range(oh):
        for ox in range(ow):
            patch = padded[:, oy * stride:oy * stride + kernel, ox * stride:ox * stride + kernel, :]
            cols[oy * ow + ox] = patch.reshape(batch, -1)  # (ki, kj, c) order
    return cols


@fixture_ok
@given(shape=geometries, seed=st.integers(0, 2**16))
def test_im2col_matches_naive_loop(shape, seed, backend64):
    h, w, c, k, s, batch = shape
    x = np.random.default_rng(seed).normal(size=(batch, h, w, c))
    geometry = PatchGeometry((h, w, c), k, s, backend64)
    cols = backend64.to_host(geometry.im2col(backend64.to_device(x)))
    assert cols.shape == (geometry.positions, batch, geometry.patch_size)
    np.testing.assert_array_equal(cols, naive_im2col(x, k, s))


@given(shape=geometries, seed=st.integers(0, 2**16), batch_last=st.booleans())
def test_col2im_is_the_adjoint_of_im2col(shape, seed, batch_last):
    """<im2col(x), c> == <x, col2im(c)>, for columns in the fast (P, K, B) layout and in a plain one."""
    from localnet.backend import get_backend

    backend = get_backend("numpy", "float64")
    h, w, c, k, s, batch = shape
    geometry = PatchGeometry((h, w, c), k, s, backend)
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(batch, h, w, c))
    cols = rng.normal(size=(geometry.positions, batch, geometry.patch_size))
    if batch_last:
        cols = np.ascontiguousarray(cols.transpose(0, 2, 1)).transpose(0, 2, 1)
    back = geometry.col2im(cols)
    assert back.shape == x.shape and back.flags.c_contiguous
    lhs, rhs = np.vdot(geometry.im2col(x), cols), np.vdot(x, back)
    assert abs(lhs - rhs) <= 1e-12 * max(1.0, np.abs(cols).sum() * np.abs(x).max())


@fixture_ok
@given(shape=geometries, seed=st.integers(0, 2**16))
def test_col2im_on_the_backend_matches_numpy(shape, seed, backend64):
    """Where CuPy runs, its col2im (the same strided adds on the device) equals numpy's."""
    from localnet.backend import get_backend

    h, w, c, k, s, batch = shape
    reference = PatchGeometry((h, w, c), k, s, get_backend("numpy", "float64"))
    cols = np.random.default_rng(seed).normal(size=(reference.positions, reference.patch_size, batch))
    geometry = PatchGeometry((h, w, c), k, s, backend64)
    got = backend64.to_host(geometry.col2im(backend64.to_device(cols).transpose(0, 2, 1)))
    np.testing.assert_allclose(got, reference.col2im(cols.transpose(0, 2, 1)), rtol=1e-12, atol=1e-12)


def test_im2col_reads_strided_inputs():
    """A non-contiguous input (a transposed view) gives the same columns as its copy."""
    from localnet.backend import get_backend

    x = np.random.default_rng(0).normal(size=(5, 6, 3, 2)).transpose(0, 2, 1, 3)  # (5, 3, 6, 2) view
    geometry = PatchGeometry((3, 6, 2), 3, 2, get_backend("numpy", "float64"))
    np.testing.assert_array_equal(geometry.im2col(x), naive_im2col(np.ascontiguousarray(x), 3, 2))


@pytest.mark.parametrize("shape", [(784,), (28, 28), (28, 28, 1, 1), (0, 4, 1)])
def test_image_shape_rejects_non_images(shape):
    with pytest.raises(ValueError, match=r"locally_connected layer needs an image input of unit shape \(H, W, C\)"):
        image_shape(shape, "locally_connected")


@given(shape=geometries, seed=st.integers(0, 2**16))
def test_gather_twin_matches_the_strided_adds(shape, seed):
    """col2im_gather, the numpy twin of the CUDA gather kernel, is col2im (float64 and float32)."""
    from localnet.backend import get_backend

    h, w, c, k, s, batch = shape
    for dtype, tol in (("float64", 1e-12), ("float32", 1e-5)):
        geometry = PatchGeometry((h, w, c), k, s, get_backend("numpy", dtype))
        cols = np.random.default_rng(seed).normal(size=(geometry.positions, geometry.patch_size, batch))
        cols = cols.astype(dtype).transpose(0, 2, 1)  # the (P, B, K) view of a (P, K, B) array
        got = col2im_gather(geometry, cols)
        assert got.dtype == cols.dtype and got.shape == (batch, h, w, c)
        np.testing.assert_allclose(got, geometry.col2im(cols), rtol=tol, atol=tol)


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_gather_kernel_matches_its_numpy_twin(dtype):
    """The CUDA gather kernel (gpu_kernel=True) against col2im_gather on random geometries,
    the CIFAR-LC layers' among them. Both sum in double in the same order, so they agree to
    the last float32 rounding; the tolerance allows one ulp."""
    from localnet.backend import get_backend
    from localnet.errors import ConfigError

    try:
        gpu = get_backend("cupy", dtype)
    except ConfigError as err:
        pytest.skip(str(err))
    host = get_backend("numpy", dtype)
    rng = np.random.default_rng(7)
    shapes = [((32, 32, 3), 5, 2, 8), ((16, 16, 64), 5, 2, 4), ((8, 8, 128), 3, 1, 4), ((28, 28, 1), 3, 2, 5)]
    shapes += [(tuple(int(v) for v in rng.integers(1, 10, 3)), int(rng.integers(1, 7)), int(rng.integers(1, 4)),
                int(rng.integers(1, 5))) for _ in range(20)]
    for in_shape, k, s, batch in shapes:
        twin = PatchGeometry(in_shape, k, s, host)
        kernel = PatchGeometry(in_shape, k, s, gpu, gpu_kernel=True)
        cols = rng.normal(size=(twin.positions, twin.patch_size, batch)).astype(dtype).transpose(0, 2, 1)
        got = gpu.to_host(kernel.col2im(gpu.to_device(cols)))
        tol = 1e-6 if dtype == "float32" else 1e-13
        np.testing.assert_allclose(got, col2im_gather(twin, cols), rtol=tol, atol=tol, err_msg=str((in_shape, k, s)))
