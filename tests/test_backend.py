"""localnet.backend: the numpy backend's no-ops, and on a GPU the CuPy helpers the device check reads."""

from __future__ import annotations

import numpy as np
import pytest

from localnet.backend import get_backend
from localnet.errors import ConfigError


def test_numpy_has_no_device_memory_and_says_what_it_is():
    backend = get_backend("numpy", "float32")
    assert backend.memory_held() is None
    backend.release_memory()
    backend.synchronize()
    assert backend.device_info() == {"backend": "numpy", "numpy": np.__version__}


def test_numpy_profile_gives_wall_and_cpu_time_per_call():
    backend = get_backend("numpy", "float32")
    calls = []
    out = backend.profile(lambda: calls.append(sum(range(20000))), repeats=5)
    assert len(calls) == 7  # two warm-up calls, then the timed ones
    assert set(out) == {"wall_ms", "cpu_ms"} and out["wall_ms"] > 0 and out["cpu_ms"] >= 0


@pytest.mark.parametrize("name, dtype, message", [
    ("numpy", "float16", "dtype 'float16' is not supported"),
    ("jax", "float32", "unknown backend 'jax': choose one of numpy, cupy"),
])
def test_bad_backend_requests_are_one_line(name, dtype, message):
    with pytest.raises(ConfigError, match=message) as err:
        get_backend(name, dtype)
    assert "\n" not in str(err.value)


def cupy_or_skip(dtype: str = "float32"):
    try:
        return get_backend("cupy", dtype)
    except ConfigError as err:
        pytest.skip(str(err))


@pytest.mark.gpu
def test_cupy_device_info_and_memory_high_water():
    gpu = cupy_or_skip()
    info = gpu.device_info()
    assert info["backend"] == "cupy" and info["gpu"] and info["gpu_memory_bytes"] > 0
    assert int(info["cuda_driver"].split(".")[0]) >= int(info["cuda_runtime"].split(".")[0])
    gpu.release_memory()
    before = gpu.memory_held()
    block = gpu.xp.ones(1 << 24, dtype=gpu.dtype)  # 64 MiB
    del block
    assert gpu.memory_held() >= before + (1 << 26)  # freed blocks stay in the pool: a high-water mark
    gpu.release_memory()
    assert gpu.memory_held() <= before


@pytest.mark.gpu
def test_cupy_noise_streams_are_deterministic_and_standard():
    """The same (seed, names) give the same device draws; different names differ. cuRAND
    draws are reproducible on one device and library version, not equal to numpy's."""
    gpu = cupy_or_skip()
    a = gpu.to_host(gpu.random(3, "noise", "layer1").standard_normal((256, 512), dtype=gpu.dtype))
    b = gpu.to_host(gpu.random(3, "noise", "layer1").standard_normal((256, 512), dtype=gpu.dtype))
    c = gpu.to_host(gpu.random(3, "noise", "layer2").standard_normal((256, 512), dtype=gpu.dtype))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert a.dtype == np.float32 and abs(a.mean()) < 0.01 and abs(a.std() - 1) < 0.01


@pytest.mark.gpu
def test_cupy_round_trip_and_array_module():
    from localnet.backend import array_module

    gpu = cupy_or_skip("float64")
    x = np.random.default_rng(0).normal(size=(4, 5))
    on_device = gpu.to_device(x)
    assert array_module(on_device) is gpu.xp and array_module(x) is np
    np.testing.assert_array_equal(gpu.to_host(on_device), x)
    assert gpu.freeze(on_device) is on_device  # CuPy has no read-only arrays


@pytest.mark.gpu
def test_cupy_profile_gives_host_and_device_time():
    gpu = cupy_or_skip()
    a = gpu.xp.ones((1024, 1024), dtype=gpu.dtype)
    out = gpu.profile(lambda: a @ a, repeats=5)
    assert set(out) == {"host_ms", "device_ms"} and out["device_ms"] > 0 and out["host_ms"] > 0
