"""Registries: where config names (`type = "dense"`, `name = "fa"`) resolve to classes."""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING, Generic, TypeVar

from .errors import ConfigError

if TYPE_CHECKING:
    from .layers.base import Layer
    from .rules.base import Rule

T = TypeVar("T")


def nearest(name: str, choices: list[str] | tuple[str, ...]) -> str:
    """A ' (did you mean X?)' hint for a misspelt name, or '' when nothing is close."""
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.5)
    return f" (did you mean {close[0]!r}?)" if close else ""


class Registry(Generic[T]):
    """Maps names to classes of one kind (layer types, learning rules, ...)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str):
        def decorate(cls: T) -> T:
            if name in self._items:
                raise ValueError(f"{self.kind} {name!r} registered twice")
            self._items[name] = cls
            return cls

        return decorate

    def unregister(self, name: str) -> None:
        """Remove `name` (test fixtures registered for one test; see localnet.testing.registered)."""
        del self._items[name]

    def names(self) -> tuple[str, ...]:
        return tuple(sorted(self._items))

    def __contains__(self, name: str) -> bool:
        return name in self._items

    def name_of(self, spec: object, attr: str) -> str:
        """The registered name whose class has `attr` (its "Spec" or "Options" dataclass) of
        `spec`'s type: the reverse of parsing, for building and for writing configs back."""
        return next(n for n, cls in self._items.items() if getattr(cls, attr, None) is type(spec))

    def get(self, name: str, where: str = "") -> T:
        """The class called `name`; an unknown name is a ConfigError listing the known ones."""
        try:
            return self._items[name]
        except KeyError:
            at = f"{where}: " if where else ""
            raise ConfigError(
                f"{at}unknown {self.kind} {name!r}{nearest(name, self.names())}; "
                f"known: {', '.join(self.names())}"
            ) from None


LAYERS: Registry[type[Layer]] = Registry("layer type")
RULES: Registry[type[Rule]] = Registry("learning rule")
ACTIVATIONS: Registry[type] = Registry("activation")
