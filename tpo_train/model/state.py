"""State dicts of the trainable TPO parts, and a self-describing TPO model folder (safetensors + JSON).

A TPO model folder holds ``tpo_model.json`` (spec, token ids, format version), ``tpo_weights.safetensors``
(LoRA, task tokens, box encoder, heads, new-row deltas, the added vocabulary rows and — when trained — the
vision
side) and ``processor/`` (tokenizer with the added tokens). The base model is referenced by ``spec.base``, not
copied. ``tpo_train/checkpoint.py`` (manifest, optimizer state, resume) builds on these functions.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Optional

import torch

from .spec import TPOModelSpec
from .tpo import TPOModel

WEIGHTS_FILE = "tpo_weights.safetensors"
SPEC_FILE = "tpo_model.json"
PROCESSOR_DIR = "processor"
FORMAT_VERSION = 1
_ALWAYS = ("lora", "task_tokens", "box_encoder", "new_rows")


def trainable_state_dict(model: TPOModel, groups: Optional[Iterable[str]] = None) -> dict[str, torch.Tensor]:
    """Tensors of the given parameter groups (default: LoRA, task tokens, box encoder, new rows, every head,
    and the vision groups when any of their parameters is trainable) plus
    ``vocab.input_rows``/``vocab.output_rows``
    (the added tokens' rows of the base tables). Keys are qualified parameter names; values are detached
    copies."""
    all_groups = model.param_groups()
    if groups is None:
        groups = [
            g
            for g in all_groups
            if g in _ALWAYS or g.startswith("heads.") or any(p.requires_grad for _, p in all_groups[g])
        ]
    sd: dict[str, torch.Tensor] = {}
    for g in groups:
        if g not in all_groups:
            raise ValueError(f"unknown parameter group {g!r}; known: {sorted(all_groups)}")
        sd.update({n: p.detach().clone().contiguous() for n, p in all_groups[g]})
    for key, table in (
        ("vocab.input_rows", model.adapter.input_embeddings().weight),
        ("vocab.output_rows", model.adapter.output_embeddings().weight),
    ):
        sd[key] = table.detach()[torch.tensor(model.token_ids.new_ids, device=table.device)].clone()
    return sd


def load_trainable_state_dict(model: TPOModel, sd: dict[str, torch.Tensor], strict: bool = True) -> None:
    """Copy tensors into the model. Unknown keys and shape mismatches always raise; with ``strict``, every
    parameter of the always-saved groups and of every head must be present too."""
    params = {n: p for ps in model.param_groups().values() for n, p in ps}
    unexpected = [k for k in sd if k not in params and not k.startswith("vocab.")]
    bad_shape = [
        f"{k}: file {tuple(v.shape)} vs model {tuple(params[k].shape)}"
        for k, v in sd.items()
        if k in params and v.shape != params[k].shape
    ]
    problems = []
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected key(s), e.g. {unexpected[:5]}")
    if bad_shape:
        problems.append(f"shape mismatch: {bad_shape[:5]}")
    if strict:
        need = [
            n
            for g, ps in model.param_groups().items()
            if g in _ALWAYS or g.startswith("heads.")
            for n, _ in ps
        ]
        missing = [n for n in need if n not in sd]
        if missing:
            problems.append(
                f"{len(missing)} missing key(s), e.g. {missing[:5]} (a checkpoint from another head "
                f"set or LoRA config?)"
            )
    if problems:
        raise ValueError("TPO state dict does not fit the model: " + "; ".join(problems))
    with torch.no_grad():
        for k, v in sd.items():
            if k in params:
                params[k].copy_(v.to(params[k].dtype))
        for key, table in (
            ("vocab.input_rows", model.adapter.input_embeddings().weight),
            ("vocab.output_rows", model.adapter.output_embeddings().weight),
        ):
            if key in sd:
                table[torch.tensor(model.token_ids.new_ids, device=table.device)] = sd[key].to(table)


def save_tpo_model(model: TPOModel, out_dir: str | Path, groups: Optional[Iterable[str]] = None) -> Path:
    """Write the TPO model folder (see module docstring) and return it."""
    from safetensors.torch import save_file

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    save_file(trainable_state_dict(model, groups), str(out / WEIGHTS_FILE), metadata={"format": "tpo"})
    meta = {
        "format_version": FORMAT_VERSION,
        "spec": model.spec.to_dict(),
        "token_ids": {
            "trigger": model.token_ids.trigger,
            "placeholder": model.token_ids.placeholder,
            "box_input": model.token_ids.box_input,
        },
    }
    (out / SPEC_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True))
    model.adapter.save_processor(out / PROCESSOR_DIR)
    return out


def read_tpo_spec(ckpt_dir: str | Path) -> TPOModelSpec:
    path = Path(ckpt_dir) / SPEC_FILE
    if not path.is_file():
        found = (
            sorted(p.name for p in Path(ckpt_dir).iterdir()) if Path(ckpt_dir).is_dir() else "no such folder"
        )
        raise FileNotFoundError(f"{ckpt_dir} is not a TPO model folder: {SPEC_FILE} missing (found: {found})")
    meta = json.loads(path.read_text())
    if meta.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"{path}: format_version {meta.get('format_version')!r}, this code reads {FORMAT_VERSION}"
        )
    return TPOModelSpec.from_dict(meta["spec"])


def load_tpo_model(
    ckpt_dir: str | Path,
    base: Optional[str | Path] = None,
    dtype: torch.dtype = torch.float32,
    strict: bool = True,
    device: Optional[str | torch.device] = None,
) -> TPOModel:
    """Rebuild the model from its folder (``base`` overrides the recorded base-model path) and load its
    weights; ``device``: the base loads straight onto it (see ``TPOModel.build``)."""
    import dataclasses

    from safetensors.torch import load_file

    ckpt = Path(ckpt_dir)
    spec = read_tpo_spec(ckpt)
    if base is not None:
        spec = dataclasses.replace(spec, base=str(base))
    if not Path(spec.base).is_dir():
        raise FileNotFoundError(f"{ckpt}: base model {spec.base} not found (pass base=... to point at it)")
    model = TPOModel.build(spec, dtype=dtype, processor_path=ckpt / PROCESSOR_DIR, device=device)
    meta = json.loads((ckpt / SPEC_FILE).read_text())
    if meta["token_ids"]["trigger"] != model.token_ids.trigger:
        raise ValueError(
            f"{ckpt}: token ids {meta['token_ids']['trigger']} differ from the rebuilt model's "
            f"{model.token_ids.trigger}"
        )
    load_trainable_state_dict(model, load_file(str(ckpt / WEIGHTS_FILE)), strict=strict)
    return model
