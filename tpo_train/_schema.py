"""Generic pieces of the training-config loader: YAML reading with ``extends:``, deep merge and ``key=value``
overrides. The typed conversion into frozen dataclasses is :func:`tpo_eval.schema.build` (the benchmark
configs' too); :mod:`tpo_train.config` defines the dataclasses.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

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
