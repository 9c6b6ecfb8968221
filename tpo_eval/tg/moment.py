"""QVHighlights moment retrieval (MR), per query, vectorised over all queries with numpy.

Definitions follow moment_detr ``standalone_eval/eval.py`` (the official evaluator), re-derived here:

* R1@t: the **first listed** predicted window (not the best scored) against the GT window of maximal union IoU
  (first maximum), compared with hull IoU ``>= t``; t in 0.3:0.05:0.95 (0.3–0.45 are CG-DETR's additions).
* AP@t: the first 10 predicted windows, sorted by score (stable, highest first), matched greedily to unmatched GT
  windows (highest IoU first, ties to the later window) at union IoU ``>= t``; VOC-style interpolated AP with
  every GT window a positive; t in 0.5:0.05:0.95.
* IoU (CG-DETR's mIoU): the hull IoU used by R1.
* Ranges: a query is ``short``/``middle``/``long`` if one of its GT windows is (0, 10] / (10, 30] / (30, 150]
  seconds long, and only those windows are kept; ``full`` keeps every query and window.

Every metric of the official document is a mean over queries of these per-query values. A query without any
predicted window scores 0 (the official code would crash or skip it; we count it, as we count every failure).
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from .iou import cross_iou, paired_iou

MAP_THRESHOLDS: tuple[float, ...] = tuple(round(float(t), 2) for t in np.linspace(0.5, 0.95, 10))
R1_THRESHOLDS: tuple[float, ...] = tuple(round(float(t), 2) for t in np.linspace(0.3, 0.95, 14))
RANGES: dict[str, tuple[float, float]] = {"short": (0.0, 10.0), "middle": (10.0, 30.0), "long": (30.0, 150.0),
                                          "full": (0.0, 150.0)}
MAX_PRED_WINDOWS = 10


def _pad(rows: Sequence[np.ndarray], width: int) -> tuple[np.ndarray, np.ndarray]:
    """Stack ragged (n_i, 3) arrays, cut to ``width`` rows, into (Q, width, 3) plus a validity mask (Q, width)."""
    out = np.zeros((len(rows), width, 3))
    valid = np.zeros((len(rows), width), dtype=bool)
    for i, r in enumerate(rows):
        n = min(len(r), width)
        out[i, :n] = r[:n]
        valid[i, :n] = True
    return out, valid


def _r1_iou(top1: np.ndarray, has_pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Hull IoU of each query's first window with its best-matching GT window (gt: (n, k, 2)): (n,)."""
    best = np.argmax(cross_iou(top1[:, None, :], gt)[:, 0, :], axis=1)  # first maximum, as the official np.argmax
    matched = gt[np.arange(len(gt)), best]
    return np.where(has_pred, paired_iou(top1, matched), 0.0)


def _average_precision(windows: np.ndarray, wvalid: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Per query and IoU threshold, the official detection AP; gt is (n, k, 2) with k >= 1: (n, T)."""
    q, p = wvalid.shape
    thr = np.asarray(MAP_THRESHOLDS)
    ious = cross_iou(windows[..., :2], gt)  # (n, P, k)
    locked = np.zeros((q, len(thr), gt.shape[1]), dtype=bool)
    tp = np.zeros((q, len(thr), p))
    for j in range(p):
        cand = (ious[:, None, j, :] >= thr[None, :, None]) & ~locked  # (Q, T, G)
        masked = np.where(cand, ious[:, None, j, :], -np.inf)
        pick = gt.shape[1] - 1 - np.argmax(masked[..., ::-1], axis=-1)  # highest IoU, ties → later GT window
        hit = cand.any(axis=-1) & wvalid[:, j, None]
        tp[:, :, j] = hit
        qi, ti = np.nonzero(hit)
        locked[qi, ti, pick[qi, ti]] = True
    fp = wvalid[:, None, :] & (tp == 0)
    tp_c, fp_c = np.cumsum(tp, axis=-1), np.cumsum(fp, axis=-1)
    n_pos = gt.shape[1]
    denom = tp_c + fp_c
    prec = np.divide(tp_c, denom, out=np.zeros_like(tp_c), where=denom > 0)
    rec = tp_c / n_pos
    zeros, ones = np.zeros((q, len(thr), 1)), np.ones((q, len(thr), 1))
    mprec = np.concatenate([zeros, prec, zeros], axis=-1)
    mrec = np.concatenate([zeros, rec, ones], axis=-1)
    mprec = np.maximum.accumulate(mprec[..., ::-1], axis=-1)[..., ::-1]
    ap = np.sum(np.diff(mrec, axis=-1) * mprec[..., 1:], axis=-1)
    return np.where(wvalid.any(axis=1)[:, None], ap, 0.0)


def moment_retrieval_per_query(pred_windows: Sequence[Optional[np.ndarray]],
                               gt_windows: Sequence[np.ndarray]) -> dict[str, dict[str, np.ndarray]]:
    """Per range: ``in_range`` (Q,) bool, ``iou`` (Q,), ``r1`` (Q, len(R1_THRESHOLDS)), ``ap`` (Q, len(MAP_THRESHOLDS)).

    Args:
        pred_windows: per query an (n, 3) array of ``[start, end, score]`` in the order the model listed them
            (None or empty: no prediction).
        gt_windows: per query an (m, 2) array of GT windows in seconds.
    """
    preds = [np.zeros((0, 3)) if w is None else np.asarray(w, dtype=float).reshape(-1, 3) for w in pred_windows]
    gts = [np.asarray(g, dtype=float).reshape(-1, 2) for g in gt_windows]
    windows, wvalid = _pad(preds, MAX_PRED_WINDOWS)
    top1, has_pred = windows[:, 0, :2].copy(), wvalid[:, 0]
    # Sort the (at most 10) windows by score, highest first; stable like Python's list.sort in the original.
    key = np.where(wvalid, -windows[..., 2], np.inf)
    order = np.argsort(key, axis=1, kind="stable")
    windows = np.take_along_axis(windows, order[..., None], axis=1)
    wvalid = np.take_along_axis(wvalid, order, axis=1)
    out: dict[str, dict[str, np.ndarray]] = {}
    q = len(gts)
    for name, (lo, hi) in RANGES.items():
        kept = [g if name == "full" else g[((g[:, 1] - g[:, 0]) > lo) & ((g[:, 1] - g[:, 0]) <= hi)] for g in gts]
        counts = np.array([len(g) for g in kept])
        iou, ap = np.zeros(q), np.zeros((q, len(MAP_THRESHOLDS)))
        # Queries are processed in buckets of equal GT-window count, so no array is padded to the largest count
        # (25 windows in val, against a median of 1).
        for k in sorted(set(counts[counts > 0].tolist())):  # not np.unique: it imports numpy.ma (~0.05 s)
            idx = np.nonzero(counts == k)[0]
            gt = np.stack([kept[i] for i in idx])
            iou[idx] = _r1_iou(top1[idx], has_pred[idx], gt)
            ap[idx] = _average_precision(windows[idx], wvalid[idx], gt)
        in_range = counts > 0 if name != "full" else np.ones(q, dtype=bool)
        r1 = iou[:, None] >= np.asarray(R1_THRESHOLDS)[None, :]
        out[name] = {"in_range": in_range, "iou": iou, "r1": r1.astype(float), "ap": ap}
    return out
