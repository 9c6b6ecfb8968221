"""Published tables as data: ``results/paper/<name>.yaml`` (what the columns are) + ``<name>.csv`` (the
numbers).

A cell keeps the text exactly as printed (``"66.8 (+6.4)"`` → value 66.8, published delta +6.4, 1 decimal), so
that ``verify`` knows each number's printed precision and the renderer reprints published numbers unchanged.
Every problem in a table's two files is collected and raised once in a :class:`TableError`.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Optional

from ..io import ConfigError
from ..resources import data_dir
from .schema import Aggregate, Column, parse_meta  # noqa: F401 - Aggregate, Column: public here too

PAPER_DIR = data_dir("paper")  # results/paper in a checkout, package data when installed
MISSING = ("", "–", "-", "—")
_NUMBER = re.compile(r"^([+-]?\d+(?:\.\d+)?)(?:\s*\(\s*([+-]?\d+(?:\.\d+)?)\s*%?\s*\))?$")


# A malformed table (or a run mapped onto it) is a config problem like any other: one error type, whose
# message names the file and lists every problem.
TableError = ConfigError


@dataclass(frozen=True)
class Cell:
    text: str
    value: Optional[float] = None
    delta: Optional[float] = None  # a published "(+x.x)"

    @property
    def decimals(self) -> int:
        """Digits after the point as printed (``"38.50"`` → 2); 0 for integers and text."""
        m = _NUMBER.match(self.text.strip())
        return len(m.group(1).partition(".")[2]) if m else 0


@dataclass(frozen=True)
class Row:
    key: str
    model: str
    cells: Mapping[str, Cell]
    cite: str = ""
    notes: str = ""
    origin: str = "paper"  # "paper", or the run directories the row was read from
    partial: str = ""  # why a run row does not cover the whole benchmark ("" = it does): a footnote
    checkpoint: Optional[Mapping[str, Any]] = None  # a published row: the released weights it came from
    reproduces: str = ""  # a run row: key of the published row whose checkpoint the run evaluated

    def value(self, col: str) -> Optional[float]:
        c = self.cells.get(col)
        return c.value if c is not None else None


@dataclass(frozen=True)
class PaperTable:
    name: str
    title: str
    caption: str
    label: str
    source: Mapping[str, str]
    benchmark: str
    metric: str
    decimals: int
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]
    baseline: Optional[str] = None  # row key the paper's deltas are against
    show_deltas: bool = False  # the paper prints those deltas in its cells
    panels: tuple[tuple[str, ...], ...] = ()
    checks: tuple[Mapping[str, Any], ...] = ()
    notes: str = ""
    model_label: str = "Model"
    run_variants: tuple[Mapping[str, Any], ...] = ()  # extra rows per run (schema._run_variants)
    checkpoints: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    path: str = ""

    @property
    def score_columns(self) -> list[Column]:
        return [c for c in self.columns if c.kind == "score"]

    def column(self, cid: str) -> Column:
        for c in self.columns:
            if c.id == cid:
                return c
        raise KeyError(
            f"table {self.name!r} has no column {cid!r}; columns: {', '.join(c.id for c in self.columns)}"
        )

    def row(self, key: str) -> Row:
        for r in self.rows:
            if r.key == key:
                return r
        raise KeyError(f"table {self.name!r} has no row {key!r}; rows: {', '.join(r.key for r in self.rows)}")

    def with_rows(self, extra: list[Row]) -> PaperTable:
        """Run rows go at the end; a reproduction goes right below the published row it repeats."""
        rows = list(self.rows)
        for r in extra:
            at = next((i for i, p in enumerate(rows) if r.reproduces and p.key == r.reproduces), None)
            if at is None:
                rows.append(r)
            else:
                while at + 1 < len(rows) and rows[at + 1].reproduces == r.reproduces:
                    at += 1
                rows.insert(at + 1, r)
        return replace(self, rows=tuple(rows))


def list_tables(directory: Path = PAPER_DIR) -> list[str]:
    """Names of the shipped tables (every ``*.yaml`` under ``results/paper`` but ``errata.yaml``)."""
    return sorted(p.stem for p in directory.glob("*.yaml") if p.stem != "errata")


def load_table(name_or_path: str | Path, directory: Path = PAPER_DIR) -> PaperTable:
    """Load a table by name (``mvbench``) or by the path of its YAML; the CSV sits beside it."""
    p = Path(name_or_path)
    yaml_path = p if p.suffix in (".yaml", ".yml") else directory / f"{p.name}.yaml"
    if not yaml_path.is_file():
        known = ", ".join(list_tables(directory)) or "(none)"
        raise TableError(yaml_path, [f"no such table {str(name_or_path)!r}; shipped tables: {known}"])
    meta, errors = parse_meta(yaml_path)
    csv_path = yaml_path.with_suffix(".csv")
    rows: list[Row] = []
    if not csv_path.is_file():
        errors.append(f"the numbers file {csv_path.name} is missing (it must sit beside the YAML)")
    elif meta is not None:
        rows = _read_rows(csv_path, meta["columns"], errors)
    if meta is not None:
        _cross_check(meta, rows, errors)
    if errors or meta is None:
        raise TableError(yaml_path, errors)
    rows = [replace(r, checkpoint=meta["checkpoints"].get(r.key)) for r in rows]
    return PaperTable(rows=tuple(rows), path=str(yaml_path), **meta)


def parse_cell(text: str, kind: str = "score") -> Cell:
    """``"66.8 (+6.4)"`` → Cell(value=66.8, delta=6.4); ``"–"`` → no value. Raises ValueError on junk."""
    t = text.strip()
    if kind == "info" or t in MISSING:
        return Cell(text=t)
    m = _NUMBER.match(t)
    if not m:
        raise ValueError(f"{text!r} is not a number, a number with a '(+x.x)' delta, or '–' for not reported")
    return Cell(text=t, value=float(m.group(1)), delta=float(m.group(2)) if m.group(2) else None)


def _read_rows(csv_path: Path, columns: tuple[Column, ...], errors: list[str]) -> list[Row]:
    with open(csv_path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        header = reader.fieldnames or []
        known = {c.id: c for c in columns}
        fixed = {"key", "model", "cite", "notes"}
        for need in ("key", "model"):
            if need not in header:
                errors.append(f"{csv_path.name}: header lacks the {need!r} column")
        for h in header:
            if h not in fixed and h not in known:
                errors.append(f"{csv_path.name}: column {h!r} is not declared in the YAML")
        for c in columns:
            if c.id not in header:
                errors.append(f"{csv_path.name}: declared column {c.id!r} has no CSV column")
        rows, seen = [], set()
        for line_no, raw in enumerate(reader, start=2):
            key = (raw.get("key") or "").strip()
            if not key or key in seen:
                errors.append(f"{csv_path.name}:{line_no}: row key {key!r} is empty or repeated")
            seen.add(key)
            cells = {}
            for c in columns:
                try:
                    cells[c.id] = parse_cell(raw.get(c.id) or "", c.kind)
                except ValueError as e:
                    errors.append(f"{csv_path.name}:{line_no} row {key!r} column {c.id!r}: {e}")
            rows.append(
                Row(
                    key=key,
                    model=(raw.get("model") or "").strip(),
                    cells=cells,
                    cite=(raw.get("cite") or "").strip(),
                    notes=(raw.get("notes") or "").strip(),
                )
            )
    return rows


def _cross_check(meta: Mapping[str, Any], rows: list[Row], errors: list[str]) -> None:
    keys = {r.key for r in rows}
    if meta.get("baseline") and rows and meta["baseline"] not in keys:
        errors.append(
            f"baseline row {meta['baseline']!r} is not a row of the CSV (rows: {', '.join(sorted(keys))})"
        )
    for k in meta.get("checkpoints", {}):
        if rows and k not in keys:
            errors.append(f"checkpoints names row {k!r}, which is not in the CSV")
    for chk in meta.get("checks", ()):
        for k in [chk.get("row"), chk.get("baseline"), *dict(chk.get("rows") or {})]:
            if k and rows and k not in keys:
                errors.append(f"check {chk.get('type')!r} names row {k!r}, which is not in the CSV")
