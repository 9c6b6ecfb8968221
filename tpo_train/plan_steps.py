"""Optimiser steps per task head: the paper's per-task schedules next to this config's one interleaved run.

Why: stage 2 of the paper trains each head on its own schedule (temporal 116.5K × 25 epochs at batch 64,
region
540K × 1 at 128, mask 114.6K × 3 at 128; seed Tables 5–6), while a config here mixes every task into one run
with one global batch. A head is updated at every step whose batch holds at least one of its examples, so the
interleaved run gives the heads different step counts (and batch sizes) than the paper's. ``tpo-train plan``
prints both, computed on the paper's data volumes (the data files are not needed).

Interleaved run, per task t with ``n_t`` examples × its source weight ``w_t`` (passes) × ``train.epochs``:
``steps = ceil(Σ_t n_t·w_t·epochs / B)``; share ``p_t`` = its fraction of the examples; expected head updates
``steps · (1 − (1 − p_t)^B)`` (a batch draws B examples), ``p_t·B`` of its examples per update.
"""

from __future__ import annotations

import math
from typing import Any

from .data.readers import READER_TASKS as FORMAT_TASK

# : Paper data volumes per task (seed Table 6) and, for stage 2, the per-task (epochs, batch) of Table 5 / the
# text.
PAPER_EXAMPLES = {
    "stage2": {"temporal": 116_500, "region": 540_000, "mask": 114_600},
    "stage3_tasks": {"temporal": 7_500, "region": 400_000, "mask": 116_500, "conversation": 40_000},
    "stage3": {"temporal": 7_500, "region": 400_000, "mask": 116_500, "conversation": 3_040_000},
}
PAPER_SCHEDULE = {"stage2": {"temporal": (25, 64), "region": (1, 128), "mask": (3, 128)}}
#: Sources whose published size stands in for the task volume when a task's sources are all listed here (the
#: Only-QVHighlights ablation: its stage-2 temporal data is QVHighlights' 7.5K, not the six-dataset 116.5K).
PAPER_SOURCE_EXAMPLES = {"qvhighlights": 7_500}


def _task_weights(cfg: Any) -> dict[str, float]:
    """Per task the mean source weight (passes per epoch) of the config's sources of that task (``samples``
    sources count as one pass)."""
    by_task: dict[str, list[float]] = {}
    for src in cfg.data.sources.values():
        by_task.setdefault(FORMAT_TASK.get(src.format, src.format), []).append(
            float(src.weight if src.weight is not None else 1)
        )
    return {t: sum(w) / len(w) for t, w in by_task.items()}


def head_steps(cfg: Any) -> dict[str, Any]:
    """``{"interleaved": {task: {...}}, "paper": {task: {...}} | None, "total_steps": int}`` on the paper's
    data volumes for ``cfg.stage`` (empty when the stage has no published volumes, e.g. stage 1)."""
    volumes = PAPER_EXAMPLES.get(cfg.stage)
    if not volumes:
        return {}
    weights = _task_weights(cfg)
    volumes = dict(volumes)
    for t in weights:
        names = [k for k, src in cfg.data.sources.items() if FORMAT_TASK.get(src.format, src.format) == t]
        if names and all(k in PAPER_SOURCE_EXAMPLES for k in names):
            volumes[t] = sum(PAPER_SOURCE_EXAMPLES[k] for k in names)
    b = int(cfg.train.batch_size)
    n = {t: volumes[t] * weights[t] * cfg.train.epochs for t in volumes if t in weights}
    total = sum(n.values())
    steps = math.ceil(total / b)
    heads = set(cfg.model.heads)
    inter = {
        t: {
            "examples": int(round(x)),
            "share": x / total,
            "updates": int(round(steps * (1 - (1 - x / total) ** b))) if t in heads else 0,
            "examples_per_update": x / total * b,
        }
        for t, x in n.items()
    }
    paper = None
    if cfg.stage in PAPER_SCHEDULE:
        paper = {
            t: {
                "examples": volumes[t] * ep,
                "epochs": ep,
                "batch": pb,
                "updates": math.ceil(volumes[t] * ep / pb),
            }
            for t, (ep, pb) in PAPER_SCHEDULE[cfg.stage].items()
        }
    return {"total_steps": steps, "batch": b, "interleaved": inter, "paper": paper}


def format_head_steps(hs: dict[str, Any]) -> list[str]:
    if not hs:
        return []
    lines = [
        f"head updates on the paper's data volumes: one interleaved run of {hs['total_steps']} steps at "
        "batch "
        f"{hs['batch']}" + ("; paper: one schedule per task" if hs["paper"] else "")
    ]
    for t, r in hs["interleaved"].items():
        p = (hs["paper"] or {}).get(t)
        paper = (
            f"  | paper {p['updates']} updates at batch {p['batch']} ({p['epochs']} epoch(s))" if p else ""
        )
        lines.append(
            f"  {t:<13}{r['updates']:>9} updates, {r['examples_per_update']:6.1f} of its examples each{paper}"
        )
    return lines


__all__ = ["PAPER_EXAMPLES", "PAPER_SCHEDULE", "head_steps", "format_head_steps"]
