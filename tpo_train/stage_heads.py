"""Head specs from a config: ``model.heads`` (and, for the temporal head, the feature kinds and dims the data
sources feed it) turned into the model's spec objects. Shared by training, ``tpo-train plan`` and the config
checks (``stage_validate``), which report a bad head without building a model.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from .tasks.base import TASKS as TASK_REGISTRY

if TYPE_CHECKING:  # config imports stages to validate: types only here, no import cycle
    from .config import TPOConfig


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

    from .presets import PRESETS, SHIPPED, shipped

    if base in SHIPPED:
        try:
            base = str(shipped(base))
        except ValueError:
            return None
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
