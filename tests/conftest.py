"""Shared fixtures: the `xp` backend fixture (numpy always, CuPy where a GPU exists) and
hypothesis profiles ("dev" by default, "ci" thorough: HYPOTHESIS_PROFILE=ci)."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

from localnet.backend import get_backend

settings.register_profile("dev", max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


def _cupy_available() -> bool:
    try:
        get_backend("cupy")
        return True
    except Exception:
        return False


BACKEND_PARAMS = [
    pytest.param("numpy", id="numpy"),
    pytest.param("cupy", id="cupy", marks=[
        pytest.mark.gpu, pytest.mark.skipif(not _cupy_available(), reason="CuPy with a GPU is not available")]),
]


# Session-scoped (backends hold no state), so hypothesis tests may take them.
@pytest.fixture(params=BACKEND_PARAMS, scope="session")
def backend64(request):
    """A float64 backend (numpy, and CuPy where present) for exact oracle comparisons."""
    return get_backend(request.param, "float64")


@pytest.fixture(params=BACKEND_PARAMS, scope="session")
def xp_backend(request):
    """A float32 backend (numpy, and CuPy where present)."""
    return get_backend(request.param, "float32")


@pytest.fixture(params=[pytest.param(("numpy", "float32"), id="numpy-float32"),
                        pytest.param(("numpy", "float64"), id="numpy-float64"),
                        *(pytest.param(("cupy", dtype), id=f"cupy-{dtype}", marks=BACKEND_PARAMS[1].marks)
                          for dtype in ("float32", "float64"))], scope="session")
def any_backend(request):
    """Every backend in both dtypes, for checks that hold bit for bit in any precision."""
    return get_backend(*request.param)
