"""Synthetic run directories in the documented schema (docs/ARCHITECTURE.md, "Run directory").

The runner that writes real ones (tpo_eval/records.py) is someone else's module; these tests build the two
files by hand from per-sample outcomes so the numbers in results.json are exactly the outcomes' means.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Optional


def write_run(
    path: Path,
    outcomes: Mapping[str, Mapping[str, Sequence[float]]],
    benchmark: str = "mvbench",
    primary: Optional[str] = None,
    predictions: bool = True,
    ids: Optional[Mapping[str, Sequence[str]]] = None,
    rows_extra: Optional[Mapping[str, Mapping[str, Any]]] = None,
) -> Path:
    """``outcomes[metric_key][task]`` = per-sample values; sample ids are ``<task>/<i>`` unless ``ids``
    says."""
    path.mkdir(parents=True, exist_ok=True)
    keys = list(outcomes)
    tasks = list(next(iter(outcomes.values())))
    ids = ids or {t: [f"{t}/{i}" for i in range(len(outcomes[keys[0]][t]))] for t in tasks}
    doc: dict[str, Any] = {
        "schema_version": 1,
        "benchmark": benchmark,
        "benchmark_version": "1",
        "family": "mcq",
        "extractors": {k.split("/")[0]: "x" for k in keys},
        "primary": primary or keys[0],
        "metrics": keys,
        "tasks": {},
        "overall": {"micro": {}, "macro": {}},
    }
    for t in tasks:
        n = len(ids[t])
        doc["tasks"][t] = {"n_total": n, "n_failed": 0, "n_parsed": {k.split("/")[0]: n for k in keys}}
        for k in keys:
            doc["tasks"][t][k] = 100.0 * sum(outcomes[k][t]) / n
    all_ids = sorted(i for t in tasks for i in ids[t])
    for k in keys:
        vals = [v for t in tasks for v in outcomes[k][t]]
        doc["overall"]["micro"][k] = 100.0 * sum(vals) / len(vals)
        doc["overall"]["macro"][k] = sum(doc["tasks"][t][k] for t in tasks) / len(tasks)
    doc["overall"].update(n_total=len(all_ids), n_failed=0)
    doc["sample_ids_sha256"] = hashlib.sha256("\n".join(all_ids).encode()).hexdigest()
    (path / "results.json").write_text(json.dumps(doc, indent=1))
    if predictions:
        with open(path / "predictions.jsonl", "w") as f:
            for t in tasks:
                for n, sid in enumerate(ids[t]):
                    scores: dict[str, dict[str, float]] = {}
                    for k in keys:
                        label, metric = k.split("/")
                        scores.setdefault(label, {})[metric] = outcomes[k][t][n]
                    row = {
                        "id": sid,
                        "task": t,
                        "settings": "s0",
                        "prompt_hash": "p0",
                        "output": "",
                        "windows": None,
                        "saliency": None,
                        "error": None,
                        "answers": {},
                        "parsed": {},
                        "scores": scores,
                        **(rows_extra or {}).get(sid, {}),
                    }
                    f.write(json.dumps(row) + "\n")
    return path
