"""Layer types, one per file; importing this package registers them."""

from .base import Layer
from .dense import Dense, DenseSpec
from .softmax import SoftmaxOutput, SoftmaxSpec

__all__ = ["Dense", "DenseSpec", "Layer", "SoftmaxOutput", "SoftmaxSpec"]
