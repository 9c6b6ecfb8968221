"""Audit a published table: recompute what can be recomputed and list every number that disagrees.

Checks, all declared in the table's YAML (results/paper/README.md):
- ``aggregate``: a column such as Avg or Overall, recomputed from the row's per-task numbers with the declared
  method. Allowed slack = half a unit of the aggregate's last printed digit, plus the worst error the inputs'
  own rounding can carry into it (none when the inputs are exact, e.g. MVBench's k/200).
- ``delta``: a published ``(+x.x)`` against the table's baseline row.
- ``claim``: a number the paper's prose states (a value and/or a delta against the baseline).
- ``equals``: the same number printed in another table (e.g. main Table 4's MMIU = supplement Table 2's
Overall).
- ``order``: numbers that cannot increase along the listed columns (R@0.3 ≥ R@0.5 ≥ R@0.7).

The :class:`Finding` record, its status rule and the text report are ``verify_findings.py`` (importable from
here too).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .tables.model import PaperTable, load_table
from .tables.schema import AGGREGATIONS
from .verify_findings import _EPS, Finding, _finding, describe, format_report, half_unit

__all__ = ["Finding", "describe", "format_report", "half_unit", "verify_names", "verify_table"]


def verify_table(table: PaperTable) -> list[Finding]:
    """Every check on every row of ``table``, in table order (aggregates, deltas, then declared checks)."""
    out = _aggregates(table) + _published_deltas(table)
    for chk in table.checks:
        out += {"claim": _claim, "equals": _equals, "order": _order}[chk["type"]](table, chk)
    return out


def verify_names(names: list[str]) -> dict[str, list[Finding]]:
    return {n: verify_table(load_table(n)) for n in names}


def _aggregates(table: PaperTable) -> list[Finding]:
    out = []
    for col in table.columns:
        agg = col.aggregate
        if agg is None:
            continue
        fn = AGGREGATIONS[agg.method]
        for row in table.rows:
            cell = row.cells[col.id]
            if cell.value is None:
                continue
            inputs = [row.cells[c] for c in agg.of]
            missing = [table.column(c).label for c, x in zip(agg.of, inputs) if x.value is None]
            if missing:
                out.append(
                    _finding(
                        table,
                        "aggregate",
                        row,
                        col.label,
                        cell.value,
                        None,
                        0.0,
                        f"cannot recompute: {', '.join(missing)} not reported",
                        status="skipped",
                    )
                )
                continue
            calc = fn([x.value for x in inputs])  # type: ignore[misc]
            carried = 0.0 if agg.exact_inputs else fn([half_unit(x.decimals) for x in inputs])
            tol = half_unit(cell.decimals) + carried
            out.append(
                _finding(
                    table,
                    "aggregate",
                    row,
                    col.label,
                    cell.value,
                    calc,
                    tol,
                    f"{agg.method} of {len(inputs)} columns = {calc:.3f}",
                )
            )
    return out


def _delta_tolerance(*decimals: int) -> float:
    return sum(half_unit(d) for d in decimals)


def _published_deltas(table: PaperTable) -> list[Finding]:
    if table.baseline is None:
        return []
    base = table.row(table.baseline)
    out = []
    for row in table.rows:
        for col in table.score_columns:
            cell, bcell = row.cells[col.id], base.cells[col.id]
            if cell.delta is None or cell.value is None or bcell.value is None:
                continue
            calc = cell.value - bcell.value
            tol = _delta_tolerance(cell.decimals, bcell.decimals, table.decimals)
            out.append(
                _finding(
                    table,
                    "delta",
                    row,
                    col.label,
                    cell.delta,
                    calc,
                    tol,
                    f"{cell.value} − {bcell.value} ({base.model}) = {calc:+.3f}",
                )
            )
    return out


def _claim(table: PaperTable, chk: Mapping[str, Any]) -> list[Finding]:
    row, col = table.row(chk["row"]), table.column(chk["column"])
    value = row.value(col.id)
    text = f"prose: “{chk.get('text', '')}”"
    out = []
    if "value" in chk:
        calc = value if value is not None else float("nan")
        out.append(
            _finding(
                table,
                "claim",
                row,
                col.label,
                float(chk["value"]),
                calc,
                0.0,
                f"table prints {value}; {text}",
                status=None if value is not None else "skipped",
            )
        )
    if "delta" in chk:
        base = table.row(chk.get("baseline") or table.baseline or "")
        b = base.value(col.id)
        if value is None or b is None:
            out.append(
                _finding(
                    table,
                    "claim",
                    row,
                    col.label,
                    float(chk["delta"]),
                    None,
                    0.0,
                    "cannot recompute the delta: a value is not reported",
                    status="skipped",
                )
            )
        else:
            tol = _delta_tolerance(row.cells[col.id].decimals, base.cells[col.id].decimals, table.decimals)
            out.append(
                _finding(
                    table,
                    "claim",
                    row,
                    col.label,
                    float(chk["delta"]),
                    value - b,
                    tol,
                    f"delta vs {base.model}: {value} − {b} = {value - b:+.3f}; {text}",
                )
            )
    return out


def _equals(table: PaperTable, chk: Mapping[str, Any]) -> list[Finding]:
    other = (
        load_table(Path(table.path).with_name(f"{chk['table']}.yaml"))
        if table.path
        else load_table(chk["table"])
    )
    cols = chk["columns"]
    pairs = dict(cols) if isinstance(cols, dict) else {c: c for c in cols}
    row_map = dict(chk.get("rows") or {})
    out = []
    for row in table.rows:
        okey = row_map.get(row.key, row.key)
        if row_map and row.key not in row_map:
            continue
        if okey not in {r.key for r in other.rows}:
            continue
        orow = other.row(okey)
        for mine, theirs in pairs.items():
            a, b = row.cells[mine], orow.cells[other.column(theirs).id]
            if a.value is None and b.value is None:
                continue
            label = f"{table.column(mine).label} = {other.name}:{other.column(theirs).label}"
            if a.value is None or b.value is None:
                out.append(
                    _finding(
                        table,
                        "equals",
                        row,
                        label,
                        a.value,
                        b.value,
                        0.0,
                        f"reported in only one of the two tables ({orow.model})",
                        status="mismatch",
                    )
                )
                continue
            tol = 0.0 if a.decimals == b.decimals else half_unit(a.decimals) + half_unit(b.decimals)
            out.append(
                _finding(table, "equals", row, label, a.value, b.value, tol, f"{other.name} row {orow.model}")
            )
    return out


def _order(table: PaperTable, chk: Mapping[str, Any]) -> list[Finding]:
    cols = list(chk["columns"])
    labels = " ≥ ".join(table.column(c).label for c in cols)
    out = []
    for row in table.rows:
        vals = [(c, row.value(c)) for c in cols if row.value(c) is not None]
        bad = [(a, b) for (a, va), (b, vb) in zip(vals, vals[1:]) if vb > va + _EPS]  # type: ignore[operator]
        if len(vals) < 2:
            continue
        shown = ", ".join(f"{table.column(c).label} {v}" for c, v in vals)
        out.append(
            Finding(
                table.name,
                "order",
                row.key,
                row.model,
                labels,
                None,
                None,
                0.0,
                "mismatch" if bad else "ok",
                shown,
            )
        )
    return out
