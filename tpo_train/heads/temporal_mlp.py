"""The "simple" temporal head of the paper's ablation (main paper Table 11, "replace by simple head").

``TemporalHeadSpec(kind="mlp")``: instead of the DETR-style moment decoder, a two-layer MLP maps the
``<temp>``
hidden state straight to one normalised (start, end) span, trained with L1 + temporal GIoU against the first
ground-truth window. It takes the same ``TemporalInputs``/``TemporalTargets`` records as the DETR head but
reads
only ``duration`` and the spans (no video or query features), so the data pipeline, the TPO model and the
``tpo``
eval adapter are the same for both kinds. Decode: one window per occurrence (score 1.0) and no saliency curve
— the head has no per-clip output.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..model.spec import TemporalHeadSpec
from .base import SpanOutput, TaskHead, check_count


class MLPTemporalHead(TaskHead):
    """(N, D) task hidden states → (N, 2) normalised (start, end) spans in [0, 1] of the video duration."""

    task = "temporal"

    def __init__(self, spec: TemporalHeadSpec, llm_hidden: int) -> None:
        super().__init__()
        self.spec = spec
        mid = spec.mlp_hidden or max(llm_hidden // 2, 4)
        self.mlp = nn.Sequential(nn.Linear(llm_hidden, mid), nn.ReLU(), nn.Linear(mid, 2))

    def forward(self, hidden: torch.Tensor, inputs: Any = None) -> torch.Tensor:
        if inputs is not None:
            check_count(self.task, hidden.shape[0], inputs.duration.shape[0])
        z = self.mlp(hidden.to(self.mlp[0].weight.dtype)).float()
        start = torch.sigmoid(z[:, 0])
        end = start + (1 - start) * torch.sigmoid(z[:, 1])  # end >= start by construction, both in [0, 1]
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
        return {"l1": l1, "giou": g, "total": self.spec.w_span * l1 + self.spec.w_giou * g}

    def decode(self, pred: torch.Tensor, inputs: Any = None) -> list[SpanOutput]:
        """One window in seconds per occurrence (``inputs.duration``; without inputs, fractions of the
        video)."""
        durations = inputs.duration.tolist() if inputs is not None else [1.0] * pred.shape[0]
        return [
            SpanOutput(((float(p[0]) * d, float(p[1]) * d, 1.0),), ())
            for p, d in zip(pred.detach().tolist(), durations)
        ]
