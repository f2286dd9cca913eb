"""Learning rules, one per file; importing this package registers them."""

from .base import LayerInfo, Rule
from .bp import BP
from .dfa import DFA
from .fa import FA

__all__ = ["BP", "DFA", "FA", "LayerInfo", "Rule"]
