"""How an example dataclass maps to Arrow columns and back (the layout of the cache in ``data/arrow.py``).

One column per dataclass field: ``str``/``int``/``float``/``bool`` fields (optional or not) as Arrow values,
an :class:`Origin` as ``<field>_path`` + ``<field>_line``, and every nested field (windows, saliency, boxes,
masks, turns) as a JSON string of its plain form: tuples as lists, dataclasses as lists of their fields,
mappings as ``[key, value]`` pairs (so int keys stay ints). Decoding turns the plain form back into the
declared types, so an example read back equals (``==``) the one the reader produced. The mapping is derived
from the type hints: a new example class needs no code here.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from collections.abc import Mapping
from typing import Any, Union

from .examples import Example, Origin

_SCALARS = {str: "string", int: "int64", float: "float64", bool: "bool"}


def _optional(tp: Any) -> Any:
    """``X`` for ``Optional[X]`` / ``X | None``, else ``tp``."""
    if typing.get_origin(tp) in (Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return tp


def _plain(tp: Any, v: Any) -> Any:
    """``v`` (declared ``tp``) as JSON-ready lists, numbers and strings."""
    tp = _optional(tp)
    if v is None or tp is Any or tp in _SCALARS:
        return v
    if dataclasses.is_dataclass(tp):
        hints = typing.get_type_hints(tp)
        return [_plain(hints[f.name], getattr(v, f.name)) for f in dataclasses.fields(tp)]
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        return [_plain(args[0], x) for x in v]
    if origin is tuple:
        return [_plain(a, x) for a, x in zip(args, v)]
    if origin in (dict, Mapping):
        return [[_plain(args[0], k), _plain(args[1], x)] for k, x in v.items()]
    raise TypeError(f"no Arrow column form for {tp!r}")


def _typed(tp: Any, v: Any) -> Any:
    """Inverse of :func:`_plain`."""
    tp = _optional(tp)
    if v is None or tp is Any or tp in _SCALARS:
        return v
    if dataclasses.is_dataclass(tp):
        hints = typing.get_type_hints(tp)
        return tp(*(_typed(hints[f.name], x) for f, x in zip(dataclasses.fields(tp), v)))
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        return tuple(_typed(args[0], x) for x in v)
    if origin is tuple:
        return tuple(_typed(a, x) for a, x in zip(args, v))
    if origin in (dict, Mapping):
        return {_typed(args[0], k): _typed(args[1], x) for k, x in v}
    raise TypeError(f"no Arrow column form for {tp!r}")


@dataclasses.dataclass(frozen=True)
class Codec:
    """How one example class maps to columns: ``scalar`` fields as Arrow values, ``nested`` ones as JSON."""

    cls: type
    scalar: tuple[tuple[str, str], ...]  # (field, Arrow value type)
    origin: tuple[str, ...]
    nested: tuple[tuple[str, Any], ...]  # (field, declared type)

    @classmethod
    def of(cls, ex_cls: type) -> Codec:
        hints = typing.get_type_hints(ex_cls)
        scalar, origin, nested = [], [], []
        for f in dataclasses.fields(ex_cls):
            tp = _optional(hints[f.name])
            if tp is Origin:
                origin.append(f.name)
            elif tp in _SCALARS:
                scalar.append((f.name, _SCALARS[tp]))
            else:
                nested.append((f.name, hints[f.name]))
        return cls(ex_cls, tuple(scalar), tuple(origin), tuple(nested))

    def features(self) -> Any:
        Features, Value = datasets().Features, datasets().Value

        cols = {n: Value(t) for n, t in self.scalar}
        for n in self.origin:
            cols.update({f"{n}_path": Value("string"), f"{n}_line": Value("int64")})
        cols.update({n: Value("string") for n, _ in self.nested})
        return Features(cols)

    def encode(self, ex: Example, cols: dict[str, list]) -> None:
        for n, _ in self.scalar:
            cols[n].append(getattr(ex, n))
        for n in self.origin:
            o = getattr(ex, n)
            cols[f"{n}_path"].append(o.path)
            cols[f"{n}_line"].append(o.line)
        for n, tp in self.nested:
            cols[n].append(json.dumps(_plain(tp, getattr(ex, n)), separators=(",", ":")))

    def decode(self, row: Mapping[str, Any]) -> Example:
        kw = {n: row[n] for n, _ in self.scalar}
        kw.update({n: Origin(row[f"{n}_path"], row[f"{n}_line"]) for n in self.origin})
        kw.update({n: _typed(tp, json.loads(row[n])) for n, tp in self.nested})
        return self.cls(**kw)


def datasets() -> Any:
    """The ``datasets`` package (a ``train`` extra: tpo_eval does not need it)."""
    try:
        import datasets
    except ImportError:
        raise ImportError("tpo_train reads its data with `datasets`: pip install 'tpo-eval[train]'") from None
    return datasets


def class_name(c: type) -> str:
    return f"{c.__module__}:{c.__qualname__}"


def class_by_name(name: str) -> type:
    import importlib

    mod, _, qual = name.partition(":")
    return getattr(importlib.import_module(mod), qual)
