"""Where a stage's weights and training state come from: the model built from the config (frozen base in bf16,
trained groups in fp32, ``init_from`` weights loaded) and the ``train.resume`` checkpoint (found, checked
against the config by ``resume_fingerprint``, loaded). Functions the recipe's ``setup`` calls, kept out of
``recipe.py`` so that module reads as the loop; they change nothing the loop computes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import torch

from tpo_eval.io import sha256_bytes

from .config import TPOConfig

_RESUME_FREE = ("resume", "progress", "loggers", "log_every", "save_every", "max_steps")


def resume_fingerprint(cfg: TPOConfig) -> str:
    """Hash of everything that must not change when a run is resumed (not logging, saving or stopping
    knobs)."""
    d = cfg.to_dict()
    for k in _RESUME_FREE:
        d["train"].pop(k, None)
    d.pop("source_path", None)
    d.pop("output_dir", None)
    return sha256_bytes(repr(sorted(d.items())))


def build_model(cfg: TPOConfig, logger: Any, device: Any = None) -> tuple[Any, Optional[dict[str, Any]]]:
    """The stage's TPO model and its parent record (``init_from``'s path, stage and manifest hash; None when
    the stage starts from the base model)."""
    from .ablations import apply_ablations
    from .checkpoint import load_weights, manifest_sha, read_manifest
    from .model import TPOModel
    from .presets import materialize
    from .stages import model_spec

    # the tiny preset is built once per cache dir; real bases are paths
    spec = model_spec(cfg, str(materialize(cfg.model.base)))
    # bf16: the frozen base is kept in bf16 (it never changes; an fp32 copy would only double a 7B model's
    # memory and be re-cast to bf16 by autocast at every matmul); what this stage trains stays fp32
    bf16 = cfg.train.precision == "bf16"
    model = TPOModel.build(
        spec,
        dtype=torch.bfloat16 if bf16 else torch.float32,
        device=device if getattr(device, "type", None) == "cuda" else None,
    )
    if bf16:
        _trained_in_fp32(model, cfg)
    apply_ablations(model, cfg)
    parent = None
    if cfg.init_from not in (None, "base"):
        man = read_manifest(cfg.init_from)
        fresh = load_weights(Path(cfg.init_from), model, strict=False)
        parent = {
            "path": str(Path(cfg.init_from).resolve()),
            "stage": man["stage"],
            "manifest_sha256": manifest_sha(cfg.init_from),
        }
        logger.info(
            f"init_from {cfg.init_from} ({man['stage']}, step {man['step']}); fresh groups: {fresh or 'none'}"
        )
    return model, parent


def _trained_in_fp32(model: Any, cfg: TPOConfig) -> None:
    """fp32 weights for every group the stage gives a peak LR (LoRA, tokens, heads; the vision side in
    stage 3), before any checkpoint is loaded into them, so AdamW updates (and init_from values) are not
    rounded to bf16."""
    from .stages import peak_lrs, table5_groups

    groups = table5_groups(model)
    for g in peak_lrs(cfg):
        for _, p in groups.get(g, []):
            p.data = p.data.float()


def resume_checkpoint(cfg: TPOConfig, out: Path) -> Optional[Path]:
    """The checkpoint ``train.resume`` names (``auto``: the latest under ``out``); None: a fresh start."""
    from .checkpoint import CheckpointError, latest_checkpoint

    r = cfg.train.resume
    if r is None:
        return None
    ckpt = latest_checkpoint(out) if r == "auto" else Path(r)
    if ckpt is None:
        return None  # "auto" with nothing to resume: a fresh start
    if ckpt.name == "final":
        raise CheckpointError(f"{ckpt}: the run already finished; nothing to resume")
    return ckpt


def resume_step(ckpt: Optional[Path]) -> Optional[int]:
    from .checkpoint import read_manifest

    return None if ckpt is None else int(read_manifest(ckpt)["step"])


def load_resume(
    ckpt: Path, cfg: TPOConfig, model: Any, engine: Any, dist: Any, logger: Any
) -> tuple[int, Optional[dict[str, Any]]]:
    """Load weights, engine state and RNG state from ``ckpt`` into the set-up run; return (the step to start
    from, the run's parent record)."""
    from .checkpoint import (
        CheckpointError,
        load_trainer_state,
        load_weights,
        read_manifest,
        set_rng_state,
    )

    man = read_manifest(ckpt)
    if man.get("resume_fingerprint") != resume_fingerprint(cfg):
        raise CheckpointError(
            f"{ckpt}: config differs from the one that wrote it (only {', '.join(_RESUME_FREE)} "
            f"may change on resume)"
        )
    load_weights(ckpt, model, strict=True)
    engine.load_engine_state(str(ckpt))
    state = load_trainer_state(ckpt, dist)
    engine.load_state_dict(state["engine"])
    set_rng_state(state["rng"])
    start_step = int(state["step"])
    logger.info(f"resumed from {ckpt} at step {start_step}")
    return start_step, man.get("parent")
