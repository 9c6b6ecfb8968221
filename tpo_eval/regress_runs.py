"""The gate's inputs: a run directory read into :class:`RunData`, and the check that two runs cover the same
samples.

Separate from ``regress.py`` because ``plots.py`` (the deltas plot) checks two runs' sample sets the same way
without any of the significance testing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from .records import PRED_GLOB, read_run_predictions


class RegressInputError(ValueError):
    """The two runs cannot be compared (missing files, other benchmark, different samples): exit code 2."""


@dataclass(frozen=True)
class RunData:
    """A run's results.json and, when present, its per-sample outcomes ``{metric key: {sample id:
    value}}``."""

    path: str
    results: dict[str, Any]
    task_of: Optional[dict[str, str]] = None
    outcomes: dict[str, dict[str, float]] = field(default_factory=dict)


def load_run(path: str | Path) -> RunData:
    """A run directory (results.json + predictions*.jsonl) or a results.json file (prediction files beside it
    are used when present)."""
    p = Path(path)
    res = p / "results.json" if p.is_dir() else p
    if not res.is_file():
        raise RegressInputError(f"{path}: no results.json (pass a run directory or a results.json file)")
    try:
        results = json.loads(res.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise RegressInputError(f"{res}: not valid JSON ({e})") from e
    for k in ("benchmark", "tasks", "overall"):
        if k not in results:
            raise RegressInputError(
                f"{res}: results.json lacks {k!r} (see docs/ARCHITECTURE.md, Run directory)"
            )
    if not any(res.parent.glob(PRED_GLOB)):
        return RunData(str(path), results)
    try:
        rows = read_run_predictions(res.parent)  # every shard's file; a torn last line is dropped
    except ValueError as e:
        raise RegressInputError(str(e)) from e
    task_of: dict[str, str] = {}
    outcomes: dict[str, dict[str, float]] = {}
    for n, row in enumerate(rows, start=1):
        if not isinstance(row, dict) or "id" not in row or "task" not in row:
            raise RegressInputError(f"{res.parent}: prediction row {n} has no id/task: {str(row)[:80]}")
        sid = str(row["id"])
        task_of[sid] = str(row["task"])  # a repeated id: the last row wins, as in the run itself
        for label, metrics in (row.get("scores") or {}).items():
            for m, v in (metrics or {}).items():
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    outcomes.setdefault(f"{label}/{m}", {})[sid] = float(v)
    return RunData(str(path), results, task_of, outcomes)


def check_same_samples(cand: RunData, base: RunData) -> str:
    """Refuse different benchmarks or sample sets; return a one-line description of what was checked."""
    cr, br = cand.results, base.results
    if cr["benchmark"] != br["benchmark"]:
        raise RegressInputError(
            f"benchmarks differ: candidate is {cr['benchmark']!r}, baseline {br['benchmark']!r}"
        )
    if cand.task_of is not None and base.task_of is not None and set(cand.task_of) != set(base.task_of):
        only_c, only_b = set(cand.task_of) - set(base.task_of), set(base.task_of) - set(cand.task_of)
        raise RegressInputError(
            f"different sample sets: {len(only_c)} id(s) only in the candidate (e.g. {sorted(only_c)[:3]}), "
            f"{len(only_b)} only in the baseline (e.g. {sorted(only_b)[:3]}); run both with the same "
            "--subset N"
        )
    hc, hb = cr.get("sample_ids_sha256"), br.get("sample_ids_sha256")
    if hc and hb and hc != hb:
        raise RegressInputError(
            f"different sample sets: sample_ids_sha256 {hc[:12]}… ({cr['overall'].get('n_total')} samples) "
            f"vs {hb[:12]}… ({br['overall'].get('n_total')} samples); run both with the same --subset N"
        )
    counts_c = {t: v.get("n_total") for t, v in cr["tasks"].items()}
    counts_b = {t: v.get("n_total") for t, v in br["tasks"].items()}
    if counts_c != counts_b:
        diff = sorted(t for t in set(counts_c) | set(counts_b) if counts_c.get(t) != counts_b.get(t))
        raise RegressInputError(
            f"different sample sets: per-task counts differ for {', '.join(diff[:5])} (candidate "
            f"{[counts_c.get(t) for t in diff[:5]]}, baseline {[counts_b.get(t) for t in diff[:5]]})"
        )
    if hc and hb:
        return f"identical (sample_ids_sha256 {hc[:12]}…)"
    if cand.task_of is not None and base.task_of is not None:
        return f"identical ids in both predictions.jsonl ({len(cand.task_of)} samples)"
    return "same per-task counts (ids not verifiable: a sample_ids_sha256 or predictions.jsonl is missing)"
