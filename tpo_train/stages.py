"""Stage semantics: the paper's Table 5 (seed supplement), which module trains at which peak LR, and the rules
that chain stages (each starts from the previous stage's final checkpoint).

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
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from .tasks.base import BUILTIN_TASKS
from .tasks.base import TASKS as TASK_REGISTRY

if TYPE_CHECKING:  # config imports this module to validate: types only here, no import cycle
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


def _group_task(group: str) -> Optional[str]:
    """The task whose head a group needs (a registered task's ``<task>_head``), or None."""
    if group in GROUP_TASK:
        return GROUP_TASK[group]
    task = group[: -len("_head")] if group.endswith("_head") else None
    return task if task in TASK_REGISTRY and task not in TASKS else None


def peak_lrs(cfg: TPOConfig) -> dict[str, float]:
    """Group → peak LR for this config (``optim.lr``; Table 5 of the stage when ``optim.lr`` is empty)."""
    lr = dict(cfg.optim.lr) or dict(TABLE5[cfg.stage])
    return {g: float(v) for g, v in lr.items()}


def model_spec(cfg: TPOConfig, base: str) -> Any:
    """The :class:`tpo_train.model.TPOModelSpec` of ``cfg`` around ``base`` (training and ``plan`` alike)."""
    from .model import LoraSpec, TPOModelSpec

    m = cfg.model
    return TPOModelSpec(
        base=base,
        lora=LoraSpec(m.lora.r, m.lora.alpha, m.lora.dropout, tuple(m.lora.targets)),
        heads=head_specs(cfg),
        head_weights=dict(m.head_weights),
        train_new_rows=m.train_new_rows,
        seed=cfg.seed,
        token_init=m.token_init,
    )


def group_sources() -> dict[str, tuple[str, Optional[str]]]:
    """:data:`GROUP_SOURCES` plus, per registered task beyond the paper's, ``<task>_head`` (its head) and
    ``<task>_token`` (its learnable task token)."""
    out = dict(GROUP_SOURCES)
    for t in TASK_REGISTRY.names():
        if t not in TASKS:
            out[f"{t}_head"] = (f"heads.{t}", None)
            out[f"{t}_token"] = ("task_tokens", f"task_tokens.{t}")
    return out


def head_specs(cfg: TPOConfig, errors: Optional[list[str]] = None) -> dict[str, Any]:
    """``model.heads`` → the model's head-spec objects (``kind: mlp`` selects the MLP temporal head)."""
    from .model.spec import TEMPORAL_KINDS
    from .tasks.base import get_task

    errors = [] if errors is None else errors
    out: dict[str, Any] = {}
    for task, kw in cfg.model.heads.items():
        if task not in TASK_REGISTRY:
            errors.append(f"model.heads.{task}: unknown task; known: {', '.join(TASK_REGISTRY.names())}")
            continue
        spec_type = get_task(task).spec_type
        kw = dict(kw or {})
        if task == "temporal" and kw.get("kind") is None:
            kw.pop("kind", None)  # unset = the default (detr)
        if task == "temporal" and kw.get("kind", "detr") not in TEMPORAL_KINDS:
            errors.append(f"model.heads.temporal.kind: {kw.pop('kind')!r} is not 'detr' or 'mlp'")
        for k, v in list(kw.items()):
            if isinstance(v, list):
                kw[k] = tuple(v)
        if task == "temporal":
            kw = {**source_feature_kinds(cfg, errors), **kw}  # the data decides unless the YAML says
        try:
            out[task] = spec_type(**kw)  # the temporal ``kind`` is a spec field: checkpoints record it
        except (TypeError, ValueError) as e:
            import dataclasses

            known = ", ".join(f.name for f in dataclasses.fields(spec_type))
            errors.append(f"model.heads.{task}: {e} (known keys: {known})")
    return out


def source_feature_kinds(cfg: TPOConfig, errors: list[str]) -> dict[str, str]:
    """The temporal feature kinds the data sources provide (``video_features``/``text_features``); every
    temporal-grounding source of a stage must feed the head the same kind."""
    from .tasks.base import reader_tasks

    seen: dict[tuple[str, str], list[str]] = {}
    for name, s in cfg.data.sources.items():
        if reader_tasks().get(s.format) != "temporal":
            continue
        f = s.features
        text = "model" if f is None else f.text_extractor or ("precomputed" if f.text else "model")
        kind = ("model" if f is None else f.extractor or "precomputed", text)
        seen.setdefault(kind, []).append(name)
    if len(seen) > 1:
        errors.append(
            "data.sources: temporal sources feed the head different features ("
            + "; ".join(f"{', '.join(v)}: video {k[0]}, text {k[1]}" for k, v in seen.items())
            + "); one head takes one kind"
        )
    if not seen:
        return {}
    ((video, text),) = list(seen)[:1]
    return {"video_features": video, "text_features": text}


def lm_hidden_size(base: str) -> Optional[int]:
    """The LM hidden size of ``model.base`` (a preset or a local folder), or None when it cannot be read."""
    import json

    from .presets import PRESETS

    if base == "tiny":
        from .tiny import LM_HIDDEN

        return LM_HIDDEN
    if base in PRESETS:
        return int(PRESETS[base]["text"]["hidden_size"])
    try:
        conf = json.loads((Path(base) / "config.json").read_text())
    except (OSError, ValueError):
        return None
    return (conf.get("text_config") or conf).get("hidden_size")


def temporal_feature_problems(cfg: TPOConfig, spec: Any, check_paths: bool) -> list[str]:
    """What would fail mid-run because the head's declared feature dims do not match what the data feeds it:
    checked against the extractor's dims, the LM hidden size, and (with ``check_paths``) one feature file."""
    from .heads.temporal_features import check_dims, find_feature_file

    if getattr(spec, "kind", "detr") == "mlp":
        return []
    problem = check_dims(spec, lm_hidden_size(cfg.model.base))
    if problem:
        return [problem]
    out = []
    for name, s in cfg.data.sources.items():
        f = s.features
        from .data.sources import is_unbuilt, resolve

        if not check_paths or f is None or not f.video or is_unbuilt(cfg.data.root):
            continue

        for side, rel, want in (("video", f.video, spec.v_feat_dim), ("text", f.text, spec.t_feat_dim)):
            got = find_feature_file(resolve(cfg.data.root, rel, build=False)) if rel else None
            if got is not None and want is not None and got[1] != want:
                out.append(
                    f"{side} features of source {name} are {got[1]}-d ({got[0]}) but the head declares "
                    f"{'v' if side == 'video' else 't'}_feat_dim {want}"
                )
    return out


def temporal_kind(cfg: TPOConfig) -> str:
    return str((cfg.model.heads.get("temporal") or {}).get("kind", "detr"))


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
        elif _group_task(g) and _group_task(g) not in specs:
            e.append(
                f"optim.lr.{g}: the model has no {_group_task(g)} head (model.heads has "
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


# ---------------------------------------------------------------------------------------------- applying a
# stage
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
