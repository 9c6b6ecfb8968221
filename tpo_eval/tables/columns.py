"""Table columns: the records (:class:`Column`, :class:`Aggregate`) and the checks that build them from YAML.

Split from :mod:`.schema` (the table's other keys) because columns carry the most rules: kinds, where a run's
value comes from, and aggregates whose inputs are resolved against the other columns. Like the schema, this
module never imports the table model, so the model can import both.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Optional

# How a published aggregate is recomputed from the numbers it summarises (name → function).
AGGREGATIONS: dict[str, Callable[[Sequence[float]], float]] = {
    "mean": lambda xs: sum(xs) / len(xs),
}


@dataclass(frozen=True)
class Aggregate:
    """How a published aggregate is computed from other columns of the same row."""

    method: str  # a key of tpo_eval.verify.AGGREGATIONS ("mean")
    of: tuple[str, ...]
    exact_inputs: bool = False  # inputs are printed without rounding (MVBench: k/200 is a multiple of 0.5)


@dataclass(frozen=True)
class Column:
    """One column. ``kind`` is ``score`` (ranked, deltas) or ``info`` (printed verbatim: LLM size, ✓ marks).

    ``run`` says where a run's value comes from: ``{"task": id}``, ``{"tasks": [...]}`` (merged, weighted by
    ``n_total``) or ``{"overall": "micro"|"macro"|"macro_released"}``, each with an optional ``metric``
    (default: the table's).
    """

    id: str
    label: str
    name: str = ""
    kind: str = "score"
    group: str = ""
    better: str = "higher"
    benchmark: str = ""
    aggregate: Optional[Aggregate] = None
    run: Mapping[str, Any] = field(default_factory=dict)
    parts: tuple[str, ...] = ()


_OVERALLS = (None, "micro", "macro", "macro_released")
_COLUMN = {"id", "label", "name", "kind", "group", "better", "benchmark", "aggregate", "run", "parts"}
_RUN = {"task", "tasks", "overall", "metric"}


def _columns(raw: list[Any], errors: list[str]) -> list[Any]:
    out, seen = [], set()
    for i, c in enumerate(raw):
        if not isinstance(c, dict) or not isinstance(c.get("id"), str) or "label" not in c:
            errors.append(f"columns[{i}] must be a mapping with at least id and label, got {c!r}")
            continue
        where = f"column {c['id']!r}"
        for k in sorted(set(c) - _COLUMN):
            errors.append(f"{where}: unknown key {k!r} (known: {', '.join(sorted(_COLUMN))})")
        if c["id"] in seen:
            errors.append(f"{where}: id is repeated")
        seen.add(c["id"])
        if c.get("kind", "score") not in ("score", "info"):
            errors.append(f"{where}: kind must be score or info, got {c.get('kind')!r}")
        if c.get("better", "higher") not in ("higher", "lower"):
            errors.append(f"{where}: better must be higher or lower, got {c.get('better')!r}")
        run = dict(c.get("run") or {})
        for k in sorted(set(run) - _RUN):
            errors.append(f"{where}: run has unknown key {k!r} (known: {', '.join(sorted(_RUN))})")
        if run.get("overall") not in _OVERALLS:
            errors.append(
                f"{where}: run.overall must be micro, macro or macro_released, got {run.get('overall')!r}"
            )
        agg = c.get("aggregate")
        aggregate = None
        if agg is not None:
            if not isinstance(agg, dict) or "method" not in agg or "of" not in agg:
                errors.append(f"{where}: aggregate must look like {{method: mean, of: tasks | [column ids]}}")
            else:
                of = agg["of"]
                aggregate = Aggregate(
                    method=str(agg["method"]),
                    of=(of,) if isinstance(of, str) else tuple(of),
                    exact_inputs=bool(agg.get("exact_inputs", False)),
                )
        out.append(
            Column(
                id=c["id"],
                label=str(c["label"]),
                name=str(c.get("name", "")),
                kind=c.get("kind", "score"),
                group=str(c.get("group", "")),
                better=c.get("better", "higher"),
                benchmark=str(c.get("benchmark", "")),
                aggregate=aggregate,
                run=run,
                parts=tuple(c.get("parts") or ()),
            )
        )
    return out


def _resolve_aggregate(col: Any, ids: list[str], score_ids: list[str], errors: list[str]) -> Any:
    """``of: tasks`` means every score column that is not itself an aggregate."""
    from dataclasses import replace

    agg = col.aggregate
    if agg is None:
        return col
    if agg.method not in AGGREGATIONS:
        errors.append(
            f"column {col.id!r}: aggregate method {agg.method!r} unknown (known: {', '.join(AGGREGATIONS)})"
        )
    of = tuple(score_ids) if agg.of == ("tasks",) else agg.of
    for cid in of:
        if cid not in ids:
            errors.append(f"column {col.id!r}: aggregate input {cid!r} is not a column")
    return replace(col, aggregate=replace(agg, of=of))
