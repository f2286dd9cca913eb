"""Layer types, one per file; importing this package registers them."""

from .base import Layer
from .conv import Conv, ConvSpec
from .dense import Dense, DenseSpec
from .flatten import Flatten, FlattenSpec
from .locally_connected import LocallyConnected, LocallyConnectedSpec
from .softmax import SoftmaxOutput, SoftmaxSpec

__all__ = ["Conv", "ConvSpec", "Dense", "DenseSpec", "Flatten", "FlattenSpec", "Layer", "LocallyConnected",
           "LocallyConnectedSpec", "SoftmaxOutput", "SoftmaxSpec"]
