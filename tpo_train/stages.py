"""Stage semantics, the front door: ``apply_stage`` freezes a built TPO model except the groups that have a
peak LR and returns the optimiser's parameter groups. The rest lives in three modules, re-exported here so
``from tpo_train.stages import X`` keeps working: ``stage_table`` (Table 5, group ↔ parameter mapping, stage
parents), ``stage_heads`` (head specs from a config) and ``stage_validate`` (config checks, stage chaining).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .stage_heads import (
    head_specs,
    lm_hidden_size,
    model_spec,
    source_feature_kinds,
    temporal_feature_problems,
    temporal_kind,
)
from .stage_table import (
    EXTRA_GROUPS,
    GROUP_SOURCES,
    GROUP_TASK,
    STAGE_PARENTS,
    TABLE5,
    TABLE5_BATCH,
    TABLE5_EPOCHS,
    TABLE5_GROUPS,
    TASKS,
    group_sources,
    group_task,
    peak_lrs,
)
from .stage_validate import check_parent, validate_config

if TYPE_CHECKING:  # config imports this module to validate: types only here, no import cycle
    from .config import TPOConfig


def table5_groups(model: Any) -> dict[str, list[tuple[str, Any]]]:
    """Table-5 / extra group → [(state-dict name, parameter)] of a built TPO model (absent parts → empty)."""
    src = model.param_groups()
    out: dict[str, list[tuple[str, Any]]] = {}
    for g, (mg, prefix) in group_sources().items():
        items = src.get(mg, [])
        out[g] = [(n, p) for n, p in items if prefix is None or n == prefix or n.startswith(prefix + ".")]
    return out


def _no_decay_ids(model: Any) -> set[int]:
    """Biases and the weights of normalisation layers: excluded from weight decay (HF Trainer convention)."""
    ids = set()
    for mod in model.modules():
        norm = "norm" in type(mod).__name__.lower()
        for n, p in mod.named_parameters(recurse=False):
            if norm or n.endswith("bias"):
                ids.add(id(p))
    return ids


def apply_stage(model: Any, cfg: TPOConfig) -> list[dict[str, Any]]:
    """Freeze everything, unfreeze exactly the groups with a peak LR, and return AdamW parameter groups.

    Each Table-5 group yields up to two optimiser groups with the same ``name`` and ``lr`` (the peak LR): one
    with ``weight_decay = optim.weight_decay`` and one with 0 for biases and norm weights.

    Raises:
        ValueError: a group with an LR has no parameters in this model (e.g. ``new_rows`` without the tables).
    """
    groups = table5_groups(model)
    for p in model.parameters():
        p.requires_grad = False
    no_decay = _no_decay_ids(model)
    out: list[dict[str, Any]] = []
    empty = []
    for g, lr in peak_lrs(cfg).items():
        params = [p for _, p in groups.get(g, [])]
        if not params:
            empty.append(g)
            continue
        for p in params:
            p.requires_grad = True
        for decay in (True, False):
            ps = [p for p in params if (id(p) not in no_decay) == decay]
            if ps:
                out.append(
                    {
                        "name": g,
                        "params": ps,
                        "lr": lr,
                        "weight_decay": cfg.optim.weight_decay if decay else 0.0,
                    }
                )
    if empty:
        raise ValueError(f"optim.lr names group(s) {empty} but the model has no parameters there")
    model.train()  # re-applies eval mode to towers that just became frozen
    return out


__all__ = [
    "EXTRA_GROUPS",
    "GROUP_SOURCES",
    "GROUP_TASK",
    "STAGE_PARENTS",
    "TABLE5",
    "TABLE5_BATCH",
    "TABLE5_EPOCHS",
    "TABLE5_GROUPS",
    "TASKS",
    "apply_stage",
    "check_parent",
    "group_sources",
    "group_task",
    "head_specs",
    "lm_hidden_size",
    "model_spec",
    "peak_lrs",
    "source_feature_kinds",
    "table5_groups",
    "temporal_feature_problems",
    "temporal_kind",
    "validate_config",
]
