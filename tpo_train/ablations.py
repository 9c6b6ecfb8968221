"""Model-side pieces of the paper's ablations that are not part of the TPO model itself.

``model.heads.temporal.kind: mlp`` — "replace by simple head" (main paper Table 11): instead of the DETR-style
moment decoder, a two-layer MLP maps the ``<temp>`` hidden state straight to one normalised (start, end) span,
trained with L1 + temporal GIoU against the first ground-truth window. It takes the same ``TemporalInputs`` and
``TemporalTargets`` records as the DETR head (it only reads ``duration`` and the spans), so the data pipeline and
the TPO model are unchanged; :func:`apply_ablations` swaps it in right after the model is built.

The other three ablations are data/config only: ``ablation_qvh_only`` (stage-2 temporal data = QVHighlights only,
seed Table 3), ``ablation_textualized`` (``data.textualize: true``, no heads; seed Table 1 / Table 11) and
``ablation_conversation_only`` (stage 3 on conversation data only, from the base model).
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .heads.base import SpanOutput, TaskHead, check_count


class MLPTemporalHead(TaskHead):
    """(N, D) task hidden states → (N, 2) normalised (start, end) spans in [0, 1] of the video duration."""

    task = "temporal"

    def __init__(self, llm_hidden: int, hidden: int | None = None) -> None:
        super().__init__()
        mid = hidden or max(llm_hidden // 2, 4)
        self.mlp = nn.Sequential(nn.Linear(llm_hidden, mid), nn.ReLU(), nn.Linear(mid, 2))

    def forward(self, hidden: torch.Tensor, inputs: Any = None) -> torch.Tensor:
        z = self.mlp(hidden.to(self.mlp[0].weight.dtype)).float()
        start = torch.sigmoid(z[:, 0])
        end = start + (1 - start) * torch.sigmoid(z[:, 1])  # end >= start by construction
        return torch.stack([start, end], -1)

    def loss(self, pred: torch.Tensor, targets: Any, inputs: Any = None) -> dict[str, torch.Tensor]:
        check_count(self.task, pred.shape[0], len(targets.spans))
        gt = torch.stack([s[0] for s in targets.spans]).to(pred)  # first window, normalised (start, end)
        l1 = (pred - gt).abs().sum(-1).mean()
        inter = (torch.minimum(pred[:, 1], gt[:, 1]) - torch.maximum(pred[:, 0], gt[:, 0])).clamp(min=0)
        union = (pred[:, 1] - pred[:, 0]) + (gt[:, 1] - gt[:, 0]) - inter
        hull = torch.maximum(pred[:, 1], gt[:, 1]) - torch.minimum(pred[:, 0], gt[:, 0])
        giou = inter / union.clamp(min=1e-6) - (hull - union) / hull.clamp(min=1e-6)
        g = (1 - giou).mean()
        return {"l1": l1, "giou": g, "total": 10.0 * l1 + g}

    def decode(self, pred: torch.Tensor, inputs: Any = None) -> list[SpanOutput]:
        durations = inputs.duration.tolist() if inputs is not None else [1.0] * pred.shape[0]
        return [SpanOutput(((float(p[0]) * d, float(p[1]) * d, 1.0),), ()) for p, d in zip(pred.tolist(), durations)]


def apply_ablations(model: Any, cfg: Any) -> None:
    """Swap in ablation modules the config asks for (before weights are loaded and the optimiser is built)."""
    from .stages import temporal_kind

    if "temporal" in model.heads and temporal_kind(cfg) == "mlp":
        with torch.random.fork_rng():
            torch.manual_seed(model.spec.seed)
            model.heads["temporal"] = MLPTemporalHead(model.adapter.hidden_size)
