"""The TPO model: a base MLLM (via its adapter) + LoRA + learnable task tokens routed to task heads.

Forward: token embeddings → each task placeholder's embedding replaced by that task's learnable token, each
``<track_box>`` by the box encoder's output → visual features spliced in → LM → last-layer hidden states. The
LM loss is causal cross-entropy on the labelled tokens (answers, including the triggers: the task-assignment
loss; placeholders are never targets). The router gathers the hidden state at each placeholder and hands it
to the task's head; total loss = LM CE + Σ_task weight_task · head_loss_task.

This module is the forward pass and the loss; the builder and parameter groups are :mod:`.assembly`, the
token placement and gathering :mod:`.routing`.

Trainable parameter groups (names for stage configs, see :meth:`TPOModel.param_groups`): ``lora``,
``task_tokens``, ``box_encoder``, ``new_rows`` (only with ``train_new_rows``), ``heads.<task>``,
``vision_tower``, ``projector``. SAM2 inside the mask head is never trainable.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import torch
import torch.nn.functional as F
from torch import nn

from ..heads.base import TaskHead, float32
from ..tasks.base import get_task, token_tasks
from .assembly import DEFAULT_TRAINABLE, assemble_model, param_groups, set_trainable
from .base import MLLMAdapter, load_adapter
from .batch import TPOBatch
from .routing import Places, placeholders, put_input_boxes, put_task_tokens, route_all
from .spec import TPOModelSpec
from .vocab import NewRowDeltas, TokenIds, add_tpo_tokens

__all__ = ["DEFAULT_TRAINABLE", "TPOModel", "TPOOutput"]


@dataclass(frozen=True, eq=False)
class TPOOutput:
    """``loss`` = ``lm_loss`` + Σ weighted head totals; ``head_losses[task]`` the head's terms; ``head_preds``
    the raw head predictions (for decode); ``logits`` (B, L, V)."""

    loss: torch.Tensor
    lm_loss: Optional[torch.Tensor]
    head_losses: Mapping[str, Mapping[str, torch.Tensor]]
    head_preds: Mapping[str, Any]
    logits: torch.Tensor


class TPOModel(nn.Module):
    def __init__(
        self,
        adapter: MLLMAdapter,
        spec: TPOModelSpec,
        token_ids: TokenIds,
        heads: Mapping[str, TaskHead],
        task_tokens: Mapping[str, torch.Tensor],
        new_rows: Optional[NewRowDeltas],
    ) -> None:
        super().__init__()
        self.adapter, self.spec, self.token_ids = adapter, spec, token_ids
        self.base = adapter.model
        d = adapter.hidden_size
        self.task_tokens = nn.ParameterDict({t: nn.Parameter(v) for t, v in task_tokens.items()})
        self.box_encoder = nn.Sequential(
            nn.Linear(4, max(d // 2, 4)), nn.ReLU(), nn.Linear(max(d // 2, 4), d)
        )
        self.heads = nn.ModuleDict(dict(heads))
        self.new_rows = new_rows

    # ---- construction
    # ---------------------------------------------------------------------------------------
    @classmethod
    def build(
        cls,
        spec: TPOModelSpec,
        dtype: torch.dtype = torch.float32,
        processor_path: Optional[str | Path] = None,
        device: Any = None,
    ) -> TPOModel:
        """Load ``spec.base``, add the TPO tokens (mean rows), then :meth:`assemble` the rest; the default
        groups (:data:`DEFAULT_TRAINABLE`) train.

        ``device``: the base loads straight onto it and the rest follows (None = the CPU).
        """
        adapter = load_adapter(spec.base, dtype=dtype, processor_path=processor_path, device=device)
        model = cls.assemble(adapter, spec, add_tpo_tokens(adapter, token_tasks(spec.heads)))
        if device is not None:
            model.to(device)
        model.set_trainable(DEFAULT_TRAINABLE)
        return model

    @classmethod
    def assemble(
        cls, adapter: MLLMAdapter, spec: TPOModelSpec, ids: TokenIds, meta: bool = False
    ) -> TPOModel:
        """The one model builder, for training and evaluation and, with ``meta``, for ``tpo-train plan``
        (every new tensor on the meta device: same modules and names, no memory). ``adapter``'s vocabulary
        already has the TPO tokens (``ids``). Freezes the base, injects LoRA, draws the task tokens, builds
        each head through its task and the new-row tables.

        Random parts (LoRA A, task tokens, box encoder, heads) are drawn from ``spec.seed`` (tokens and heads
        on the CPU, LoRA A where the base is), the task tokens in :func:`token_tasks` order before the heads.
        """
        return assemble_model(cls, adapter, spec, ids, meta)

    # ---- parameter groups
    # -----------------------------------------------------------------------------------
    def param_groups(self) -> dict[str, list[tuple[str, nn.Parameter]]]:
        """Group name → [(qualified name in this module, parameter)]. Qualified names are the state-dict
        keys."""
        return param_groups(self)

    def set_trainable(self, groups: Iterable[str]) -> None:
        """Make exactly the named groups trainable (``heads`` = every head); everything else is frozen."""
        set_trainable(self, groups)

    # ---- forward
    # --------------------------------------------------------------------------------------------
    def embed(
        self,
        ids: torch.Tensor,
        vision: Optional[Mapping[str, torch.Tensor]] = None,
        input_boxes: Optional[torch.Tensor] = None,
        _places: Optional[Places] = None,
    ) -> torch.Tensor:
        """Input embeddings (B, L, D) with task tokens, encoded user boxes and visual features in place."""
        e = self.adapter.embed_tokens(ids)
        if self.new_rows is not None:
            e = self.new_rows.embed(ids, e)
        places = self._placeholders(ids) if _places is None else _places
        e = put_task_tokens(e, {t: p for t, p in places.items() if t in self.task_tokens}, self.task_tokens)
        e = put_input_boxes(e, ids, self.token_ids.box_input, input_boxes, self.box_encoder)
        if vision:
            e = self.adapter.merge_vision(ids, e, vision)
        return e

    def logits(self, hidden: torch.Tensor) -> torch.Tensor:
        out = self.adapter.logits(hidden)
        return self.new_rows.logits(hidden, out) if self.new_rows is not None else out

    def forward(self, batch: TPOBatch) -> TPOOutput:
        ids = batch.input_ids
        for task in set(batch.targets) | set(batch.head_inputs):
            if task not in self.heads:
                raise ValueError(
                    f"batch has targets/inputs for task {task!r} but the model has no such head "
                    f"(heads: {sorted(self.heads)})"
                )
        places = self._placeholders(ids)
        hidden, _ = self.adapter.language_forward(
            self.embed(ids, batch.vision, batch.input_boxes, _places=places), batch.attention_mask
        )
        logits = self.logits(hidden)
        lm_loss = None
        if batch.labels is not None:
            ph_ids = torch.tensor(list(self.token_ids.placeholder.values()), device=ids.device)
            labels = batch.labels.masked_fill(torch.isin(ids, ph_ids), -100)  # never a target
            # shift the labels, not the logits: no copy of (B, L-1, V) logits (and of its gradient)
            labels = F.pad(labels[:, 1:], (0, 1), value=-100)
            lm_loss = F.cross_entropy(logits.flatten(0, 1).float(), labels.flatten(), ignore_index=-100)
        loss = lm_loss if lm_loss is not None else logits.new_zeros((), dtype=torch.float32)
        head_losses, head_preds = {}, {}
        routed = route_all(hidden, {t: p for t, p in places.items() if t in self.heads})
        with _without_autocast(hidden.device.type):
            self._heads_forward(batch, routed, hidden, head_losses, head_preds)
        for task, terms in head_losses.items():
            loss = loss + float(self.spec.head_weights.get(task, 1.0)) * terms["total"]
        return TPOOutput(loss, lm_loss, head_losses, head_preds, logits)

    def _heads_forward(
        self,
        batch: TPOBatch,
        routed: Mapping[str, torch.Tensor],
        hidden: torch.Tensor,
        head_losses: dict[str, Any],
        head_preds: dict[str, Any],
    ) -> None:
        """Each head on its routed states, outside autocast: a head runs in its parameters' dtype (fp32; bf16
        under DeepSpeed bf16) and scores its loss on fp32 predictions (:func:`heads.base.float32`)."""
        for task, head in self.heads.items():
            h = routed.get(task, hidden.new_zeros(0, hidden.shape[-1]))
            if h.shape[0] == 0:
                if task in batch.targets:
                    raise ValueError(f"batch has {task} targets but no {task} placeholder token")
                continue
            if get_task(task).needs_inputs and task not in batch.head_inputs:
                if task in batch.targets:
                    raise ValueError(f"{task} targets given without {task} head inputs")
                continue
            pred = head(h, batch.head_inputs.get(task))
            head_preds[task] = pred
            if task in batch.targets:
                head_losses[task] = head.loss(float32(pred), batch.targets[task], batch.head_inputs.get(task))

    def route(self, ids: torch.Tensor, hidden: torch.Tensor, task: str) -> torch.Tensor:
        """Last-layer hidden states (N, D) at the task's placeholders, in occurrence order."""
        return hidden[ids == self.token_ids.placeholder[task]]

    def _placeholders(self, ids: torch.Tensor) -> Places:
        return placeholders(ids, self.token_ids.placeholder)

    def generate(self, *args: Any, **kwargs: Any):
        from .generate import generate

        return generate(self, *args, **kwargs)

    def train(self, mode: bool = True) -> TPOModel:
        super().train(mode)
        for mod in self.adapter.vision_modules().values():
            if not any(p.requires_grad for p in mod.parameters()):
                mod.eval()  # a frozen tower keeps eval-mode numerics (no dropout) while the rest trains
        return self


def _without_autocast(device_type: str) -> Any:
    """Autocast off for ``device_type`` when it is on (the engine's bf16 autocast covers the LM, not the
    heads)."""
    if device_type in ("cuda", "cpu") and torch.is_autocast_enabled(device_type):
        return torch.autocast(device_type, enabled=False)
    return contextlib.nullcontext()
