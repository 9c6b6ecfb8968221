"""Self-describing training checkpoints: a TPO model folder plus a manifest and the state needed to resume.

Layout of ``<output_dir>/step-000040/`` and ``<output_dir>/final/``::

    tpo_model.json, tpo_weights.safetensors, processor/
                      the TPO model folder (tpo_train.model.state): LoRA, task tokens, box encoder, heads,
                      added vocab rows, and the vision side when trained; loadable by the ``tpo`` model
                      adapter of tpo_eval (``load_tpo_model``)
    config.yaml       the resolved training config
    trainer_state.pt  step, optimiser + scheduler state, RNG states (rank 0)
    rng_rank<r>.pt    RNG states of the other ranks
    deepspeed/        DeepSpeed's sharded engine state (DeepSpeed runs)
                      (these three only in step-* folders: final/ is not resumed)
    manifest.json     written last: its presence marks a complete checkpoint

Nothing here unpickles code: trainer state holds only tensors and plain Python values (the numpy RNG state is
stored as a list) and is read with ``torch.load(weights_only=True)``, after every file's hash is checked
against the manifest, so a tampered or truncated file is refused before any of it is loaded.

The manifest's fields, reading it, listing a run's checkpoints and checking file hashes are
``checkpoint_manifest.py``; every name of it is importable from here too.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Optional

import numpy as np
import torch

from tpo_eval.io import sha256_file
from tpo_eval.records import git_state
from tpo_eval.records import package_versions as _package_versions

from .checkpoint_manifest import (
    KIND,
    MANIFEST,
    SCHEMA_VERSION,
    CheckpointError,
    latest_checkpoint,
    list_checkpoints,
    manifest_sha,
    read_manifest,
    verify_checkpoint,
    verify_files,
)

__all__ = [
    "KIND",
    "MANIFEST",
    "SCHEMA_VERSION",
    "TRAINER_STATE",
    "CheckpointError",
    "latest_checkpoint",
    "list_checkpoints",
    "load_model",
    "load_trainer_state",
    "load_weights",
    "manifest_sha",
    "package_versions",
    "read_manifest",
    "rng_state",
    "save_checkpoint",
    "set_rng_state",
    "verify_checkpoint",
    "verify_files",
]

TRAINER_STATE = "trainer_state.pt"
_PACKAGES = ("torch", "transformers", "peft", "safetensors", "deepspeed", "sam2", "numpy", "tpo-eval")


def package_versions() -> dict[str, Optional[str]]:
    return _package_versions(_PACKAGES)


def rng_state() -> dict[str, Any]:
    name, keys, pos, has_gauss, gauss = np.random.get_state()
    # numpy's key array as a list: a weights_only load accepts tensors and plain Python values, not ndarrays
    state = {
        "python": random.getstate(),
        "numpy": (name, keys.tolist(), pos, has_gauss, gauss),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: Mapping[str, Any]) -> None:
    random.setstate(state["python"])
    name, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, gauss))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(
    ckpt: Path,
    model: Any,
    engine: Any,
    cfg: Any,
    *,
    step: int,
    total_steps: int,
    final: bool,
    parent: Optional[Mapping[str, Any]],
    data: Mapping[str, Any],
    dist: Any,
    extra: Optional[Mapping[str, Any]] = None,
) -> Path:
    """Write a checkpoint (all ranks call this; rank 0 writes the shared files and the manifest last)."""
    import yaml

    from .model.state import save_tpo_model

    ckpt = Path(ckpt)
    ckpt.mkdir(parents=True, exist_ok=True)
    if dist.is_main and (ckpt / MANIFEST).exists():
        (ckpt / MANIFEST).unlink()  # overwriting: the folder is incomplete until the new manifest lands
    # optimiser/RNG state only where a run can resume (a final checkpoint is for the next stage and
    # evaluation)
    if not final:
        engine.save_engine_state(str(ckpt))  # collective for DeepSpeed
    if not dist.is_main:
        if not final:
            torch.save(rng_state(), ckpt / f"rng_rank{dist.rank}.pt")
        _barrier()
        return ckpt
    save_tpo_model(model, ckpt)
    (ckpt / "config.yaml").write_text(yaml.safe_dump(cfg.to_dict(), sort_keys=False))
    if not final:
        torch.save({"step": step, "engine": engine.state_dict(), "rng": rng_state()}, ckpt / TRAINER_STATE)
    _barrier()
    files = {
        str(f.relative_to(ckpt)): sha256_file(f)
        for f in sorted(ckpt.rglob("*"))
        if f.is_file() and f.name not in (MANIFEST, MANIFEST + ".tmp")
    }
    man = {
        "schema_version": SCHEMA_VERSION,
        "kind": KIND,
        "stage": cfg.stage,
        "name": cfg.name,
        "step": step,
        "total_steps": total_steps,
        "final": final,
        "parent": dict(parent) if parent else None,
        "config": cfg.to_dict(),
        "config_sha256": cfg.sha256,
        "data": dict(data),
        "packages": package_versions(),
        "git": git_state(),
        "world_size": dist.world,
        "files": files,
        "token_init": getattr(getattr(model, "spec", None), "token_init", None),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        **dict(extra or {}),
    }
    tmp = ckpt / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(man, indent=2, sort_keys=True, default=str))
    tmp.replace(ckpt / MANIFEST)
    return ckpt


def _barrier() -> None:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.barrier()


def load_weights(ckpt: Path, model: Any, *, strict: bool) -> list[str]:
    """Copy a checkpoint's TPO weights into ``model``; return the trainable groups the file did not have (they
    keep their fresh initialisation; the vision side, saved only once trained, keeps the base weights).

    ``strict=False`` is for ``init_from`` across stages (a stage-1 checkpoint has no heads: they start fresh);
    keys the model does not know and shape mismatches still raise.
    """
    from safetensors.torch import load_file

    from .model.state import WEIGHTS_FILE, load_trainable_state_dict

    verify_checkpoint(ckpt)
    sd = load_file(str(Path(ckpt) / WEIGHTS_FILE))
    load_trainable_state_dict(model, sd, strict=strict)
    vision = set(model.adapter.vision_modules())
    return [
        g
        for g, ps in model.param_groups().items()
        if ps and g not in vision and not any(n in sd for n, _ in ps)
    ]


def load_model(
    ckpt: str | Path, base: Optional[str | Path] = None, dtype: torch.dtype = torch.float32
) -> Any:
    """A training checkpoint as a ready TPO model (its manifest checked first).

    The model spec in the checkpoint describes every head, the MLP temporal head of the Table-11 ablation
    included, so this equals ``tpo_train.model.load_tpo_model``. Checkpoints written before the spec had a
    temporal ``kind`` recorded the MLP only in the manifest's config: their spec is corrected from it here.
    """
    import dataclasses
    import json

    from safetensors.torch import load_file

    from .model import TPOModel, load_trainable_state_dict, read_tpo_spec
    from .model.state import PROCESSOR_DIR, SPEC_FILE, WEIGHTS_FILE

    ckpt = Path(ckpt)
    man = read_manifest(ckpt)
    spec = read_tpo_spec(ckpt)
    if base is not None:
        spec = dataclasses.replace(spec, base=str(base))
    saved = json.loads((ckpt / SPEC_FILE).read_text())["spec"].get("heads", {}).get("temporal") or {}
    kind = ((man["config"]["model"].get("heads") or {}).get("temporal") or {}).get("kind")
    if "temporal" in spec.heads and "kind" not in saved and kind not in (None, "detr"):
        heads = dict(spec.heads, temporal=dataclasses.replace(spec.heads["temporal"], kind=kind))
        spec = dataclasses.replace(spec, heads=heads)
    model = TPOModel.build(spec, dtype=dtype, processor_path=ckpt / PROCESSOR_DIR)
    load_trainable_state_dict(model, load_file(str(ckpt / WEIGHTS_FILE)), strict=True)
    return model


def _safe_load(path: Path) -> Any:
    import pickle

    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError) as e:
        raise CheckpointError(
            f"{path}: not loadable as plain tensors and values (weights_only): {str(e).splitlines()[0]}"
        ) from None


def load_trainer_state(ckpt: Path, dist: Any) -> dict[str, Any]:
    ckpt = Path(ckpt)
    own = ckpt / f"rng_rank{dist.rank}.pt"
    names = [TRAINER_STATE] + ([own.name] if not dist.is_main and own.is_file() else [])
    verify_checkpoint(ckpt, names)
    state = _safe_load(ckpt / TRAINER_STATE)
    if len(names) > 1:
        state["rng"] = _safe_load(own)
    return state
