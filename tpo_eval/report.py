"""Console rendering of a results document (the per-task table printed at the end of a run)."""
from __future__ import annotations

from typing import Any, Mapping

from tabulate import tabulate


def results_table(doc: Mapping[str, Any]) -> str:
    metrics = list(doc["metrics"])
    labels = list(doc["extractors"])
    head = ["task", "n"] + metrics + [f"parsed/{lb}" for lb in labels] + ["failed"]
    rows = []
    for task, r in doc["tasks"].items():
        rows.append([task, r["n_total"]] + [_fmt(r.get(m)) for m in metrics]
                    + [r.get("n_parsed", {}).get(lb, "") for lb in labels] + [r.get("n_failed", 0)])
    ov = doc["overall"]
    for agg in doc.get("aggregation", []):
        if agg in ov:
            rows.append([f"OVERALL ({agg})", ov["n_total"]] + [_fmt(ov[agg].get(m)) for m in metrics]
                        + [ov.get("n_parsed", {}).get(lb, "") for lb in labels] + [ov.get("n_failed", 0)])
    return tabulate(rows, headers=head, tablefmt="simple", disable_numparse=True)


def _fmt(v: Any) -> str:
    return "" if v is None else f"{v:.2f}" if isinstance(v, float) else str(v)
