"""Put a run's numbers in a paper table: map ``results.json`` per-task scores onto the table's columns.

A column is filled from a run whose ``benchmark`` matches the column's (or the table's) benchmark, so one row
can combine several runs of the same model (MVBench + VideoMME + PerceptionTest for the LLaVA-OV table).
A value the run does not have stays empty and is named in the row's notes, never guessed.
"""
from __future__ import annotations

import json
from pathlib import Path
from dataclasses import replace
from typing import Any, Mapping, Optional, Sequence

from .model import Cell, Column, PaperTable, Row, TableError


def read_results(path: str | Path) -> dict[str, Any]:
    """``results.json`` of a run directory (or the file itself), checked for the keys tables rely on."""
    p = Path(path)
    f = p / "results.json" if p.is_dir() else p
    if not f.is_file():
        raise TableError(f, ["no results.json here: pass a run directory of `tpo-eval run`, or its results.json"])
    try:
        doc = json.loads(f.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise TableError(f, [f"not valid JSON: {e}"]) from e
    missing = [k for k in ("benchmark", "tasks", "overall") if k not in doc]
    if missing:
        raise TableError(f, [f"results.json lacks {', '.join(missing)} (see docs/ARCHITECTURE.md, Run directory)"])
    return doc


def column_benchmark(table: PaperTable, col: Column) -> str:
    return col.benchmark or table.benchmark


def run_value(doc: Mapping[str, Any], col: Column, default_metric: str) -> tuple[Optional[float], str]:
    """The run's number for ``col`` and, when absent, why (e.g. ``"tasks.short['official/acc']"``)."""
    spec = dict(col.run)
    if not spec:
        spec = {"overall": "micro"} if col.aggregate is not None else {"task": col.id}
    metric = spec.get("metric") or default_metric or doc.get("primary", "")
    if "overall" in spec:
        agg = doc["overall"].get(spec["overall"], {})
        v = agg.get(metric) if isinstance(agg, dict) else None
        return (float(v), "") if v is not None else (None, f"overall.{spec['overall']}[{metric!r}]")
    tasks = doc["tasks"]
    if "tasks" in spec:
        names = list(spec["tasks"])
    elif spec["task"] in tasks or not col.parts:
        names = [spec["task"]]
    else:  # the paper task is stored split by source (MMIU): merge the parts
        names = list(col.parts)
    lacking = [n for n in names if metric not in tasks.get(n, {})]
    if lacking:
        return None, ", ".join(f"tasks.{n}[{metric!r}]" for n in lacking)
    if len(names) == 1:
        return float(tasks[names[0]][metric]), ""
    weights = [float(tasks[n].get("n_total", 0)) for n in names]
    if sum(weights) <= 0:
        return None, f"n_total of {', '.join(names)} (needed to merge them)"
    return sum(w * float(tasks[n][metric]) for w, n in zip(weights, names)) / sum(weights), ""


def partial_reason(doc: Mapping[str, Any]) -> str:
    """Why a run does not cover its whole benchmark, in words ("" when it does): ``--limit``, ``--subset``, a
    selection of tasks, or a re-score that left samples without a prediction (``--allow-partial``)."""
    sel = (doc.get("provenance") or {}).get("selection") or {}
    why = []
    if sel.get("limit") is not None:
        why.append(f"first {sel['limit']} samples per task")
    if sel.get("subset") is not None:
        why.append(f"subset of {sel['subset']} samples per task (seed {sel.get('subset_seed', 0)})")
    if sel.get("tasks"):
        why.append(f"{len(sel['tasks'])} selected task(s)")
    cov = doc.get("coverage") or {}
    if cov.get("n_missing"):
        why.append(f"{cov.get('n_predicted')} of {cov.get('n_selected')} samples predicted")
    return ", ".join(why)


def _vary(table: PaperTable, col: Column, default: str,
          variant: Optional[Mapping[str, Any]]) -> Optional[tuple[Column, str]]:
    """The column and default metric as ``variant`` reads them; None when the variant does not change it."""
    if variant is None:
        return col, default
    if variant.get("benchmark") not in (None, column_benchmark(table, col)):
        return None
    spec = dict(col.run) or ({"overall": "micro"} if col.aggregate is not None else {"task": col.id})
    before = (dict(spec), default)
    m, o = variant.get("metric"), variant.get("overall")
    if m:
        if spec.get("metric", "").startswith(m["from"]):
            spec["metric"] = m["to"] + spec["metric"][len(m["from"]):]
        if default.startswith(m["from"]):
            default = m["to"] + default[len(m["from"]):]
    if o and spec.get("overall") == o["from"]:
        spec["overall"] = o["to"]
    return None if (spec, default) == before else (replace(col, run=spec), default)


def run_rows(table: PaperTable, runs: Sequence[str | Path], label: str,
             metric: Optional[str] = None) -> list[Row]:
    """The run's row, then one row per ``run_variants`` entry of the table (e.g. Charades-STA's ``lenient``
    extractor beside ``official``, MMIU's ``macro_released`` overall beside the paper's)."""
    rows = [run_row(table, runs, label, metric)]
    for v in table.run_variants:
        row = run_row(table, runs, label, metric, v)
        # A variant for a benchmark these runs do not cover gives an empty row: leave it out.
        if row.notes or any(c.text for c in row.cells.values()):
            rows.append(row)
    return rows


def run_row(table: PaperTable, runs: Sequence[str | Path], label: str, metric: Optional[str] = None,
            variant: Optional[Mapping[str, Any]] = None) -> Row:
    """One row from one or more run directories of the same model (each fills its benchmark's columns); with a
    ``variant`` (see :func:`run_rows`), only the columns it changes are filled.

    A run over part of a benchmark marks the row ``partial`` (a footnote when rendered), and an aggregate
    column (Avg., Overall) whose inputs the runs do not all fill stays empty: an Avg. of 2 of 20 tasks is not
    the paper's Avg."""
    cells: dict[str, Cell] = {c.id: Cell(text="") for c in table.columns}
    notes: list[str] = []
    partial: list[str] = []
    for run in runs:
        doc = read_results(run)
        bench = doc["benchmark"]
        why = partial_reason(doc)
        if why:
            partial.append(f"{bench}: {why}" if len(runs) > 1 else why)
        cols = [c for c in table.score_columns if column_benchmark(table, c) == bench]
        if not cols:
            have = sorted({column_benchmark(table, c) for c in table.score_columns})
            raise TableError(run, [f"this is a {bench!r} run; table {table.name!r} has columns for {', '.join(have)}"])
        for col in cols:
            default = metric or (table.metric if not col.benchmark or col.benchmark == table.benchmark else "")
            varied = _vary(table, col, default, variant)
            if varied is None:
                continue
            v, why = run_value(doc, *varied)
            if v is None:
                notes.append(f"{col.label}: run lacks {why}")
                continue
            text = f"{v:.{table.decimals}f}"
            cells[col.id] = Cell(text=text, value=float(text))
    for col in table.score_columns:
        agg = col.aggregate
        if agg is None or cells[col.id].value is None:
            continue
        have = sum(cells[c].value is not None for c in agg.of)
        if have < len(agg.of):
            cells[col.id] = Cell(text="")
            partial.append(f"{col.label} not shown: {have} of {len(agg.of)} tasks")
    name = label if variant is None else f"{label} ({variant['name']})"
    return Row(key=f"run:{name}", model=name, cells=cells, notes="; ".join(notes),
               origin=", ".join(str(r) for r in runs), partial="; ".join(partial))


def parse_run_args(args: Sequence[str]) -> list[tuple[str, list[str]]]:
    """``["DIR", "label=DIR2", "label=DIR3"]`` → ``[("DIR", ["DIR"]), ("label", ["DIR2", "DIR3"])]``.

    A run without a label is named after its directory; runs sharing a label make one row.
    """
    grouped: dict[str, list[str]] = {}
    for a in args:
        label, sep, path = a.partition("=")
        if not sep or Path(a).exists():
            label, path = Path(a).name or a, a
        grouped.setdefault(label, []).append(path)
    return list(grouped.items())
