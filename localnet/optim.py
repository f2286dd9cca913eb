"""Adam, one instance per parameter group (a layer's forward weights, its inverse, ...).

The update follows TensorFlow's AdamOptimizer, which the paper used (its eps is the
"epsilon hat" of Kingma & Ba, added to sqrt(v) without bias correction):

    m <- beta1 m + (1 - beta1) g;   v <- beta2 v + (1 - beta2) g^2
    p <- p - lr sqrt(1 - beta2^t) / (1 - beta1^t) * m / (sqrt(v) + eps)

This matters for the paper's large eps values (1e-4, 1e-3): they damp small updates.

Speed (Adam is about a third of an MNIST-FC step's time; docs/performance.md):
the moments are stored scaled, M = m / (1 - beta1) and V = v / (1 - beta2), so that

    M <- beta1 M + g;   V <- beta2 V + g^2
    p <- p - lr' * M / (sqrt(V) + eps'),  lr' = lr_t (1 - beta1) / sqrt(1 - beta2),
                                          eps' = eps / sqrt(1 - beta2)

is the same update in 10 elementwise passes instead of 12, and large arrays are
updated in blocks so that the ten passes over a block mostly hit cache rather than main
memory (`python -m runners.bench.parts adam` times it; docs/performance.md has the numbers).
Elementwise results do not depend on the block size, so blocking changes no bit.
"""

from __future__ import annotations

import math
from typing import Any

from .config import AdamConfig

#: elements per block of the blocked update (`python -m runners.bench.parts adam` compares
#: block sizes): 2^18 is within noise of the best on the MNIST-FC (0.2 M, unblocked) and LC
#: (0.8 M, 3.2 M) weights; smaller blocks pay more per call, and unblocked large arrays
#: stream from L3 or memory on each of the ten passes.
BLOCK = 1 << 18


class Adam:
    """Adam state for a dict of parameters, updated in place.

    params: name -> array, the arrays this optimizer owns the update of;
    config: lr, beta1, beta2, eps; block: elements per block of the blocked update
    (default BLOCK on numpy, none on CuPy; results do not depend on it). State M, V
    (the scaled moments above) has the parameters' shapes; `moments()` gives the
    paper's m and v.
    """

    def __init__(self, params: dict[str, Any], config: AdamConfig, xp: Any, block: int | None = None) -> None:
        self.params = params
        self.config = config
        self.xp = xp
        self.m = {k: xp.zeros_like(p) for k, p in params.items()}  # m / (1 - beta1)
        self.v = {k: xp.zeros_like(p) for k, p in params.items()}  # v / (1 - beta2)
        self._scratch = {k: xp.empty_like(p) for k, p in params.items()}
        self.t = 0
        # On numpy, blocking keeps the passes in cache; CuPy launches one kernel per pass.
        # `block` (elements; 0: never block) overrides that, for benchmarks and tests.
        self._block = block if block is not None else BLOCK if getattr(xp, "__name__", "") == "numpy" else 0

    def step(self, grads: dict[str, Any]) -> None:
        """Apply one update from `grads` (same keys and shapes as params)."""
        c = self.config
        self.t += 1
        lr_t = c.lr * math.sqrt(1 - c.beta2**self.t) / (1 - c.beta1**self.t)
        root = math.sqrt(1 - c.beta2)
        lr_scaled, eps_scaled = lr_t * (1 - c.beta1) / root, c.eps / root
        for key, g in grads.items():
            arrays = (self.params[key], g, self.m[key], self.v[key], self._scratch[key])
            size = arrays[0].size
            if self._block and size > self._block and all(a.flags.c_contiguous for a in arrays):
                flat = [a.reshape(-1) for a in arrays]
                for start in range(0, size, self._block):
                    block = slice(start, start + self._block)
                    p, g_, m, v, tmp = (a[block] for a in flat)
                    self._update(p, g_, m, v, tmp, lr_scaled, eps_scaled)
            else:
                self._update(*arrays, lr_scaled, eps_scaled)

    def _update(self, p: Any, g: Any, m: Any, v: Any, tmp: Any, lr_scaled: float, eps_scaled: float) -> None:
        # In place, one scratch buffer: no allocation per step.
        c, xp = self.config, self.xp
        m *= c.beta1
        m += g
        v *= c.beta2
        xp.multiply(g, g, out=tmp)
        v += tmp
        xp.sqrt(v, out=tmp)
        tmp += eps_scaled
        xp.divide(m, tmp, out=tmp)
        tmp *= lr_scaled
        p -= tmp

    def moments(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """The paper's first and second moments m, v (new arrays, for analysis)."""
        c = self.config
        return ({k: a * (1 - c.beta1) for k, a in self.m.items()},
                {k: a * (1 - c.beta2) for k, a in self.v.items()})

    def state(self) -> dict[str, Any]:
        """Arrays that, with `t`, restore this optimizer (for checkpoints): the scaled
        moments as stored, so a resumed run continues bit for bit."""
        return {**{f"M.{k}": a for k, a in self.m.items()}, **{f"V.{k}": a for k, a in self.v.items()}}
