"""Simplified DTP (Bartunov et al. 2018, Algorithm 1): no gradient anywhere.

The output's target is the label distribution, and the penultimate target is computed
like every other: t_{L-1} = h_{L-1} + g_L(labels) - g_L(p), with the output layer's own
learned inverse g_L. Inverses train on the de-noising loss (appendix 5.1).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..registry import RULES
from .contract import LocalView
from .target import TargetOptions, TargetRule


@dataclass(frozen=True)
class SDTPOptions(TargetOptions):
    """Shared TP options; de-noising inverse training by default."""


@RULES.register("sdtp")
class SDTP(TargetRule):
    Options = SDTPOptions

    def output_target(self, view: LocalView, onehot: Any) -> list[tuple[str, Any]]:
        return [("target", view.x + (self.inverse(view, onehot) - self.inverse(view, view.h)))]
