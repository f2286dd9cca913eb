"""Adam, one instance per parameter group (a layer's forward weights, its inverse, ...).

The update follows TensorFlow's AdamOptimizer, which the paper used (its eps is the
"epsilon hat" of Kingma & Ba, added to sqrt(v) without bias correction):

    m <- beta1 m + (1 - beta1) g;   v <- beta2 v + (1 - beta2) g^2
    p <- p - lr sqrt(1 - beta2^t) / (1 - beta1^t) * m / (sqrt(v) + eps)

This matters for the paper's large eps values (1e-4, 1e-3): they damp small updates.
"""

from __future__ import annotations

import math
from typing import Any

from .config import AdamConfig


class Adam:
    """Adam state for a dict of parameters, updated in place.

    params: name -> array, the arrays this optimizer owns the update of;
    config: lr, beta1, beta2, eps. State m, v has the parameters' shapes.
    """

    def __init__(self, params: dict[str, Any], config: AdamConfig, xp: Any) -> None:
        self.params = params
        self.config = config
        self.xp = xp
        self.m = {k: xp.zeros_like(p) for k, p in params.items()}
        self.v = {k: xp.zeros_like(p) for k, p in params.items()}
        self._scratch = {k: xp.empty_like(p) for k, p in params.items()}
        self.t = 0

    def step(self, grads: dict[str, Any]) -> None:
        """Apply one update from `grads` (same keys and shapes as params)."""
        c, xp = self.config, self.xp
        self.t += 1
        lr_t = c.lr * math.sqrt(1 - c.beta2**self.t) / (1 - c.beta1**self.t)
        for key, g in grads.items():
            m, v, tmp, p = self.m[key], self.v[key], self._scratch[key], self.params[key]
            # In-place updates with one scratch buffer: no allocation per step.
            m *= c.beta1
            xp.multiply(g, 1 - c.beta1, out=tmp)
            m += tmp
            v *= c.beta2
            xp.multiply(g, g, out=tmp)
            tmp *= 1 - c.beta2
            v += tmp
            xp.sqrt(v, out=tmp)
            tmp += c.eps
            xp.divide(m, tmp, out=tmp)
            tmp *= lr_t
            p -= tmp

    def state(self) -> dict[str, Any]:
        """Arrays that, with `t`, restore this optimizer (for checkpoints)."""
        return {**{f"m.{k}": v for k, v in self.m.items()}, **{f"v.{k}": v for k, v in self.v.items()}}
