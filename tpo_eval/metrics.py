"""Aggregation of per-sample scores into the results document.

Micro = mean over all samples; macro = mean of per-task means. Both are computed only when the benchmark
declares
them, and both name themselves in ``results.json``. Values are percentages. Failed and unparsed samples are in
every denominator (they score 0), and the counts say how many there were.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .config import BenchmarkConfig
from .types import Sample, SampleScore


def aggregate_means(
    cfg: BenchmarkConfig,
    samples: Sequence[Sample],
    scores: Mapping[str, Sequence[SampleScore]],
    metric_names: Sequence[str],
) -> dict[str, Any]:
    """Per-task and overall means (percent) of every ``<extractor>/<metric>``, with counts."""
    task_order = [t.name for t in cfg.tasks if any(s.task == t.name for s in samples)]
    n_total: dict[str, int] = defaultdict(int)
    for s in samples:
        n_total[s.task] += 1
    tasks: dict[str, dict[str, Any]] = {
        t: {"n_total": n_total[t], "n_failed": 0, "n_parsed": {}} for t in task_order
    }
    overall: dict[str, Any] = {a: {} for a in cfg.aggregation}
    for label, rows in scores.items():
        by_task: dict[str, list[SampleScore]] = defaultdict(list)
        for r in rows:
            by_task[r.task].append(r)
        for t in task_order:
            rs = by_task.get(t, [])
            tasks[t]["n_parsed"][label] = sum(r.parsed for r in rs)
            tasks[t]["n_failed"] = sum(r.failed for r in rs)
            for m in metric_names:
                tasks[t][f"{label}/{m}"] = _mean_pct([r.values.get(m, 0.0) for r in rs])
        for m in metric_names:
            key = f"{label}/{m}"
            if "micro" in overall:
                overall["micro"][key] = _mean_pct([r.values.get(m, 0.0) for r in rows])
            if "macro" in overall:
                overall["macro"][key] = (
                    float(np.mean([tasks[t][key] for t in task_order])) if task_order else 0.0
                )
    overall["n_total"] = len(samples)
    overall["n_failed"] = sum(tasks[t]["n_failed"] for t in task_order)
    overall["n_parsed"] = {
        label: sum(tasks[t]["n_parsed"].get(label, 0) for t in task_order) for label in scores
    }
    return {"tasks": tasks, "overall": overall}


def _mean_pct(values: Sequence[float]) -> float:
    return float(np.mean(values) * 100.0) if len(values) else 0.0
