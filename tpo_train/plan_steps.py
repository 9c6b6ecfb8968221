"""A config's data and optimiser steps next to the paper's (seed Tables 5–6, ``tpo_train/paper_recipe.yaml``).

Why: the paper gives samples per task and stage (Table 6) and batch / epochs per stage (Table 5), and stage 2
runs one schedule per task (temporal 116.5K × 25 epochs at batch 64, region 540K × 1 at 128, mask 114.6K × 3
at 128). A config here is one mixed run with one global batch, or one per-task run (``stage2_temporal`` …,
chained by ``stage2_per_task``). ``tpo-train plan`` prints, per Table-6 row, the paper's samples, schedule and
steps beside this config's, on the paper's data volumes (no data files needed), and per source the count on
disk when the files are there.

Steps. Paper: the released arguments are HF ``TrainingArguments`` (an epoch's last partial batch is kept), so
a schedule takes ``epochs · ceil(samples / batch)`` optimiser steps. This config: ``data.mixture.StepPlan``
drops each epoch's incomplete last batch, ``epochs · floor(per_epoch / batch)``. A head is updated at every
step whose batch holds one of its examples: with share ``p`` of the mixture, that is
``steps · (1 − (1 − p)^B)`` expected updates, ``p·B`` of its examples each.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path
from typing import Any, Optional

import yaml

from .tasks.base import reader_tasks

RECIPE = Path(__file__).with_name("paper_recipe.yaml")


@functools.lru_cache(maxsize=1)
def paper_recipe() -> dict[str, Any]:
    return yaml.safe_load(RECIPE.read_text())


def paper_steps(samples: int, epochs: int, batch: int) -> int:
    """Optimiser steps of an HF Trainer schedule (the released arguments): the last partial batch is kept."""
    return epochs * math.ceil(samples / batch)


def run_steps(per_epoch: int, epochs: int, batch: int) -> int:
    """Optimiser steps of this trainer (``StepPlan``): each epoch's incomplete last batch is dropped."""
    return epochs * (per_epoch // batch)


def _rows_of_sources(cfg: Any, rows: list[dict]) -> dict[str, Optional[int]]:
    """Source → index of its Table-6 row: the row naming it, else the first row of its task, else None."""
    out: dict[str, Optional[int]] = {}
    for name, src in cfg.data.sources.items():
        task = reader_tasks().get(src.format, src.format)
        named = [i for i, r in enumerate(rows) if name in r["sources"] + r.get("extra_sources", [])]
        by_task = [i for i, r in enumerate(rows) if r["task"] == task]
        out[name] = (named or by_task or [None])[0]
    return out


def _row_volume(row: dict, names: list[str]) -> tuple[Optional[int], str]:
    """(the row's samples on the paper's volumes for these config sources, where the number comes from)."""
    published = paper_recipe().get("published_sizes", {})
    if any(n in row["sources"] for n in names):
        return row["samples"], row["from"]
    if names and all(n in published for n in names):
        return sum(published[n]["samples"] for n in names), "; ".join(published[n]["from"] for n in names)
    return None, "not published"


def stage_plan(cfg: Any) -> dict[str, Any]:
    """Per Table-6 row of ``cfg.stage``: the paper's samples / schedule / steps and this config's, the stage's
    steps both ways, and per head the updates; ``{}`` for a stage the recipe does not list."""
    stage = paper_recipe()["stages"].get(cfg.stage)
    if stage is None:
        return {}
    rows, b, epochs = stage["rows"], int(cfg.train.batch_size), int(cfg.train.epochs)
    where = _rows_of_sources(cfg, rows)
    out_rows, per_epoch_total = [], 0.0
    for i, row in enumerate(
        rows + [{"row": "(no Table-6 row)", "task": None, "sources": [], "samples": None}]
    ):
        names = sorted(n for n, k in where.items() if k == (i if i < len(rows) else None))
        if i == len(rows) and not names:
            continue
        main = [n for n in names if n not in row.get("extra_sources", [])]
        extra = [n for n in names if n in row.get("extra_sources", [])]
        volume, vol_from = _row_volume(row, main) if main else (None, "no source in this config")
        srcs = [cfg.data.sources[n] for n in main]
        if srcs and all(s.samples is not None for s in srcs):  # exact counts (stage 1): the volume is theirs
            per_epoch: Optional[float] = float(sum(s.samples for s in srcs))
        elif volume is not None:
            kept = min(volume, cfg.data.subsample.get(row["task"], volume))
            per_epoch = kept * sum(s.weight for s in srcs) / len(srcs)  # the mean weight: passes per epoch
        else:
            per_epoch = None
        per_epoch_total += per_epoch or 0.0
        paper = None
        if row.get("samples") is not None:
            ep, pb = row.get("epochs", stage["table5"]["epochs"]), row.get("batch", stage["table5"]["batch"])
            own = isinstance(pb, int) and "batch" in row  # a per-task schedule (stage 2)
            paper = {
                "samples": row["samples"],
                "datasets": row["datasets"],
                "epochs": ep,
                "batch": pb,
                "steps": paper_steps(row["samples"], ep, pb) if own else None,
                "from": row["from"],
            }
        out_rows.append(
            {
                "row": row["row"],
                "task": row["task"],
                "paper": paper,
                "config": {
                    "sources": main,
                    "extra_sources": extra,
                    "samples": volume,
                    "samples_from": vol_from,
                    "subsample": cfg.data.subsample.get(row["task"]),
                    "per_epoch": None if per_epoch is None else int(round(per_epoch)),
                },
            }
        )
    total = int(round(per_epoch_total))
    steps = run_steps(total, epochs, b)
    for r in out_rows:
        n = r["config"]["per_epoch"]
        share = n / total if n and total else 0.0
        r["config"]["share"] = share
        r["config"]["examples_per_update"] = share * b
        r["config"]["head_updates"] = (
            int(round(steps * (1 - (1 - share) ** b))) if r["task"] in cfg.model.heads else 0
        )
    # per-task schedules (stage 2): the paper's steps of the rows this config trains; else the whole stage's
    covered = [r["paper"] for r in out_rows if r["paper"] is not None and r["config"]["sources"]]
    per_task = any(r["paper"] is not None and r["paper"]["steps"] is not None for r in out_rows)
    t5 = stage["table5"]
    paper_total = (
        sum(p["steps"] for p in covered)
        if per_task
        else paper_steps(sum(r["samples"] for r in rows), t5["epochs"], t5["batch"])
    )
    o, ref = cfg.optim, paper_recipe()["optimizer"]
    optimizer = {
        "config": {"eps": o.eps, "min_lr_ratio": o.min_lr_ratio, "warmup_ratio": o.warmup_ratio},
        "paper": {k: ref[k] for k in ("adam_epsilon", "min_lr_ratio", "warmup_ratio")},
    }
    optimizer["config"].update(weight_decay=o.weight_decay, betas=list(o.betas), grad_clip=o.grad_clip)
    optimizer["paper"].update(
        weight_decay=ref["weight_decay"], betas=ref["adam_betas"], grad_clip=ref["max_grad_norm"]
    )
    return {
        "optimizer": optimizer,
        "paper_stage": cfg.stage,
        "paper_table5": t5,
        "paper_schedule": "one run per task" if per_task else "one run",
        "rows": out_rows,
        "config": {"batch": b, "epochs": epochs, "per_epoch": total, "steps": steps},
        "paper_steps": paper_total,
    }


def source_counts(cfg: Any) -> dict[str, dict[str, Any]]:
    """Per source: its task and Table-6 row, weight / samples, and — when its file is under ``data.root`` —
    the examples on disk, after ``data.subsample`` (the exact draw) and per epoch. Reads the annotation files
    (not the media); absent files give ``None``."""
    from .data.sources import is_unbuilt, read_cached, resolve
    from .data.subsample import per_source_counts

    stage = paper_recipe()["stages"].get(cfg.stage)
    rows = stage["rows"] if stage else []
    where = _rows_of_sources(cfg, rows) if rows else {}
    d = cfg.data
    on_disk: dict[str, Optional[int]] = {}
    for name, src in sorted(d.sources.items()):
        path = None if is_unbuilt(d.root) else resolve(d.root, src.path, build=False)
        # the training run's Arrow cache (same media string, so the same entry): counted, not held in memory
        media = str(resolve(d.root, src.media, build=False)) if src.media else ""
        on_disk[name] = (
            len(read_cached(src.format, path, name, media).examples) if path and path.exists() else None
        )
    tasks = {n: reader_tasks().get(s.format, s.format) for n, s in d.sources.items()}
    kept = dict(on_disk)
    for task, total in d.subsample.items():
        names = [n for n in on_disk if tasks[n] == task]
        if names and all(on_disk[n] is not None for n in names):
            kept.update(per_source_counts({n: on_disk[n] for n in names}, total, d.seed, task))
    out = {}
    for name, src in sorted(d.sources.items()):
        k = kept[name]
        per_epoch = (
            src.samples if src.samples is not None else (None if k is None else int(round(src.weight * k)))
        )
        out[name] = {
            "task": tasks[name],
            "row": rows[where[name]]["row"] if where.get(name) is not None else None,
            "weight": src.weight,
            "samples": src.samples,
            "on_disk": on_disk[name],
            "after_subsample": k if tasks[name] in d.subsample else None,
            "per_epoch": per_epoch,
        }
    return out


def format_stage_plan(sp: dict[str, Any]) -> list[str]:
    if not sp:
        return []
    c, t5 = sp["config"], sp["paper_table5"]
    c_o, p_o = sp["optimizer"]["config"], sp["optimizer"]["paper"]
    lines = [
        f"vs the paper ({sp['paper_stage']}; Table 5 batch {t5['batch']}, epochs {t5['epochs']}; "
        f"{sp['paper_schedule']}): this config {c['steps']} steps ({c['per_epoch']} examples/epoch × "
        f"{c['epochs']} at batch {c['batch']}), paper {sp['paper_steps']} steps",
        f"  optimiser: eps {c_o['eps']:g} / min LR ratio {c_o['min_lr_ratio']:g} / warm-up "
        f"{c_o['warmup_ratio']:g} (paper: released args eps {p_o['adam_epsilon']:g}, min_lr_ratio "
        f"{p_o['min_lr_ratio']:g}; Table 5 warm-up {p_o['warmup_ratio']:g})",
        f"  {'Table-6 row':<20}{'paper':>10}{'config':>10}{'per epoch':>11}{'head upd.':>11}  paper schedule",
    ]
    for r in sp["rows"]:
        p, k = r["paper"], r["config"]
        sched = f"{p['steps']} steps ({p['epochs']} ep at {p['batch']})" if p and p["steps"] else ""
        sub = f" (subsample {k['subsample']})" if k["subsample"] else ""
        lines.append(
            f"  {r['row']:<20}{_k(p and p['samples']):>10}{_k(k['samples']):>10}{_k(k['per_epoch']):>11}"
            f"{k['head_updates']:>11}  {sched}{sub}  sources: {', '.join(k['sources']) or '-'}"
            + (f" + {', '.join(k['extra_sources'])} (size not published)" if k["extra_sources"] else "")
        )
    return lines


def _k(x: Optional[float]) -> str:
    return "-" if x is None else f"{x / 1000:g}K" if x >= 1000 else str(x)


__all__ = ["RECIPE", "paper_recipe", "paper_steps", "run_steps", "stage_plan", "format_stage_plan"]
