"""Typed parsing of plain mappings (parsed YAML) into frozen dataclasses, for benchmark configs
(:mod:`tpo_eval.config`) and training configs (:mod:`tpo_train.config`) alike: the dataclass annotations are
the schema. Unknown keys (with did-you-mean), missing required keys, wrong types and values outside a
``Literal`` are appended to an ``errors`` list, so a caller reports every problem of a file at once.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import difflib
import os
import types
import typing
from collections.abc import Iterable, Mapping
from typing import Any, Literal, Union

__all__ = ["build", "unknown_keys"]


def unknown_keys(raw: Mapping[str, Any], known: Iterable[str], where: str) -> list[str]:
    """One problem per key of ``raw`` not in ``known``, with the closest known key when there is one."""
    known = list(known)
    out = []
    for k in sorted(set(raw) - set(known), key=str):
        close = difflib.get_close_matches(str(k), known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        out.append(f"{where + '.' if where else ''}{k}: unknown key{hint}")
    return out


def build(cls: Any, raw: Any, where: str, errors: list[str], *, expand_vars: bool = False) -> Any:
    """Dataclass ``cls`` built from the mapping ``raw`` (None after a problem in one of its fields; unknown
    keys are reported but do not stop the build). ``where``: the dotted location of ``raw`` in its file
    (``""`` at the top). ``expand_vars``: strings get ``$VAR`` expanded (training configs name paths)."""
    return _build(cls, raw, where, errors, expand_vars)


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is Literal:
        return " | ".join(repr(a) for a in typing.get_args(tp))
    if origin in (Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(tp) if a is not type(None)) + " or null"
    if origin is not None:
        return getattr(origin, "__name__", str(origin))
    return getattr(tp, "__name__", str(tp))


def _convert(tp: Any, value: Any, where: str, errors: list[str], expand: bool) -> Any:
    """Check ``value`` against the annotation ``tp``; return the converted value (or None after an error)."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _convert(inner[0], value, where, errors, expand)
    if origin is Literal:
        if value in args:
            return value
        close = difflib.get_close_matches(str(value), [str(a) for a in args], n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        errors.append(f"{where}: {value!r} is not one of {', '.join(repr(a) for a in args)}{hint}")
        return None
    if dataclasses.is_dataclass(tp):
        return _build(tp, value, where, errors, expand)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            errors.append(f"{where}: must be a list, got {type(value).__name__}")
            return None
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_convert(args[0], v, f"{where}[{i}]", errors, expand) for i, v in enumerate(value))
        if len(value) != len(args):
            errors.append(f"{where}: must have {len(args)} items, got {len(value)}")
            return None
        return tuple(
            _convert(a, v, f"{where}[{i}]", errors, expand) for i, (a, v) in enumerate(zip(args, value))
        )
    if origin in (Mapping, dict, collections.abc.Mapping) or tp is dict:
        if not isinstance(value, dict):
            errors.append(f"{where}: must be a mapping, got {type(value).__name__}")
            return None
        vt = args[1] if args else Any
        return {str(k): _convert(vt, v, f"{where}.{k}", errors, expand) for k, v in value.items()}
    if tp is Any:
        return value
    if tp is float:
        # PyYAML reads "1e-4" (no dot) as a string; accept numeric strings so learning rates read naturally.
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is str:
        if isinstance(value, str):
            return os.path.expandvars(value) if expand else value
    elif tp is bool and isinstance(value, bool):
        return value
    shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
    errors.append(f"{where}: must be {_type_name(tp)}, got {type(value).__name__} {shown}")
    return None


def _build(cls: Any, raw: Any, where: str, errors: list[str], expand: bool) -> Any:
    """Build dataclass ``cls`` from a mapping, reporting unknown, missing and mistyped keys."""
    if not isinstance(raw, dict):
        errors.append(f"{where or 'config'}: must be a mapping, got {type(raw).__name__}")
        return None
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    errors.extend(unknown_keys(raw, fields, where))
    kwargs: dict[str, Any] = {}
    n_before = len(errors)
    for name, f in fields.items():
        sub = f"{where}.{name}" if where else name
        if name in raw:
            kwargs[name] = _convert(hints[name], raw[name], sub, errors, expand)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            errors.append(f"{sub}: missing required key")
    if len(errors) > n_before:
        return None
    return cls(**kwargs)
