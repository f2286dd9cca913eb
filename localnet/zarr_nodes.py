"""Typed access to zarr nodes: `group[name]` is an array or a group (zarr types it as either),
and attributes are JSON. These check which one a store holds and say so in one line."""

from __future__ import annotations

from typing import Any

import zarr

from .errors import LocalnetError


def array_at(group: zarr.Group, path: str) -> zarr.Array:
    """The array at `path` under `group`; LocalnetError if it is a group."""
    node = group[path]
    if not isinstance(node, zarr.Array):
        raise LocalnetError(f"{group.store_path}/{path} is a zarr group where an array was expected")
    return node


def group_at(group: zarr.Group, path: str) -> zarr.Group:
    """The group at `path` under `group`; LocalnetError if it is an array."""
    node = group[path]
    if not isinstance(node, zarr.Group):
        raise LocalnetError(f"{group.store_path}/{path} is a zarr array where a group was expected")
    return node


def attrs_of(node: zarr.Group | zarr.Array) -> dict[str, Any]:
    """A node's attributes as a plain dict (JSON values: their shapes are the writer's)."""
    return dict(node.attrs)
