"""Generic pieces of the training-config loader: YAML reading with ``extends:``, deep merge, ``key=value``
overrides, and strict conversion of plain mappings into typed frozen dataclasses (every problem appended to an
``errors`` list, so a caller can report them all at once). :mod:`tpo_train.config` defines the dataclasses.
"""

from __future__ import annotations

import collections.abc
import copy
import dataclasses
import difflib
import os
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, Union

from tpo_eval.io import ConfigError, load_yaml, yaml_value

CONFIG_DIR = Path(__file__).resolve().parent / "configs"  # the shipped training configs


# ---------------------------------------------------------------------------------------------- raw loading
def _read_yaml(path: Path, errors: list[str], seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """Read ``path`` and resolve ``extends:`` chains (relative to the including file)."""
    if path in seen:
        errors.append(f"extends cycle: {' -> '.join(map(str, seen + (path,)))}")
        return {}
    try:
        raw = load_yaml(path)
    except ConfigError as e:  # unreadable or not YAML: the problem names this file (an ``extends:`` parent)
        errors.extend(f"{path}: {m}" for m in e.errors)
        return {}
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        errors.append(f"{path}: top level must be a mapping, got {type(raw).__name__}")
        return {}
    parent = raw.pop("extends", None)
    if parent is None:
        return raw
    base = _read_yaml((path.parent / str(parent)).resolve(), errors, seen + (path,))
    return deep_merge(base, raw)


def deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """``over`` wins; mappings merge recursively; ``key: null`` in ``over`` removes the key (a source, a head;
    every optional setting defaults to null, so removing it and nulling it mean the same)."""
    out = copy.deepcopy(dict(base))
    for k, v in over.items():
        if v is None:
            out.pop(k, None)
        elif isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def apply_overrides(raw: dict[str, Any], overrides: Sequence[str], errors: list[str]) -> dict[str, Any]:
    """Apply ``a.b.c=value`` (value parsed as YAML) and ``~a.b.c`` (remove) to a raw mapping; problems go to
    ``errors``."""
    out = copy.deepcopy(raw)
    for item in overrides:
        if item.startswith("~"):  # ~a.b.c removes a key (e.g. a head: ~model.heads.mask)
            node, parts = out, item[1:].split(".")
            for p in parts[:-1]:
                node = node.get(p) if isinstance(node, dict) else None
            if not isinstance(node, dict) or parts[-1] not in node:
                errors.append(f"override {item!r}: no such key to remove")
            else:
                del node[parts[-1]]
            continue
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            errors.append(f"override {item!r}: expected key=value (e.g. train.max_steps=2)")
            continue
        value = yaml_value(text) if text.strip() else None
        node = out
        parts = key.strip().split(".")
        for p in parts[:-1]:
            if node.get(p) is None:
                node[p] = {}
            if not isinstance(node[p], dict):
                errors.append(f"override {item!r}: {p!r} is not a mapping")
                break
            node = node[p]
        else:
            if value is None:
                node.pop(parts[-1], None)  # key=null removes, as `key: null` does in an extending YAML
            else:
                node[parts[-1]] = value
    return out


# ---------------------------------------------------------------------------------------------- typed parsing
def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is Literal:
        return " | ".join(repr(a) for a in typing.get_args(tp))
    if origin in (Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(tp) if a is not type(None)) + " or null"
    if origin is not None:
        return getattr(origin, "__name__", str(origin))
    return getattr(tp, "__name__", str(tp))


def _convert(tp: Any, value: Any, where: str, errors: list[str]) -> Any:
    """Check ``value`` against the annotation ``tp``; return the converted value (or None after an error)."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _convert(inner[0], value, where, errors)
    if origin is Literal:
        if value in args:
            return value
        close = difflib.get_close_matches(str(value), [str(a) for a in args], n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        errors.append(f"{where}: {value!r} is not one of {', '.join(repr(a) for a in args)}{hint}")
        return None
    if dataclasses.is_dataclass(tp):
        return _build(tp, value, where, errors)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            errors.append(f"{where}: must be a list, got {type(value).__name__}")
            return None
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_convert(args[0], v, f"{where}[{i}]", errors) for i, v in enumerate(value))
        if len(value) != len(args):
            errors.append(f"{where}: must have {len(args)} items, got {len(value)}")
            return None
        return tuple(_convert(a, v, f"{where}[{i}]", errors) for i, (a, v) in enumerate(zip(args, value)))
    if origin in (Mapping, dict, collections.abc.Mapping) or tp is dict:
        if not isinstance(value, dict):
            errors.append(f"{where}: must be a mapping, got {type(value).__name__}")
            return None
        vt = args[1] if args else Any
        return {str(k): _convert(vt, v, f"{where}.{k}", errors) for k, v in value.items()}
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
            return os.path.expandvars(value)
    elif tp is bool and isinstance(value, bool):
        return value
    shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
    errors.append(f"{where}: must be {_type_name(tp)}, got {type(value).__name__} {shown}")
    return None


def _build(cls: Any, raw: Any, where: str, errors: list[str]) -> Any:
    """Build dataclass ``cls`` from a mapping, reporting unknown, missing and mistyped keys."""
    if not isinstance(raw, dict):
        errors.append(f"{where or 'config'}: must be a mapping, got {type(raw).__name__}")
        return None
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for k in sorted(set(raw) - set(fields), key=str):
        close = difflib.get_close_matches(str(k), list(fields), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        errors.append(f"{where + '.' if where else ''}{k}: unknown key{hint}")
    kwargs: dict[str, Any] = {}
    n_before = len(errors)
    for name, f in fields.items():
        sub = f"{where}.{name}" if where else name
        if name in raw:
            kwargs[name] = _convert(hints[name], raw[name], sub, errors)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            errors.append(f"{sub}: missing required key")
    if len(errors) > n_before:
        return None
    return cls(**kwargs)
