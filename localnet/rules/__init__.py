"""Learning rules, one per file; importing this package registers them."""

from .aosdtp import AOSDTP
from .base import LayerInfo, Rule
from .bp import BP
from .dfa import DFA
from .dtp import DTP
from .fa import FA
from .sdtp import SDTP
from .target import TargetRule
from .tp import TP

__all__ = ["AOSDTP", "BP", "DFA", "DTP", "FA", "LayerInfo", "Rule", "SDTP", "TP", "TargetRule"]
