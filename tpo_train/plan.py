"""``tpo-train plan``: the real-size model built on the meta device (no weights, no memory), and per Table-5
group its parameter count, whether it trains, its peak LR and weight decay — the table to check before
spending
GPU hours. Works for a preset (``llava-ov-7b``: published architecture numbers) or a local checkpoint folder
(its ``config.json`` and tokenizer are read; its weights are not).
"""

from __future__ import annotations

import types
from typing import Any

from .config import TPOConfig
from .stages import (
    EXTRA_GROUPS,
    TABLE5_GROUPS,
    apply_stage,
    group_sources,
    model_spec,
    peak_lrs,
    table5_groups,
)


def _hf_config_and_vocab(base: str) -> tuple[Any, int]:
    """(transformers config, tokenizer length before TPO's tokens) without loading weights."""
    from .presets import PRESETS, materialize

    if base in PRESETS:
        from .presets import llava_ov_config

        return llava_ov_config(PRESETS[base]), int(PRESETS[base]["tokenizer_size"])
    from transformers import AutoConfig, AutoTokenizer

    path = materialize(base)
    return AutoConfig.from_pretrained(path), len(AutoTokenizer.from_pretrained(path))


def build_meta_model(cfg: TPOConfig) -> Any:
    """The TPO model of ``cfg`` with every tensor on the meta device: the base from its config, then the same
    builder as training (:meth:`TPOModel.assemble`, so the same modules and names)."""
    from accelerate import init_empty_weights
    from transformers import LlavaOnevisionForConditionalGeneration

    from .ablations import apply_ablations
    from .model import TPOModel
    from .model.llava_ov import LlavaOVAdapter
    from .model.vocab import token_ids, tpo_tokens
    from .tasks.base import token_tasks

    hf_cfg, n_tok = _hf_config_and_vocab(cfg.model.base)
    spec = model_spec(cfg, cfg.model.base)
    tasks = token_tasks(spec.heads)
    tokens = tpo_tokens(tasks)
    with init_empty_weights(include_buffers=False):
        base = LlavaOnevisionForConditionalGeneration(hf_cfg)
        adapter = LlavaOVAdapter(base, types.SimpleNamespace(tokenizer=None))
        # TPO's tokens take the next ids; the tables grow only when the tokenizer already fills them
        new_ids = tuple(range(n_tok, n_tok + len(tokens)))
        if new_ids[-1] >= adapter.input_embeddings().num_embeddings:
            adapter.resize_vocab(new_ids[-1] + 1)
    model = TPOModel.assemble(adapter, spec, token_ids(tokens, new_ids, tasks), meta=True)
    with init_empty_weights(include_buffers=False):
        apply_ablations(model, cfg)
    off_meta = [n for n, p in model.named_parameters() if p.device.type != "meta"]
    if off_meta:
        raise RuntimeError(f"plan: {len(off_meta)} parameter(s) were materialised, e.g. {off_meta[:3]}")
    return model


def plan_model(model: Any, cfg: TPOConfig) -> dict[str, Any]:
    """Per-group rows for an already built model (meta or real); also sets ``requires_grad`` as training
    would."""
    opt_groups = apply_stage(model, cfg)
    lrs = peak_lrs(cfg)
    groups = table5_groups(model)
    rows = []
    task_groups = tuple(g for g in group_sources() if g not in TABLE5_GROUPS + EXTRA_GROUPS)
    for g in TABLE5_GROUPS + EXTRA_GROUPS + task_groups:  # then the groups of tasks beyond the paper's
        if g == "mask_head":
            n = _sam2_params(model)
            rows.append(
                {
                    "group": g,
                    "params": n,
                    "trainable": 0,
                    "status": "frozen" if n else "absent",
                    "peak_lr": None,
                    "weight_decay": None,
                    "no_decay_params": 0,
                }
            )
            continue
        params = [p for _, p in groups.get(g, [])]
        n = sum(p.numel() for p in params)
        mine = [og for og in opt_groups if og["name"] == g]
        trainable = sum(p.numel() for og in mine for p in og["params"])
        no_decay = sum(p.numel() for og in mine if og["weight_decay"] == 0 for p in og["params"])
        status = "absent" if not params else ("trained" if trainable else "frozen")
        rows.append(
            {
                "group": g,
                "params": n,
                "trainable": trainable,
                "status": status,
                "peak_lr": lrs.get(g) if trainable else None,
                "weight_decay": cfg.optim.weight_decay if trainable else None,
                "no_decay_params": no_decay,
            }
        )
    grouped = {id(p) for ps in groups.values() for _, p in ps}
    if "mask" in model.heads:
        grouped |= {id(p) for p in model.heads["mask"].parameters()}  # SAM2 has its own row (mask_head)
    rest = sum(p.numel() for p in model.parameters() if id(p) not in grouped)
    total = sum(p.numel() for p in model.parameters())
    frozen = [{"module": r["group"], "params": r["params"]} for r in rows if r["status"] == "frozen"]
    frozen.append({"module": "base language model", "params": rest})
    return {
        "config": cfg.name,
        "stage": cfg.stage,
        "base": cfg.model.base,
        "groups": rows,
        "frozen": frozen,
        "totals": {
            "params": total,
            "trainable": sum(p.numel() for p in model.parameters() if p.requires_grad),
        },
        "optimizer": {
            "name": "AdamW",
            "betas": list(cfg.optim.betas),
            "eps": cfg.optim.eps,
            "schedule": cfg.optim.schedule,
            "warmup_ratio": cfg.optim.warmup_ratio,
            "grad_clip": cfg.optim.grad_clip,
        },
        "batch": {
            "global": cfg.train.batch_size,
            "micro": cfg.train.micro_batch_size,
            "epochs": cfg.train.epochs,
            "precision": cfg.train.precision,
        },
    }


