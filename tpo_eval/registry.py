"""One generic registry for every pluggable thing: benchmarks, task families, models, extractors, metrics.

Entries are either objects or lazy ``"module:attr"`` strings, so ``tpo-eval ls`` lists everything without
importing torch or transformers. Names are unique; a typo gets a did-you-mean error listing what exists.
"""

from __future__ import annotations

import contextlib
import difflib
import importlib
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class RegistryError(KeyError):
    """Unknown or duplicate registry name. ``str()`` gives the full message (KeyError would quote it)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def load_target(target: str) -> Any:
    """The object a lazy ``"module:attr"`` string names, imported now."""
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


class Registry(Generic[T]):
    """Name → object (or lazy ``"module:attr"`` placeholder) mapping with loud errors."""

    def __init__(self, kind: str, entry_points: str | None = None) -> None:
        self.kind = kind
        self._entries: dict[str, Any] = {}
        self._help: dict[str, str] = {}
        # Installed packages add entries through this entry-point group (read once, lazily: the values are
        # ``module:attr`` strings, so nothing is imported until an entry is used).
        self._group, self._plugins_loaded = entry_points, entry_points is None

    def _load_plugins(self) -> None:
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        from importlib.metadata import entry_points

        for ep in entry_points(group=self._group):
            if ep.name not in self._entries:
                dist = ep.dist.name if ep.dist is not None else "?"
                self.add(ep.name, ep.value, f"{ep.value} (plugin from {dist})")

    def add(self, name: str, target: T | str, help: str = "") -> None:
        """Register ``target`` (an object, or ``"module:attr"`` imported on first use) under ``name``."""
        if name in self._entries:
            raise RegistryError(f"{self.kind} {name!r} is already registered")
        if isinstance(target, str) and ":" not in target:
            raise ValueError(f"lazy {self.kind} entry {name!r} must look like 'module:attr', got {target!r}")
        self._entries[name] = target
        self._help[name] = help

    def register(self, name: str, help: str = "") -> Callable[[T], T]:
        """Decorator form of :meth:`add`."""

        def deco(obj: T) -> T:
            self.add(name, obj, help)
            return obj

        return deco

    def get(self, name: str) -> T:
        """Return the entry, importing it if it is lazy. Unknown names raise with suggestions."""
        self._load_plugins()
        if name not in self._entries:
            close = difflib.get_close_matches(name, list(self._entries), n=3, cutoff=0.5)
            hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            raise RegistryError(
                f"unknown {self.kind} {name!r}.{hint} Available: "
                f"{', '.join(sorted(self._entries)) or '(none)'}"
            )
        entry = self._entries[name]
        if isinstance(entry, str):
            entry = load_target(entry)
            self._entries[name] = entry
        return entry

    def unregister(self, name: str) -> None:
        """Remove ``name`` (a test or plugin undoing its own :meth:`add`); an unknown name raises."""
        self._load_plugins()  # else a plugin entry removed now would come back when the plugins load
        if name not in self._entries:
            raise RegistryError(f"{self.kind} {name!r} is not registered")
        del self._entries[name], self._help[name]

    @contextlib.contextmanager
    def added(self, name: str, target: T | str, help: str = "") -> Iterator[None]:
        """``name`` registered for the duration of the block (tests), removed afterwards."""
        self.add(name, target, help)
        try:
            yield
        finally:
            self.unregister(name)

    def help(self, name: str) -> str:
        self._load_plugins()
        return self._help.get(name, "")

    def names(self) -> list[str]:
        self._load_plugins()
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        self._load_plugins()
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        self._load_plugins()
        return len(self._entries)
