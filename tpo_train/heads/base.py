"""The task-head contract.

A head is built by its task (``tpo_train.tasks``, which also owns its token pair) and owns its forward, loss,
decode and trainable parameters. The TPO model gathers the last-layer LM hidden state at every placeholder of
the head's task (batch-major, then position order: the "occurrence order") and calls ``head(hidden,
inputs)``; targets and extra inputs for the N occurrences are given in the same order.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar, Optional

import torch
from torch import nn


@dataclass(frozen=True)
class BoxOutput:
    """A region-head answer: normalised xyxy box in [0, 1]."""

    box: tuple[float, float, float, float]


@dataclass(frozen=True)
class SpanOutput:
    """A temporal-head answer: ``windows`` (start s, end s, score) best first; ``saliency`` one value per
    clip."""

    windows: tuple[tuple[float, float, float], ...]
    saliency: tuple[float, ...]


@dataclass(frozen=True, eq=False)
class MaskOutput:
    """A mask-head answer: ``masks`` bool (T, H, W) per frame, ``boxes`` xyxy pixels per frame (zeros if
    empty), ``box`` the adapter's own normalised xyxy box regression."""

    masks: Any
    boxes: tuple[tuple[float, float, float, float], ...]
    box: tuple[float, float, float, float]


class TaskHead(nn.Module):
    """Base class. ``forward(hidden (N, D), inputs) -> pred``; ``loss(pred, targets, inputs) -> {term:
    scalar}``
    with the head's weighted sum under ``"total"``; ``decode(pred, inputs) -> list`` of output records."""

    task: ClassVar[str] = ""

    def forward(self, hidden: torch.Tensor, inputs: Any = None) -> Any:  # noqa: D102
        raise NotImplementedError

    def loss(self, pred: Any, targets: Any, inputs: Any = None) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def decode(self, pred: Any, inputs: Any = None) -> list[Any]:
        raise NotImplementedError

    def trainable_named_parameters(self) -> Iterator[tuple[str, nn.Parameter]]:
        """Parameters the head trains (default: all of them). Frozen sub-models (SAM2) are excluded."""
        return self.named_parameters()


def float32(pred: Any) -> Any:
    """``pred`` with every floating tensor in fp32 (tensors, frozen dataclasses of them, tuples; other values
    as they are). Heads score their losses on this: under DeepSpeed bf16 a head's predictions are bf16, and
    L1/GIoU/cross-entropy/BCE sums lose digits there. An fp32 tensor is returned as is (no copy)."""
    if isinstance(pred, torch.Tensor):
        return pred.float() if pred.is_floating_point() else pred
    if dataclasses.is_dataclass(pred) and not isinstance(pred, type):
        return dataclasses.replace(
            pred, **{f.name: float32(getattr(pred, f.name)) for f in dataclasses.fields(pred) if f.init}
        )
    if isinstance(pred, tuple):
        return tuple(float32(v) for v in pred)
    return pred


def head_key(task: str, spec: Any) -> str:
    """A name for the kind of head ``spec`` builds: the task, or ``task.kind`` for a spec with a ``kind``
    field (``temporal.mlp`` for ``TemporalHeadSpec(kind="mlp")``)."""
    kind = getattr(spec, "kind", None)
    return f"{task}.{kind}" if kind is not None else task


def build_head(task: str, spec: Any, llm_hidden: int) -> TaskHead:
    """The head of ``task`` for ``spec`` (the registered task builds it)."""
    from ..tasks.base import get_task

    return get_task(task).build_head(spec, llm_hidden)


def check_count(task: str, n_hidden: int, n_targets: Optional[int]) -> None:
    if n_targets is not None and n_targets != n_hidden:
        raise ValueError(
            f"{task} head: {n_hidden} placeholder(s) in the batch but {n_targets} target(s); "
            f"targets must be given once per placeholder, in occurrence order"
        )