def _sam2_params(model: Any) -> int:
    head = model.heads["mask"] if "mask" in model.heads else None  # noqa: SIM401 - a ModuleDict has no get
    if head is None:
        return 0
    trainable = {id(p) for _, p in head.trainable_named_parameters()}
    return sum(p.numel() for p in head.parameters() if id(p) not in trainable)


def plan_config(cfg: TPOConfig) -> dict[str, Any]:
    """The model plan plus, against the paper (``plan_steps.py``): per Table-6 row the samples, schedule,
    steps and head updates (``paper``), per source the counts (``sources``) and the stage's subsample draw."""
    from .plan_steps import source_counts, stage_plan

    return {
        **plan_model(build_meta_model(cfg), cfg),
        "paper": stage_plan(cfg),
        "sources": source_counts(cfg),
        "subsample": {"tasks": dict(cfg.data.subsample), "seed": cfg.data.seed}
        if cfg.data.subsample
        else None,
    }


def _n(x: int) -> str:
    for unit, div in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if x >= div:
            return f"{x / div:.2f}{unit}"
    return str(x)


def format_plan(plan: dict[str, Any]) -> str:
    """The plan as a fixed-width table."""
    lines = [
        f"{plan['config']} ({plan['stage']}) on {plan['base']}: {_n(plan['totals']['trainable'])} trainable "
        f"of {_n(plan['totals']['params'])} parameters",
        f"{'group':<16}{'status':<9}{'params':>10}{'trainable':>11}{'peak LR':>10}{'wd':>7}",
    ]
    for r in plan["groups"]:
        lr = f"{r['peak_lr']:.0e}" if r["peak_lr"] else "-"
        wd = f"{r['weight_decay']:g}" if r["weight_decay"] is not None else "-"
        lines.append(
            f"{r['group']:<16}{r['status']:<9}{_n(r['params']):>10}{_n(r['trainable']):>11}{lr:>10}{wd:>7}"
        )
    lines.append("frozen: " + ", ".join(f"{f['module']} ({_n(f['params'])})" for f in plan["frozen"]))
    o, b = plan["optimizer"], plan["batch"]
    lines.append(
        f"AdamW betas {o['betas']} eps {o['eps']:g}, {o['schedule']} with warm-up {o['warmup_ratio']}, "
        f"clip {o['grad_clip']}; batch {b['global']} (micro {b['micro']}), {b['epochs']} epoch(s), "
        f"{b['precision']}; biases and norm weights take no weight decay"
    )
    from .plan_steps import format_stage_plan

    lines.extend(format_stage_plan(plan.get("paper") or {}))
    src = plan.get("sources") or {}
    if src:
        lines.append("sources (on disk under data.root; '-' = file absent):")
        for name, r in src.items():
            w = f"samples {r['samples']}" if r["samples"] is not None else f"weight {r['weight']:g}"
            sub = f", {r['after_subsample']} after subsample" if r["after_subsample"] is not None else ""
            lines.append(
                f"  {name:<16}{r['task']:<13}{w:<16}on disk {_dash(r['on_disk'])}{sub}, "
                f"per epoch {_dash(r['per_epoch'])}"
            )
    if plan.get("subsample"):
        lines.append(f"subsample (fixed, seeded draw): {plan['subsample']}")
    return "\n".join(lines)


def _dash(x: Any) -> str:
    return "-" if x is None else str(x)


__all__ = ["build_meta_model", "plan_config", "plan_model", "format_plan"]
