"""Box and span geometry (torch, differentiable). Boxes are xyxy, spans (start, end) or (centre, width); all
in the same units (normalised [0, 1] in the heads)."""

from __future__ import annotations

import torch

_EPS = 1e-7


def box_iou_giou(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Element-wise IoU and generalised IoU of xyxy boxes ``a``, ``b`` (N, 4). Degenerate boxes have area
    0."""
    # corners as (x, y) pairs: half the ops (and autograd nodes) of per-coordinate arithmetic, same values
    a_lo, a_hi, b_lo, b_hi = a[:, :2], a[:, 2:], b[:, :2], b[:, 2:]
    area_a = (a_hi - a_lo).clamp(min=0).prod(-1)
    area_b = (b_hi - b_lo).clamp(min=0).prod(-1)
    inter = (torch.minimum(a_hi, b_hi) - torch.maximum(a_lo, b_lo)).clamp(min=0).prod(-1)
    union = area_a + area_b - inter
    iou = inter / (union + _EPS)
    hull = (torch.maximum(a_hi, b_hi) - torch.minimum(a_lo, b_lo)).clamp(min=0).prod(-1)
    return iou, iou - (hull - union) / (hull + _EPS)


# Span helpers split the last dim once (unbind) rather than indexing it per use: each index is an op and, in
# backward, a zero-filled gradient of the whole input.
def span_cxw_to_xx(s: torch.Tensor) -> torch.Tensor:
    c, w = s.unbind(-1)
    half = 0.5 * w
    return torch.stack([c - half, c + half], -1)


def span_xx_to_cxw(s: torch.Tensor) -> torch.Tensor:
    lo, hi = s.unbind(-1)
    return torch.stack([(lo + hi) / 2, hi - lo], -1)


def pairwise_span_iou_giou(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """IoU and GIoU between every (start, end) span of ``a`` (..., N, 2) and ``b`` (..., M, 2) → (..., N,
    M)."""
    a0, a1 = a[..., :, None, :].unbind(-1)
    b0, b1 = b[..., None, :, :].unbind(-1)
    inter = (torch.minimum(a1, b1) - torch.maximum(a0, b0)).clamp(min=0)
    union = (a1 - a0).clamp(min=0) + (b1 - b0).clamp(min=0) - inter
    iou = inter / (union + _EPS)
    hull = (torch.maximum(a1, b1) - torch.minimum(a0, b0)).clamp(min=0)
    return iou, iou - (hull - union) / (hull + _EPS)


def mask_to_box(mask: torch.Tensor) -> torch.Tensor:
    """Tight xyxy box (pixels, exclusive right/bottom) of a boolean (H, W) mask; zeros for an empty mask."""
    ys, xs = torch.nonzero(mask, as_tuple=True)
    if ys.numel() == 0:
        return torch.zeros(4)
    return torch.stack([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]).float()
