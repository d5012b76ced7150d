"""One tiny plug-in mechanism shared by detectors, trackers, renderers and sources.

A plug-in is any callable registered under a name; config picks it by that name and passes
its parameters as keyword arguments. Unknown names fail with the list of known ones.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._factories: dict[str, Callable[..., T]] = {}

    def register(self, name: str) -> Callable[[Callable[..., T]], Callable[..., T]]:
        def decorator(factory: Callable[..., T]) -> Callable[..., T]:
            if name in self._factories:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._factories[name] = factory
            return factory

        return decorator

    def build(self, name: str, **params: Any) -> T:
        if name not in self._factories:
            known = ", ".join(sorted(self._factories))
            raise KeyError(f"unknown {self.kind} {name!r}; known: {known}")
        try:
            return self._factories[name](**params)
        except TypeError as exc:  # wrong parameter names: say which plug-in
            raise ValueError(f"{self.kind} {name!r}: bad parameters {params}: {exc}") from exc

    def names(self) -> list[str]:
        return sorted(self._factories)

    def __contains__(self, name: str) -> bool:
        return name in self._factories
