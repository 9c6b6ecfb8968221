"""Console rendering of a results document (the per-task table printed at the end of a run).

Documents with ``n_excluded`` counts (official scorers that leave samples out of their denominator) get an
``excluded/<label>`` column per extractor; documents with a ``breakdown`` get one more table per breakdown
key."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tabulate import tabulate


def results_table(doc: Mapping[str, Any]) -> str:
    metrics = list(doc["metrics"])
    labels = list(doc["extractors"])
    ov = doc["overall"]
    excluded = "n_excluded" in ov
    head = (
        ["task", "n"]
        + metrics
        + [f"parsed/{lb}" for lb in labels]
        + ([f"excluded/{lb}" for lb in labels] if excluded else [])
        + ["failed"]
    )

    def row(name: str, r: Mapping[str, Any], values: Mapping[str, Any]) -> list[Any]:
        return (
            [name, r["n_total"]]
            + [_fmt(values.get(m)) for m in metrics]
            + [r.get("n_parsed", {}).get(lb, "") for lb in labels]
            + ([r.get("n_excluded", {}).get(lb, "") for lb in labels] if excluded else [])
            + [r.get("n_failed", 0)]
        )

    rows = [row(task, r, r) for task, r in doc["tasks"].items()]
    for agg in doc.get("aggregation", []):
        if agg in ov:
            rows.append(row(f"OVERALL ({agg})", ov, ov[agg]))
    out = [tabulate(rows, headers=head, tablefmt="simple", disable_numparse=True)]
    for key, groups in (doc.get("breakdown") or {}).items():
        out.append(
            tabulate(
                [row(g, r, r) for g, r in groups.items()],
                headers=[key] + head[1:],
                tablefmt="simple",
                disable_numparse=True,
            )
        )
    return "\n\n".join(out)


def _fmt(v: Any) -> str:
    return "" if v is None else f"{v:.2f}" if isinstance(v, float) else str(v)
