"""Box and span geometry (torch, differentiable). Boxes are xyxy, spans (start, end) or (centre, width); all in
the same units (normalised [0, 1] in the heads)."""
from __future__ import annotations

import torch

_EPS = 1e-7


def box_iou_giou(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Element-wise IoU and generalised IoU of xyxy boxes ``a``, ``b`` (N, 4). Degenerate boxes have area 0."""
    area_a = (a[:, 2] - a[:, 0]).clamp(min=0) * (a[:, 3] - a[:, 1]).clamp(min=0)
    area_b = (b[:, 2] - b[:, 0]).clamp(min=0) * (b[:, 3] - b[:, 1]).clamp(min=0)
    lt = torch.maximum(a[:, :2], b[:, :2])
    rb = torch.minimum(a[:, 2:], b[:, 2:])
    inter = (rb - lt).clamp(min=0).prod(-1)
    union = area_a + area_b - inter
    iou = inter / (union + _EPS)
    hull = (torch.maximum(a[:, 2:], b[:, 2:]) - torch.minimum(a[:, :2], b[:, :2])).clamp(min=0).prod(-1)
    return iou, iou - (hull - union) / (hull + _EPS)


def span_cxw_to_xx(s: torch.Tensor) -> torch.Tensor:
    return torch.stack([s[..., 0] - 0.5 * s[..., 1], s[..., 0] + 0.5 * s[..., 1]], -1)


def span_xx_to_cxw(s: torch.Tensor) -> torch.Tensor:
    return torch.stack([(s[..., 0] + s[..., 1]) / 2, s[..., 1] - s[..., 0]], -1)


def pairwise_span_iou_giou(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """IoU and GIoU between every (start, end) span of ``a`` (..., N, 2) and ``b`` (..., M, 2) → (..., N, M)."""
    a, b = a[..., :, None, :], b[..., None, :, :]
    inter = (torch.minimum(a[..., 1], b[..., 1]) - torch.maximum(a[..., 0], b[..., 0])).clamp(min=0)
    union = (a[..., 1] - a[..., 0]).clamp(min=0) + (b[..., 1] - b[..., 0]).clamp(min=0) - inter
    iou = inter / (union + _EPS)
    hull = (torch.maximum(a[..., 1], b[..., 1]) - torch.minimum(a[..., 0], b[..., 0])).clamp(min=0)
    return iou, iou - (hull - union) / (hull + _EPS)


def mask_to_box(mask: torch.Tensor) -> torch.Tensor:
    """Tight xyxy box (pixels, exclusive right/bottom) of a boolean (H, W) mask; zeros for an empty mask."""
    ys, xs = torch.nonzero(mask, as_tuple=True)
    if ys.numel() == 0:
        return torch.zeros(4)
    return torch.stack([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]).float()
