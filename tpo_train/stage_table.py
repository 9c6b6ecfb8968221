"""Stage semantics as data: the paper's Table 5 (seed supplement), which module trains at which peak LR, and
which stage a stage's ``init_from`` must come from. Only tables and lookups, in a module of their own so the
config checks (``stage_validate``) and applying a stage (``stages.apply_stage``) read them without importing
each other.

Table-5 groups and the TPO model's parameter groups (``TPOModel.param_groups``) they map to:

==================  ==============================  =========  =========  ============  ======
group               model parameters                stage1     stage2     stage3_tasks  stage3
==================  ==============================  =========  =========  ============  ======
vision_encoder      ``vision_tower``                frozen     frozen     2e-5          2e-5
connector           ``projector``                   frozen     frozen     2e-5          2e-5
temporal_head       ``heads.temporal``              –          1e-4       2e-5          2e-5
region_head         ``heads.region``                –          1e-4       2e-5          2e-5
mask_head (SAM2)    inside ``heads.mask``           –          frozen     frozen        frozen
mask_adapter        ``heads.mask`` (trainable)      –          1e-4       2e-5          2e-5
temporal_token      ``task_tokens.temporal``        –          2e-4       2e-5          2e-5
region_token        ``task_tokens.region``          –          1e-4       2e-5          2e-5
mask_token          ``task_tokens.mask``            –          1e-4       2e-5          2e-5
lora                ``lora``                        2e-5       2e-5       2e-5          2e-5
==================  ==============================  =========  =========  ============  ======

Two groups are not in Table 5: ``box_encoder`` (the MLP that embeds a user box at ``<track_box>``; our configs
train it with the mask adapter's LR, since tracking prompts feed the mask head) and ``new_rows`` (only with
``model.train_new_rows``). All stages: AdamW, weight decay 0.02 (not on biases and norm weights, as the HF
Trainer TPO used), cosine decay with warm-up ratio 0.2, LoRA r 16 / α 32, bf16. Batch / epochs:
128 / 1, 64·128·128 / 25·3·1 (temporal·region·mask), 256 / 1, 256 / 3.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Optional

from .tasks.base import BUILTIN_TASKS
from .tasks.base import TASKS as TASK_REGISTRY

if TYPE_CHECKING:  # config imports stages to validate: types only here, no import cycle
    from .config import TPOConfig

TABLE5_GROUPS = (
    "vision_encoder",
    "connector",
    "temporal_head",
    "region_head",
    "mask_head",
    "mask_adapter",
    "temporal_token",
    "region_token",
    "mask_token",
    "lora",
)
EXTRA_GROUPS = ("box_encoder", "new_rows")
_ALL_2E5 = {g: 2e-5 for g in TABLE5_GROUPS if g != "mask_head"}
TABLE5: Mapping[str, Mapping[str, float]] = {
    "stage1": {"lora": 2e-5},
    "stage2": {
        "temporal_head": 1e-4,
        "region_head": 1e-4,
        "mask_adapter": 1e-4,
        "temporal_token": 2e-4,
        "region_token": 1e-4,
        "mask_token": 1e-4,
        "lora": 2e-5,
    },
    "stage3_tasks": _ALL_2E5,
    "stage3": _ALL_2E5,
}
TABLE5_BATCH = {
    "stage1": 128,
    "stage2": {"temporal": 64, "region": 128, "mask": 128},
    "stage3_tasks": 256,
    "stage3": 256,
}
TABLE5_EPOCHS = {
    "stage1": 1,
    "stage2": {"temporal": 25, "region": 1, "mask": 3},
    "stage3_tasks": 1,
    "stage3": 3,
}
# : which stage a stage's ``init_from`` checkpoint must come from ("base" = start from the base model on
# purpose)
STAGE_PARENTS: Mapping[str, tuple[str, ...]] = {
    "stage1": (),
    "stage2": ("stage1", "stage2"),  # stage2 → stage2: the paper's per-task schedules, one after another
    "stage3_tasks": ("stage2",),
    "stage3": ("stage3_tasks", "stage2"),
}
#: Table-5 / extra group → (TPO model group, parameter-name prefix or None for the whole group)
GROUP_SOURCES: Mapping[str, tuple[str, Optional[str]]] = {
    "vision_encoder": ("vision_tower", None),
    "connector": ("projector", None),
    "temporal_head": ("heads.temporal", None),
    "region_head": ("heads.region", None),
    "mask_adapter": ("heads.mask", None),
    "temporal_token": ("task_tokens", "task_tokens.temporal"),
    "region_token": ("task_tokens", "task_tokens.region"),
    "mask_token": ("task_tokens", "task_tokens.mask"),
    "lora": ("lora", None),
    "box_encoder": ("box_encoder", None),
    "new_rows": ("new_rows", None),
}
GROUP_TASK = {
    "temporal_head": "temporal",
    "region_head": "region",
    "mask_adapter": "mask",
    "mask_head": "mask",
}
TASKS = BUILTIN_TASKS


def group_task(group: str) -> Optional[str]:
    """The task whose head a group needs (a registered task's ``<task>_head``), or None."""
    if group in GROUP_TASK:
        return GROUP_TASK[group]
    task = group[: -len("_head")] if group.endswith("_head") else None
    return task if task in TASK_REGISTRY and task not in TASKS else None


def peak_lrs(cfg: TPOConfig) -> dict[str, float]:
    """Group → peak LR for this config (``optim.lr``; Table 5 of the stage when ``optim.lr`` is empty)."""
    lr = dict(cfg.optim.lr) or dict(TABLE5[cfg.stage])
    return {g: float(v) for g, v in lr.items()}


def group_sources() -> dict[str, tuple[str, Optional[str]]]:
    """:data:`GROUP_SOURCES` plus, per registered task beyond the paper's, ``<task>_head`` (its head) and
    ``<task>_token`` (its learnable task token)."""
    out = dict(GROUP_SOURCES)
    for t in TASK_REGISTRY.names():
        if t not in TASKS:
            out[f"{t}_head"] = (f"heads.{t}", None)
            out[f"{t}_token"] = ("task_tokens", f"task_tokens.{t}")
    return out
