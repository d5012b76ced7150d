"""One tiny plug-in mechanism shared by detectors, trackers, renderers and sources.

A plug-in is any callable registered under a name; config picks it by that name and passes
its parameters as keyword arguments. Unknown names fail with the list of known ones.

A factory that imports its class lazily (to keep heavy or optional libraries out of the import)
names that class as `implementation="module:Class"`, so `describe` can list the parameters the
class takes without building it (`vcprep plugins`).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from vcprep.core.plugin_docs import PluginDoc, describe

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._factories: dict[str, Callable[..., T]] = {}
        self._implementations: dict[str, str] = {}

    def register(
        self, name: str, *, implementation: str | None = None
    ) -> Callable[[Callable[..., T]], Callable[..., T]]:
        """`implementation`: "module:Class" that a lazy factory builds (default: the factory itself)."""

        def decorator(factory: Callable[..., T]) -> Callable[..., T]:
            if name in self._factories:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._factories[name] = factory
            self._implementations[name] = implementation or f"{factory.__module__}:{factory.__qualname__}"
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

    def describe(self, name: str) -> PluginDoc:
        """Parameters and docs of `name`, read from its implementation's code (imported, never built). A missing
        optional library is reported in `unavailable` with the factory's own description instead."""
        implementation = self._implementations[name]
        module, _, attr = implementation.partition(":")
        try:
            target: Any = importlib.import_module(module)
            for part in attr.split("."):
                target = getattr(target, part)
        except ImportError as exc:
            doc = describe(self.kind, name, implementation, self._factories[name])
            return PluginDoc(doc.kind, name, implementation, doc.summary, doc.params, unavailable=str(exc))
        return describe(self.kind, name, implementation, target)

    def names(self) -> list[str]:
        return sorted(self._factories)

    def __contains__(self, name: str) -> bool:
        return name in self._factories
