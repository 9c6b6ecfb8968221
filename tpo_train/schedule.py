"""The optimiser and its learning-rate schedule, shared by both engines (:mod:`tpo_train.engine`): AdamW over
the recipe's named per-module groups, each group's peak LR scaled per optimiser step by :func:`lr_factor`
(linear warm-up, then cosine decay to ``optim.min_lr_ratio``, or constant). Kept apart from the engines so the
schedule is plain arithmetic that tests and plans can call without touching an engine or DeepSpeed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch

from .config import TPOConfig


def lr_factor(
    step: int, total_steps: int, warmup_ratio: float, schedule: str = "cosine", min_lr_ratio: float = 0.0
) -> float:
    """Multiplier of the peak LR *used by* optimiser step ``step`` (0-based).

    Linear warm-up over ``ceil(warmup_ratio * total)`` steps reaching 1.0 on the last warm-up step, then
    cosine decay from 1.0 to ``min_lr_ratio`` at the end. ``constant`` keeps 1.0 after warm-up.
    """
    warm = math.ceil(warmup_ratio * total_steps)
    if warm and step < warm:
        return (step + 1) / warm
    if schedule == "constant":
        return 1.0
    span = max(1, total_steps - warm)
    progress = min(1.0, (step - warm) / span)
    return min_lr_ratio + (1 - min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


def make_optimizer(groups: Sequence[Mapping[str, Any]], cfg: TPOConfig) -> torch.optim.AdamW:
    """AdamW over ``groups`` (dicts with ``params``, ``lr``, ``weight_decay``, ``name``)."""
    o = cfg.optim
    return torch.optim.AdamW([dict(g) for g in groups], betas=o.betas, eps=o.eps, weight_decay=o.weight_decay)


def make_scheduler(
    optimizer: torch.optim.Optimizer, cfg: TPOConfig, total_steps: int
) -> torch.optim.lr_scheduler.LambdaLR:
    o = cfg.optim
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: lr_factor(s, total_steps, o.warmup_ratio, o.schedule, o.min_lr_ratio)
    )
