"""Layer types, one per file. Importing this package imports every module in it, and each
layer type registers itself (`@LAYERS.register("name")`): adding a layer type is adding its file."""

from __future__ import annotations

import importlib
import pkgutil

from .base import Layer
from .conv import Conv, ConvSpec
from .dense import Dense, DenseSpec
from .flatten import Flatten, FlattenSpec
from .locally_connected import LocallyConnected, LocallyConnectedSpec
from .softmax import SoftmaxOutput, SoftmaxSpec

for _module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["Conv", "ConvSpec", "Dense", "DenseSpec", "Flatten", "FlattenSpec", "Layer", "LocallyConnected",
           "LocallyConnectedSpec", "SoftmaxOutput", "SoftmaxSpec"]
