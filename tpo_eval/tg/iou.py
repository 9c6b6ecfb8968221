"""Temporal IoU between spans ``(start, end)`` in seconds, as the official scorers compute it.

Two definitions are in use and they differ only in degenerate cases:

* *hull IoU* (TimeChat ``eval_tvg.py``, lmms-eval, moment_detr's paired IoU): intersection over
  ``max(end) - min(start)``. For two overlapping spans this is the usual IoU; for disjoint spans the
  intersection is 0 anyway.
* *union IoU* (moment_detr's cross IoU, used to pick the best GT window and for mAP): intersection over
  ``len1 + len2 - intersection``.

Where the official code would divide by zero (two identical zero-length spans) both return 0 here.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def hull_iou(a: Sequence[float], b: Sequence[float]) -> float:
    """IoU of one span pair with the hull as denominator (the Charades-STA R1@IoU definition)."""
    inter = max(min(a[1], b[1]) - max(a[0], b[0]), 0.0)
    hull = max(a[1], b[1]) - min(a[0], b[0])
    return float(inter / hull) if hull > 0 else 0.0


def paired_iou(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Hull IoU of row i of ``pred`` with row i of ``gt``: (N, 2), (N, 2) → (N,)."""
    inter = np.maximum(0.0, np.minimum(pred[..., 1], gt[..., 1]) - np.maximum(pred[..., 0], gt[..., 0]))
    hull = np.maximum(pred[..., 1], gt[..., 1]) - np.minimum(pred[..., 0], gt[..., 0])
    return np.divide(inter, hull, out=np.zeros_like(inter, dtype=float), where=hull != 0)


def cross_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Union IoU of every span of ``a`` with every span of ``b``, batched: (..., N, 2), (..., M, 2) → (..., N,
    M)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    left = np.maximum(a[..., :, None, 0], b[..., None, :, 0])
    right = np.minimum(a[..., :, None, 1], b[..., None, :, 1])
    inter = np.clip(right - left, 0.0, None)
    union = (a[..., :, None, 1] - a[..., :, None, 0]) + (b[..., None, :, 1] - b[..., None, :, 0]) - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union != 0)
