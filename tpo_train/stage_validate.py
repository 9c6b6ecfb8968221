"""Config checks beyond types (``validate_config``): stage chaining and the ``init_from`` parent
(``check_parent``), groups vs heads, batch arithmetic, data sources. A module of its own because it only
reads the tables and head specs: ``tpo-train validate`` and loading a config report every problem at once,
before anything is built.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .stage_heads import head_specs, temporal_feature_problems
from .stage_table import STAGE_PARENTS, group_sources, group_task, peak_lrs
from .tasks.base import TASKS as TASK_REGISTRY

if TYPE_CHECKING:  # config imports stages to validate: types only here, no import cycle
    from .config import TPOConfig


def validate_config(cfg: TPOConfig, *, check_paths: bool = True) -> list[str]:
    """Every problem in ``cfg`` beyond types: stage chaining, groups vs heads, batch arithmetic, data
    sources."""
    from .data.readers import READERS
    from .presets import PRESETS, is_preset
    from .tasks.base import reader_tasks

    e: list[str] = []
    m, o, t, d = cfg.model, cfg.optim, cfg.train, cfg.data
    # --- stage chaining
    parents = STAGE_PARENTS[cfg.stage]
    if not parents and cfg.init_from not in (None, "base"):
        e.append(f"init_from: {cfg.stage} starts from the base model; remove init_from ({cfg.init_from!r})")
    if parents and cfg.init_from is None:
        e.append(
            f"init_from: {cfg.stage} starts from a {' or '.join(parents)} checkpoint (init_from: "
            f"PATH/final); write init_from: base to start from the base model on purpose"
        )
    if parents and cfg.init_from not in (None, "base") and check_paths:
        e.extend(check_parent(cfg, Path(cfg.init_from)))
    # --- model
    if not is_preset(m.base) and check_paths and not (Path(m.base) / "config.json").is_file():
        e.append(
            f"model.base: {m.base!r} is neither a preset (llava-ov-7b, tiny) nor a folder with config.json"
        )
    if check_paths and m.base in PRESETS:
        e.append(
            f"model.base: {m.base!r} is an architecture preset without weights (for `tpo-train plan`); to "
            f"train, point model.base at a local checkpoint folder (e.g. llava-onevision-qwen2-7b-ov-hf)"
        )
    specs = head_specs(cfg, e)
    if "temporal" in specs:
        e.extend(
            f"model.heads.temporal: {p}"
            for p in temporal_feature_problems(cfg, specs["temporal"], check_paths)
        )
    e.extend(
        f"model.head_weights.{k}: unknown task; known: {', '.join(TASK_REGISTRY.names())}"
        for k in m.head_weights
        if k not in TASK_REGISTRY
    )
    if m.lora.r < 1 or m.lora.alpha <= 0 or not 0 <= m.lora.dropout < 1:
        e.append(f"model.lora: need r >= 1, alpha > 0, 0 <= dropout < 1 (got {m.lora})")
    # --- optimiser groups
    for g, v in peak_lrs(cfg).items():
        if g == "mask_head":
            e.append(
                "optim.lr.mask_head: SAM2 stays frozen in every stage of Table 5; train mask_adapter instead"
            )
        elif g not in group_sources():
            e.append(f"optim.lr.{g}: unknown group; known: {', '.join(g2 for g2 in group_sources())}")
        elif group_task(g) and group_task(g) not in specs:
            e.append(
                f"optim.lr.{g}: the model has no {group_task(g)} head (model.heads has "
                f"{sorted(specs) or 'none'})"
            )
        elif g == "new_rows" and not m.train_new_rows:
            e.append("optim.lr.new_rows: set model.train_new_rows: true to have new-row tables to train")
        if v <= 0:
            e.append(f"optim.lr.{g}: must be > 0 (leave a group out to freeze it), got {v}")
    if not 0 <= o.warmup_ratio <= 1 or not 0 <= o.min_lr_ratio <= 1 or o.weight_decay < 0 or o.grad_clip < 0:
        e.append("optim: warmup_ratio and min_lr_ratio must be in [0, 1]; weight_decay and grad_clip >= 0")
    # --- loop
    if t.batch_size < 1 or t.micro_batch_size < 1 or t.batch_size % t.micro_batch_size:
        e.append(
            f"train.batch_size ({t.batch_size}) must be a positive multiple of micro_batch_size "
            f"({t.micro_batch_size})"
        )
    for k in ("epochs", "max_steps", "save_every", "log_every"):
        v = getattr(t, k)
        if v is not None and v < 1:
            e.append(f"train.{k}: must be >= 1, got {v}")
    # --- data
    if not d.sources:
        e.append("data.sources: no sources")
    if d.textualize and specs:
        e.append(
            f"data.textualize: textualized task data trains no heads; set model.heads: {{}} (has "
            f"{sorted(specs)})"
        )
    if not 0 <= d.max_bad_fraction <= 1:
        e.append(f"data.max_bad_fraction: must be in [0, 1], got {d.max_bad_fraction}")
    fed = {reader_tasks().get(s.format) for s in d.sources.values()}
    for task, n in d.subsample.items():
        if task not in fed:
            e.append(
                f"data.subsample.{task}: no source feeds {task!r} (sources feed {sorted(map(str, fed))})"
            )
        if n < 1:
            e.append(f"data.subsample.{task}: must be >= 1, got {n}")
    for name, s in d.sources.items():
        where = f"data.sources.{name}"
        if s.format not in READERS:
            e.append(f"{where}.format: unknown reader {s.format!r}; known: {', '.join(READERS.names())}")
        if s.weight <= 0 or (s.samples is not None and s.samples < 1):
            e.append(f"{where}: weight must be > 0 and samples >= 1")
        if s.features is not None and reader_tasks().get(s.format) != "temporal":
            e.append(f"{where}.features: only temporal-grounding sources (cgdetr_jsonl) take features")
        if s.features is not None and (s.features.video is None) == (s.features.extractor is None):
            e.append(f"{where}.features: give either video: DIR (precomputed files) or extractor: NAME")
        elif s.features is not None and s.features.extractor and s.features.text:
            e.append(f"{where}.features: text: DIR goes with precomputed video files, not with an extractor")
        elif s.features is not None and s.features.text and s.features.text_extractor:
            e.append(f"{where}.features: give either text: DIR or text_extractor: NAME, not both")
        from .data.sources import is_unbuilt, resolve

        if check_paths and not is_unbuilt(d.root):  # validation never builds the tiny data
            files = [("path", s.path)] + [
                (f"features.{k}", getattr(s.features, k))
                for k in ("video", "text")
                if s.features is not None and getattr(s.features, k)
            ]
            for label, rel in files:
                if not resolve(d.root, rel, build=False).exists():
                    e.append(
                        f"{where}.{label}: {resolve(d.root, rel, build=False)} does not exist "
                        f"(data.root={d.root!r})"
                    )
    return e


def check_parent(cfg: TPOConfig, path: Path) -> list[str]:
    """Check ``init_from``: a final checkpoint of an allowed parent stage, with a compatible model."""
    from .checkpoint import CheckpointError, read_manifest

    try:
        man = read_manifest(path)
    except CheckpointError as err:
        return [f"init_from: {err}"]
    e = []
    parents = STAGE_PARENTS[cfg.stage]
    if man.get("stage") not in parents:
        e.append(
            f"init_from: {path} is a {man.get('stage')} checkpoint; {cfg.stage} starts from "
            f"{' or '.join(parents)}"
        )
    if not man.get("final"):
        e.append(
            f"init_from: {path} is a mid-stage checkpoint (step {man.get('step')}); use its run's final/ "
            f"folder or resume that run with train.resume"
        )
    pm = man.get("config", {}).get("model", {})
    if pm.get("base") != cfg.model.base:
        e.append(
            f"init_from: parent was trained on base {pm.get('base')!r}, this config uses {cfg.model.base!r}"
        )
    if pm.get("lora") != cfg.to_dict()["model"]["lora"]:
        e.append(f"init_from: LoRA settings differ from the parent's ({pm.get('lora')})")
    for task, spec in (pm.get("heads") or {}).items():
        mine = cfg.to_dict()["model"]["heads"].get(task)
        if mine != spec:
            e.append(
                f"init_from: parent has a {task} head {spec} but this config has {mine}: its weights would "
                "not load"
            )
    return e
