"""Learning rules, one per file. Importing this package imports every module in it, and each
rule registers itself (`@RULES.register("name")`): adding a rule is adding its file."""

from __future__ import annotations

import importlib
import pkgutil

from .base import LayerInfo, Rule, StateInit
from .contract import FORWARD, TRANSPORTS, LocalView, ParamGroup, Reply, RuleState
from .target import TargetRule

for _module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["FORWARD", "TRANSPORTS", "LayerInfo", "LocalView", "ParamGroup", "Reply", "Rule", "RuleState",
           "StateInit", "TargetRule"]
