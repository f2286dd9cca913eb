"""Elementwise nonlinearities sigma with the derivative the local rules need.

`derivative(a, h)` takes both the pre-activation a and the activation h = sigma(a), so
tanh and sigmoid reuse h instead of recomputing the nonlinearity.
"""

from __future__ import annotations

from typing import Any

from .registry import ACTIVATIONS


@ACTIVATIONS.register("tanh")
class Tanh:
    @staticmethod
    def __call__(xp: Any, a: Any) -> Any:
        return xp.tanh(a)

    @staticmethod
    def derivative(xp: Any, a: Any, h: Any) -> Any:
        return 1 - h * h


@ACTIVATIONS.register("identity")
class Identity:
    @staticmethod
    def __call__(xp: Any, a: Any) -> Any:
        return a

    @staticmethod
    def derivative(xp: Any, a: Any, h: Any) -> Any:
        return xp.ones_like(a)


@ACTIVATIONS.register("relu")
class ReLU:
    @staticmethod
    def __call__(xp: Any, a: Any) -> Any:
        return xp.maximum(a, 0)

    @staticmethod
    def derivative(xp: Any, a: Any, h: Any) -> Any:
        return (a > 0).astype(a.dtype)


@ACTIVATIONS.register("sigmoid")
class Sigmoid:
    @staticmethod
    def __call__(xp: Any, a: Any) -> Any:
        # 0.5 * (1 + tanh(a / 2)) equals 1 / (1 + exp(-a)) without overflow for large |a|.
        return 0.5 * (1 + xp.tanh(0.5 * a))

    @staticmethod
    def derivative(xp: Any, a: Any, h: Any) -> Any:
        return h * (1 - h)


def get_activation(name: str, where: str = "") -> Any:
    return ACTIVATIONS.get(name, where)()
