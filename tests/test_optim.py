"""Adam: the scaled-moment, blocked update equals TensorFlow's formula (float64), and
blocking changes no bit."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, strategies as st

from localnet.config import AdamConfig
from localnet.optim import Adam


def reference_adam(p, grads, c):
    """TensorFlow's AdamOptimizer, written as the docstring's formula."""
    m, v = np.zeros_like(p), np.zeros_like(p)
    for t, g in enumerate(grads, start=1):
        m = c.beta1 * m + (1 - c.beta1) * g
        v = c.beta2 * v + (1 - c.beta2) * g * g
        p = p - c.lr * math.sqrt(1 - c.beta2**t) / (1 - c.beta1**t) * m / (np.sqrt(v) + c.eps)
    return p, m, v


@given(
    shape=st.tuples(st.integers(1, 7), st.integers(1, 9)),
    lr=st.floats(1e-5, 1e-1), beta1=st.floats(0.0, 0.99), beta2=st.floats(0.0, 0.9999),
    eps=st.sampled_from([1e-8, 1e-4, 1e-3, 1e-1]), steps=st.integers(1, 6), seed=st.integers(0, 2**16),
)
def test_matches_the_tensorflow_formula_in_float64(shape, lr, beta1, beta2, eps, steps, seed):
    rng = np.random.default_rng(seed)
    config = AdamConfig(lr=lr, beta1=beta1, beta2=beta2, eps=eps)
    p0 = rng.standard_normal(shape)
    grads = [rng.standard_normal(shape) * 10.0 ** rng.integers(-4, 2) for _ in range(steps)]
    params = {"W": p0.copy()}
    adam = Adam(params, config, np)
    for g in grads:
        adam.step({"W": g.copy()})
    p_ref, m_ref, v_ref = reference_adam(p0, grads, config)
    np.testing.assert_allclose(params["W"], p_ref, rtol=1e-12, atol=1e-15)
    m, v = adam.moments()  # stored scaled by 1/(1-beta): unscaling adds a few ulp times 1/(1-beta)
    np.testing.assert_allclose(m["W"], m_ref, rtol=1e-11, atol=1e-300)
    np.testing.assert_allclose(v["W"], v_ref, rtol=1e-11, atol=1e-300)


def test_blocking_changes_no_bit():
    rng = np.random.default_rng(0)
    config = AdamConfig(lr=3e-3, beta1=0.9, beta2=0.99, eps=1e-4)
    shape = (301, 257)  # not a multiple of the block
    p0 = rng.standard_normal(shape).astype(np.float32)
    grads = [rng.standard_normal(shape).astype(np.float32) for _ in range(4)]
    results = []
    for block in (0, 1000, 1 << 16):
        params = {"W": p0.copy()}
        adam = Adam(params, config, np, block=block)
        for g in grads:
            adam.step({"W": g})
        results.append((params["W"], adam.m["W"], adam.v["W"]))
    for other in results[1:]:
        for a, b in zip(results[0], other):
            assert np.array_equal(a, b)
    assert not np.array_equal(results[0][0], p0)


def test_non_contiguous_gradient_falls_back_to_the_whole_array():
    rng = np.random.default_rng(1)
    config = AdamConfig()
    g = np.asfortranarray(rng.standard_normal((400, 300)).astype(np.float32))
    a, b = {"W": np.ones((400, 300), np.float32)}, {"W": np.ones((400, 300), np.float32)}
    Adam(a, config, np).step({"W": g})
    Adam(b, config, np).step({"W": np.ascontiguousarray(g)})
    assert np.array_equal(a["W"], b["W"])
