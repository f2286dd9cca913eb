"""Streamed datasets (ImageNet, prepared as shards) seen from a config: whether a dataset is
streamed, and the shape of one network input. The `imagenet` registry entry is data/imagenet_entry.py.
"""

from __future__ import annotations

from typing import Any

from .imagenet_entry import IMAGENET, OBTAIN
from .registry import get_spec

__all__ = ["IMAGENET", "OBTAIN", "STREAMED", "input_shape_of", "is_streamed"]

STREAMED = frozenset({"imagenet"})


def is_streamed(dataset: str) -> bool:
    """True for a dataset the trainer streams from prepared shards (localnet/stream.py)."""
    return dataset in STREAMED


def input_shape_of(config: Any) -> tuple[int, ...]:
    """The shape of one network input: (image_size, image_size, 3) for streamed ImageNet
    with data.image_size set, else the registered dataset's input shape."""
    if is_streamed(config.data.dataset) and config.data.image_size:
        return (config.data.image_size, config.data.image_size, 3)
    return tuple(get_spec(config.data.dataset).input_shape)
