"""Vanilla target propagation: t_{l-1} = g_l(t_l), starting from t_{L-1} = g_L(labels).

Without the difference correction every example of a class gets the same hidden targets,
which is why the paper reports no results for it (section 2.1.2); it is here as the
baseline of the family.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..registry import RULES
from .contract import LocalView
from .target import TargetOptions, TargetRule


@dataclass(frozen=True)
class TPOptions(TargetOptions):
    """Shared TP options (schedule, sigma, noise, inverse_activation)."""


@RULES.register("tp")
class TP(TargetRule):
    Options = TPOptions

    def target_below(self, view: LocalView, target: Any) -> Any:
        return self.inverse(view, target)

    def output_target(self, view: LocalView, onehot: Any) -> list[tuple[str, Any]]:
        return [("target", self.inverse(view, onehot))]
