"""Region head: LM hidden state at ``<boxes>`` → normalised xyxy box (two-layer MLP, no squashing, as TPO)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..model.spec import RegionHeadSpec
from .base import BoxOutput, TaskHead, check_count
from .ops import box_iou_giou


@dataclass(frozen=True, eq=False)
class RegionTargets:
    """Ground-truth boxes (N, 4), normalised xyxy, one per ``<boxes>`` occurrence."""

    boxes: torch.Tensor


class RegionHead(TaskHead):
    task = "region"

    def __init__(self, spec: RegionHeadSpec, llm_hidden: int) -> None:
        super().__init__()
        if spec.loss not in ("l1_giou", "mse"):
            raise ValueError(f"region head: loss must be 'l1_giou' or 'mse', got {spec.loss!r}")
        self.spec = spec
        mid = spec.hidden or max(llm_hidden // 2, 4)
        self.mlp = nn.Sequential(nn.Linear(llm_hidden, mid), nn.ReLU(), nn.Linear(mid, 4))

    def forward(self, hidden: torch.Tensor, inputs: Any = None) -> torch.Tensor:
        """(N, D) → (N, 4) boxes, normalised xyxy (not clamped: the loss sees the raw regression)."""
        return self.mlp(hidden.to(self.mlp[0].weight.dtype))

    def loss(self, pred: torch.Tensor, targets: RegionTargets, inputs: Any = None) -> dict[str, torch.Tensor]:
        gt = targets.boxes.to(pred)
        check_count(self.task, pred.shape[0], gt.shape[0])
        if self.spec.loss == "mse":
            mse = F.mse_loss(pred, gt)
            return {"mse": mse, "total": mse}
        l1 = F.l1_loss(pred, gt)
        # TPO applies GIoU only to well-formed predictions; an inverted box gets the worst value (1 - (-1) =
        # 2)
        ok = (pred[:, 2:] >= pred[:, :2]).all(-1)
        _, giou = box_iou_giou(pred, gt)
        giou_loss = torch.where(ok, 1 - giou, 2.0).mean()
        return {
            "l1": l1,
            "giou": giou_loss,
            "total": self.spec.l1_weight * l1 + self.spec.giou_weight * giou_loss,
        }

    def decode(self, pred: torch.Tensor, inputs: Any = None) -> list[BoxOutput]:
        p = pred.detach().float().clamp(0, 1)
        x1, x2 = torch.minimum(p[:, 0], p[:, 2]), torch.maximum(p[:, 0], p[:, 2])
        y1, y2 = torch.minimum(p[:, 1], p[:, 3]), torch.maximum(p[:, 1], p[:, 3])
        return [BoxOutput(tuple(float(v) for v in (a, b, c, d))) for a, b, c, d in zip(x1, y1, x2, y2)]
