"""The YAML half of a paper table: keys, types and cross-references, every problem collected at once.

``parse_meta`` returns keyword arguments for :class:`tpo_eval.tables.model.PaperTable` (minus rows and path)
and the list of problems; results/paper/README.md documents each key. The column records (:class:`Column`,
:class:`Aggregate`) and their checks live in :mod:`.columns` (re-exported here); neither module imports the
model, so the model imports the schema and never the other way round.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from ..io import ConfigError, load_yaml
from .columns import _OVERALLS, AGGREGATIONS, Aggregate, Column, _columns, _resolve_aggregate

__all__ = ["AGGREGATIONS", "CHECK_TYPES", "Aggregate", "Column", "parse_meta"]

_TOP = {
    "name",
    "title",
    "caption",
    "label",
    "source",
    "benchmark",
    "metric",
    "decimals",
    "baseline",
    "columns",
    "panels",
    "checks",
    "notes",
    "model_label",
    "run_variants",
    "checkpoints",
}
_VARIANT = {"name", "benchmark", "metric", "overall"}
_CHECKPOINT = {"repo", "adapter", "also", "note"}
CHECK_TYPES = {
    "claim": {"row", "column", "value", "delta", "baseline", "text"},
    "equals": {"table", "columns", "rows", "text"},
    "order": {"columns", "text"},
}


def parse_meta(path: Path) -> tuple[Optional[dict[str, Any]], list[str]]:
    errors: list[str] = []
    try:
        raw = load_yaml(path)
    except ConfigError as e:
        return None, e.errors
    if not isinstance(raw, dict):
        return None, ["the file must hold a mapping of keys (name, columns, …)"]
    for k in sorted(set(raw) - _TOP):
        errors.append(f"unknown key {k!r} (known: {', '.join(sorted(_TOP))})")
    for k in ("name", "caption", "label", "columns"):
        if k not in raw:
            errors.append(f"missing required key {k!r}")
    if raw.get("name") not in (None, path.stem):
        errors.append(f"name {raw.get('name')!r} differs from the file name {path.stem!r}")
    columns = _columns(raw.get("columns") or [], errors)
    ids = [c.id for c in columns]
    score_ids = [c.id for c in columns if c.kind == "score" and c.aggregate is None]
    columns = tuple(_resolve_aggregate(c, ids, score_ids, errors) for c in columns)
    base = raw.get("baseline")
    if base is not None and not (isinstance(base, dict) and isinstance(base.get("row"), str)):
        errors.append("baseline must look like {row: <row key>, show: true|false}")
        base = None
    panels = tuple(tuple(p) for p in raw.get("panels") or ())
    for i, p in enumerate(panels):
        for cid in p:
            if cid and cid not in ids:
                errors.append(f"panels[{i}] names unknown column {cid!r}")
    if panels and sorted(c for p in panels for c in p if c) != sorted(ids):
        errors.append('panels must list every column exactly once (use "" for an empty slot)')
    checks = tuple(raw.get("checks") or ())
    for i, chk in enumerate(checks):
        _check_check(i, chk, ids, errors)
    checkpoints = _checkpoints(raw.get("checkpoints") or {}, errors)
    decimals = raw.get("decimals", 1)
    if not isinstance(decimals, int) or not 0 <= decimals <= 4:
        errors.append(f"decimals must be an integer 0..4, got {decimals!r}")
    meta = dict(
        name=str(raw.get("name", path.stem)),
        title=str(raw.get("title", "")),
        caption=str(raw.get("caption", "")),
        label=str(raw.get("label", "")),
        source=dict(raw.get("source") or {}),
        benchmark=str(raw.get("benchmark", "")),
        metric=str(raw.get("metric", "")),
        decimals=int(decimals or 0),
        columns=columns,
        baseline=base["row"] if base else None,
        show_deltas=bool(base and base.get("show")),
        panels=panels,
        checks=checks,
        notes=str(raw.get("notes", "")).strip(),
        model_label=str(raw.get("model_label", "Model")),
        checkpoints=checkpoints,
        run_variants=_run_variants(raw.get("run_variants") or [], errors),
    )
    return meta, errors


def _run_variants(raw: Any, errors: list[str]) -> tuple[dict[str, Any], ...]:
    """``[{name, benchmark, metric: {from: PREFIX, to: PREFIX}, overall: {from: AGG, to: AGG}}]``: every run
    added to the table gets one more row per variant, reading the columns (of ``benchmark``, if given) the
    variant changes (another extractor's metrics, another overall) and leaving the others empty."""
    out = []
    for i, v in enumerate(raw if isinstance(raw, list) else [raw]):
        where = f"run_variants[{i}]"
        if not isinstance(v, dict) or not isinstance(v.get("name"), str):
            errors.append(f"{where} must be a mapping with a name, got {v!r}")
            continue
        for k in sorted(set(v) - _VARIANT):
            errors.append(f"{where}: unknown key {k!r} (known: {', '.join(sorted(_VARIANT))})")
        for k in ("metric", "overall"):
            sub = v.get(k)
            if sub is not None and not (isinstance(sub, dict) and set(sub) == {"from", "to"}):
                errors.append(f"{where}: {k} must look like {{from: ..., to: ...}}")
        if (v.get("overall") or {}).get("to", "micro") not in _OVERALLS:
            errors.append(f"{where}: overall.to must be micro, macro or macro_released")
        out.append(dict(v))
    return tuple(out)


def _checkpoints(raw: Any, errors: list[str]) -> dict[str, dict[str, Any]]:
    """``{row key: {repo, adapter, also, note}}``: the released weights a published row came from."""
    if not isinstance(raw, dict):
        errors.append("checkpoints must map row keys to {repo: OWNER/NAME, adapter: NAME}")
        return {}
    out = {}
    for key, c in raw.items():
        if not (isinstance(c, dict) and isinstance(c.get("repo"), str) and isinstance(c.get("adapter"), str)):
            errors.append(f"checkpoints.{key} must look like {{repo: OWNER/NAME, adapter: NAME}}, got {c!r}")
            continue
        for k in sorted(set(c) - _CHECKPOINT):
            errors.append(f"checkpoints.{key}: unknown key {k!r} (known: {', '.join(sorted(_CHECKPOINT))})")
        out[str(key)] = {
            "repo": c["repo"],
            "adapter": c["adapter"],
            "also": list(c.get("also") or []),
            "note": str(c.get("note", "")),
        }
    return out


def _check_check(i: int, chk: Any, ids: list[str], errors: list[str]) -> None:
    if not isinstance(chk, dict) or chk.get("type") not in CHECK_TYPES:
        errors.append(
            f"checks[{i}] must be a mapping whose type is one of {', '.join(CHECK_TYPES)}, got {chk!r}"
        )
        return
    allowed = CHECK_TYPES[chk["type"]] | {"type"}
    for k in sorted(set(chk) - allowed):
        errors.append(f"checks[{i}] ({chk['type']}): unknown key {k!r}")
    cols = chk.get("columns")
    own = list(cols) if isinstance(cols, (list, dict)) else []
    if chk["type"] == "claim":
        own = [chk.get("column")]
        if "value" not in chk and "delta" not in chk:
            errors.append(f"checks[{i}] (claim): give a value, a delta, or both")
    for cid in own:
        if cid not in ids:
            errors.append(f"checks[{i}] ({chk['type']}): unknown column {cid!r}")
