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
from collections.abc import Callable, Mapping
from typing import Any, Optional, Union

from .examples import Example, Origin

_SCALARS = {str: "string", int: "int64", float: "float64", bool: "bool"}


def _optional(tp: Any) -> Any:
    """``X`` for ``Optional[X]`` / ``X | None``, else ``tp``."""
    if typing.get_origin(tp) in (Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return tp


#: a converter between a declared type and its plain (JSON) form; None: the value is its own plain form
Conv = Optional[Callable[[Any], Any]]


def _maybe(c: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda v: None if v is None else c(v)


def _apply(c: Conv, v: Any) -> Any:
    return v if c is None else c(v)


def to_plain(tp: Any) -> Conv:
    """The converter of values declared ``tp`` to JSON-ready lists, numbers and strings (derived once per
    type: the build converts millions of values). ``json`` writes tuples as lists, so a tuple of plain
    values needs none."""
    opt, tp = _optional(tp) is not tp, _optional(tp)
    c: Conv
    if tp is Any or tp in _SCALARS:
        return None
    if dataclasses.is_dataclass(tp):
        hints = typing.get_type_hints(tp)
        fs = [(f.name, to_plain(hints[f.name])) for f in dataclasses.fields(tp)]
        c = lambda v: [_apply(fc, getattr(v, n)) for n, fc in fs]  # noqa: E731
    elif typing.get_origin(tp) is tuple:
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            e = to_plain(args[0])
            c = None if e is None else lambda v: [e(x) for x in v]
        else:
            es = [to_plain(a) for a in args]
            c = None if all(e is None for e in es) else lambda v: [_apply(e, x) for e, x in zip(es, v)]
    elif typing.get_origin(tp) in (dict, Mapping):
        k, x = (to_plain(a) for a in typing.get_args(tp))
        c = lambda v: [[_apply(k, a), _apply(x, b)] for a, b in v.items()]  # noqa: E731 - int keys stay int
    else:
        raise TypeError(f"no Arrow column form for {tp!r}")
    return _maybe(c) if opt and c is not None else c


def from_plain(tp: Any) -> Conv:
    """The inverse of :func:`to_plain`: lists back to tuples or dataclasses, pairs back to mappings."""
    opt, tp = _optional(tp) is not tp, _optional(tp)
    c: Conv
    if tp is Any or tp in _SCALARS:
        return None
    if dataclasses.is_dataclass(tp):
        hints = typing.get_type_hints(tp)
        ds = [from_plain(hints[f.name]) for f in dataclasses.fields(tp)]
        c = lambda v: tp(*(_apply(d, x) for d, x in zip(ds, v)))  # noqa: E731
    elif typing.get_origin(tp) is tuple:
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            d = from_plain(args[0])
            c = tuple if d is None else lambda v: tuple(d(x) for x in v)
        else:
            ds = [from_plain(a) for a in args]
            c = tuple if all(d is None for d in ds) else lambda v: tuple(_apply(d, x) for d, x in zip(ds, v))
    elif typing.get_origin(tp) in (dict, Mapping):
        k, x = (from_plain(a) for a in typing.get_args(tp))
        c = dict if k is None and x is None else lambda v: {_apply(k, a): _apply(x, b) for a, b in v}
    else:
        raise TypeError(f"no Arrow column form for {tp!r}")
    return _maybe(c) if opt else c


@dataclasses.dataclass(frozen=True)
class Codec:
    """How one example class maps to columns: ``scalar`` fields as Arrow values, ``nested`` ones as JSON."""

    cls: type
    scalar: tuple[tuple[str, str], ...]  # (field, Arrow value type)
    origin: tuple[str, ...]
    nested: tuple[tuple[str, Conv, Conv], ...]  # (field, to plain, from plain)

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
                nested.append((f.name, to_plain(hints[f.name]), from_plain(hints[f.name])))
        return cls(ex_cls, tuple(scalar), tuple(origin), tuple(nested))

    def features(self) -> Any:
        Features, Value = datasets().Features, datasets().Value

        cols = {n: Value(t) for n, t in self.scalar}
        for n in self.origin:
            cols.update({f"{n}_path": Value("string"), f"{n}_line": Value("int64")})
        cols.update({n: Value("string") for n, _, _ in self.nested})
        return Features(cols)

    def encode(self, ex: Example, cols: dict[str, list]) -> None:
        for n, _ in self.scalar:
            cols[n].append(getattr(ex, n))
        for n in self.origin:
            o = getattr(ex, n)
            cols[f"{n}_path"].append(o.path)
            cols[f"{n}_line"].append(o.line)
        for n, enc, _ in self.nested:
            cols[n].append(json.dumps(_apply(enc, getattr(ex, n)), separators=(",", ":")))

    def decode(self, row: Mapping[str, Any]) -> Example:
        kw = {n: row[n] for n, _ in self.scalar}
        kw.update({n: Origin(row[f"{n}_path"], row[f"{n}_line"]) for n in self.origin})
        kw.update({n: _apply(dec, json.loads(row[n])) for n, _, dec in self.nested})
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
