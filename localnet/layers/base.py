"""What every layer type provides to the learning rules.

A layer is the local math of h_l = sigma(affine(h_{l-1}; W_l, b_l)) plus its parameters.
Rules combine four operations, so a rule written once runs on every layer type:

- ``affine(x, W, b)``     a = W x + b for a batch x of shape (B, *in_shape) -> (B, *out_shape)
- ``transpose(d, M)``     M^T d for d of shape (B, *out_shape) -> (B, *in_shape), where M has
                          W's shape (BP passes W, FA its fixed B, a TP inverse its own V)
- ``weight_grads(x, d)``  dL/dW and dL/db given d = dL/da, summed over the batch
- ``activation``          sigma and its derivative

A layer also declares `exact_inverse`: whether `inverse(h)` returns the exact input x of
forward (a reshape such as flatten; not a learned or approximate map), which rules that pass
targets through parameter-free layers need; and `example()`, a small spec and input shape of
its type that the conformance suites (localnet/testing/) build every registered type from.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from ..backend import Backend


class Layer:
    """Base class. Subclasses set `Spec` and fill `params` in `__init__`.

    in_shape / out_shape: unit shapes without the batch axis; params: name -> array on
    the backend, owned (and only ever modified) by this layer's node.
    """

    Spec: ClassVar[type]
    is_output: ClassVar[bool] = False
    #: `inverse(h)` is this layer's exact inverse (h = forward(x)[1] -> x)
    exact_inverse: ClassVar[bool] = False

    def __init__(self, spec: Any, in_shape: tuple[int, ...], backend: Backend, rng: np.random.Generator) -> None:
        self.spec = spec
        self.in_shape = tuple(in_shape)
        self.backend = backend
        self.xp = backend.xp
        self.params: dict[str, Any] = {}
        self.out_shape: tuple[int, ...] = ()
        self.activation: Any = None  # sigma, with .derivative(xp, a, h); set by subclasses

    def forward(self, x: Any, keep: bool = False) -> tuple[Any, Any]:
        """(a, h): the pre-activation and the activation for a batch x.

        keep: this forward pass belongs to a training step whose `weight_grads(x, ...)` follows;
        a layer may keep what it computed from x for it (patch layers keep their im2col).
        """
        a = self.affine(x, self.params["W"], self.params["b"])
        return a, self.activation(self.xp, a)

    def kept_per_example(self) -> int:
        """Values per example that `forward(x, keep=True)` keeps until the weight gradient
        (0 here; a patch layer's P * K im2col columns)."""
        return 0

    def derivative(self, a: Any, h: Any) -> Any:
        """sigma'(a), elementwise, shape (B, *out_shape)."""
        return self.activation.derivative(self.xp, a, h)

    @classmethod
    def example(cls) -> tuple[Any, tuple[int, ...]]:
        """(spec, in_shape): a small layer of this type and an input unit shape it takes."""
        raise NotImplementedError(f"{cls.__name__} gives no example(); the conformance suites need one")

    def inverse(self, h: Any) -> Any:
        """x with forward(x)[1] == h, for a layer that declares `exact_inverse`."""
        raise NotImplementedError(f"{type(self).__name__} has no exact inverse")

    def affine(self, x: Any, weight: Any, bias: Any) -> Any:
        raise NotImplementedError

    def transpose(self, delta: Any, weight: Any) -> Any:
        raise NotImplementedError

    def weight_grads(self, x: Any, delta: Any) -> dict[str, Any]:
        raise NotImplementedError

    @property
    def fans(self) -> tuple[int, int]:
        """(fan_in, fan_out) for Glorot init of W and of W-shaped feedback matrices (FA's B,
        TP's V). Default: all inputs and all outputs (dense); patch layers override it."""
        return int(np.prod(self.in_shape)), self.units

    @property
    def units(self) -> int:
        """Number of output units, prod(out_shape)."""
        return int(np.prod(self.out_shape))

    def parameter_count(self) -> int:
        return int(sum(p.size for p in self.params.values()))
