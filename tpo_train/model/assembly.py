"""Putting a TPO model together: the one builder (:func:`assemble_model`, behind ``TPOModel.assemble``) and
the trainable parameter groups (:func:`param_groups`, :func:`set_trainable`)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from ..tasks.base import get_task, token_tasks
from .base import MLLMAdapter
from .lora import apply_lora, lora_named_parameters
from .spec import TPOModelSpec
from .vocab import NewRowDeltas, TokenIds

if TYPE_CHECKING:
    from .tpo import TPOModel

#: the groups a freshly built model trains (a stage's config names its own)
DEFAULT_TRAINABLE = ("lora", "task_tokens", "box_encoder", "new_rows", "heads")


def assemble_model(
    cls: type[TPOModel], adapter: MLLMAdapter, spec: TPOModelSpec, ids: TokenIds, meta: bool = False
) -> TPOModel:
    """See :meth:`TPOModel.assemble`. The order of the random draws is fixed (checkpoints and exact-loss
    tests rely on it): LoRA A, then under ``spec.seed`` the task tokens, the heads, the new rows and the
    box encoder (made by ``cls``)."""
    for p in adapter.model.parameters():
        p.requires_grad = False
    empty = _empty_weights if meta else contextlib.nullcontext
    with empty():
        if spec.lora is not None:
            apply_lora(adapter, spec.lora, seed=spec.seed)
    d = adapter.hidden_size
    tasks = token_tasks(spec.heads)
    with torch.random.fork_rng():
        torch.manual_seed(spec.seed)
        if meta:
            tokens = {t: torch.empty(d, device="meta") for t in tasks}
            heads = {t: get_task(t).meta_head(hs, d) for t, hs in spec.heads.items()}
        else:
            # released TPO: randn (std 1); "scaled": at the scale of real token embeddings (in range)
            emb = adapter.input_embeddings().weight
            std = float(emb.float().std()) if spec.token_init == "scaled" else 1.0
            tokens = {t: torch.randn(d) * std for t in tasks}
            heads = {t: get_task(t).build_head(hs, d) for t, hs in spec.heads.items()}
        with empty():
            rows = (
                NewRowDeltas(ids.new_ids, d, adapter.input_embeddings().num_embeddings)
                if spec.train_new_rows
                else None
            )
            return cls(adapter, spec, ids, heads, tokens, rows)


def param_groups(model: TPOModel) -> dict[str, list[tuple[str, nn.Parameter]]]:
    """See :meth:`TPOModel.param_groups`."""
    prefix = lambda p, items: [(f"{p}.{n}", q) for n, q in items]  # noqa: E731
    groups = {
        "lora": prefix("base", lora_named_parameters(model.base)),
        "task_tokens": prefix("task_tokens", model.task_tokens.named_parameters()),
        "box_encoder": prefix("box_encoder", model.box_encoder.named_parameters()),
        "new_rows": prefix("new_rows", model.new_rows.named_parameters())
        if model.new_rows is not None
        else [],
    }
    for task, head in model.heads.items():
        groups[f"heads.{task}"] = prefix(f"heads.{task}", head.trainable_named_parameters())
    base_names = {id(p): n for n, p in model.base.named_parameters()}
    for name, mod in model.adapter.vision_modules().items():
        groups[name] = [(f"base.{base_names[id(p)]}", p) for p in mod.parameters()]
    return groups


def set_trainable(model: TPOModel, groups: Iterable[str]) -> None:
    """See :meth:`TPOModel.set_trainable`."""
    all_groups = param_groups(model)
    wanted = set()
    for g in groups:
        hit = [k for k in all_groups if k == g or (g == "heads" and k.startswith("heads."))]
        if not hit and g not in ("new_rows", "heads"):
            raise ValueError(f"unknown parameter group {g!r}; known: {sorted(all_groups)} (and 'heads')")
        wanted.update(hit)
    for p in model.parameters():
        p.requires_grad = False
    for g in wanted:
        for _, p in all_groups[g]:
            p.requires_grad = True


def _empty_weights() -> Any:
    """accelerate's ``init_empty_weights``: it moves every parameter to meta as it is registered, so unlike a
    ``torch.device`` context it also covers modules that build initial values from computed tensors."""
    from accelerate import init_empty_weights

    return init_empty_weights(include_buffers=False)
