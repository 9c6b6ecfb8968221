"""QVHighlights highlight detection (HD), per query, vectorised with numpy.

Definitions follow moment_detr ``standalone_eval/eval.py`` (re-derived, not copied):

* GT: a (num_clips, 3) matrix, ``num_clips = int(duration / 2)``; relevant clips carry the 3 annotators' 0–4
  scores, every other clip 0. ``HL-min-Fair|Good|VeryGood`` binarise it at >= 2 | 3 | 4.
* Hit1: the clip with the highest predicted saliency (``np.argmax``: the first maximum, taken over the *whole*
  predicted list before any truncation) is a hit for an annotator if that annotator marked it positive; a
  query's Hit1 is the max over the 3 annotators. A top clip beyond the GT length is a miss.
* AP: the predicted scores truncated or zero-padded to ``num_clips``; per annotator the interpolated AP of
  ``get_ap`` (precision at every distinct score threshold where recall grows, each replaced by the best
  precision
  at any lower threshold, averaged); all-negative labels give 0 and all-positive labels 1. A query's AP is the
  mean over the 3 annotators.

A query without saliency scores scores 0 on both (failures are counted, never dropped).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Optional

import numpy as np

LEVELS: dict[str, int] = {"Fair": 2, "Good": 3, "VeryGood": 4}
CLIP_LENGTH = 2.0


def gt_clip_scores(
    duration: float,
    clip_ids: Sequence[int],
    scores: Sequence[Sequence[float]],
    clip_length: float = CLIP_LENGTH,
) -> np.ndarray:
    """The (num_clips, 3) GT score matrix of one query.

    Raises:
        ValueError: a relevant clip id lies outside the video (the official code would raise IndexError).
    """
    n = int(duration / clip_length)
    full = np.zeros((n, 3))
    ids = np.asarray(clip_ids, dtype=int)
    if ids.size and (ids.min() < 0 or ids.max() >= n):
        raise ValueError(f"relevant clip id {int(ids.max())} outside the {n} clips of a {duration}s video")
    if ids.size:
        full[ids] = np.asarray(scores, dtype=float).reshape(-1, 3)
    return full


def _ap_same_length(y: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Interpolated AP for n rows of C scores ``y`` (n, C) against k binary label rows each, ``t`` (n, k, C):
    (n, k)."""
    n, c = y.shape
    order = np.argsort(-y, axis=1, kind="stable")
    ys = np.take_along_axis(y, order, axis=1)
    k = t.shape[1]
    ts = np.take_along_axis(t, order[:, None, :], axis=2)
    # Only the last position of each run of tied scores is a threshold of the precision-recall curve.
    is_end = np.ones((n, c), dtype=bool)
    is_end[:, :-1] = ys[:, :-1] != ys[:, 1:]
    tps = np.cumsum(ts, axis=2)
    prec = np.where(is_end[:, None, :], tps / np.arange(1, c + 1), 0.0)
    best_lower = np.maximum.accumulate(prec[..., ::-1], axis=-1)[..., ::-1]
    last_end = np.maximum.accumulate(np.where(is_end, np.arange(c), -1), axis=1)
    prev_end = np.concatenate([np.full((n, 1), -1), last_end[:, :-1]], axis=1)
    prev_tps = np.where(
        prev_end[:, None, :] >= 0,
        np.take_along_axis(tps, np.maximum(prev_end, 0)[:, None, :].repeat(k, 1), axis=2),
        0.0,
    )
    grows = is_end[:, None, :] & (tps != prev_tps)
    n_grow = grows.sum(axis=2)
    ap = np.divide((grows * best_lower).sum(axis=2), n_grow, out=np.zeros((n, k)), where=n_grow > 0)
    pos = t.sum(axis=2)
    return np.where(pos == 0, 0.0, np.where(pos == c, 1.0, ap))


def highlight_per_query(
    pred_saliency: Sequence[Optional[Sequence[float]]], gt_scores: Sequence[np.ndarray]
) -> dict[str, dict[str, np.ndarray]]:
    """Per level (``Fair``/``Good``/``VeryGood``): ``hit1`` (Q,) and ``ap`` (Q,) (mean over annotators)."""
    q = len(gt_scores)
    has = np.array([p is not None and len(p) > 0 for p in pred_saliency], dtype=bool)
    top = np.array([int(np.argmax(p)) if h else -1 for p, h in zip(pred_saliency, has)])
    out = {name: {"hit1": np.zeros(q), "ap": np.zeros(q)} for name in LEVELS}
    lengths = np.array([len(g) for g in gt_scores])
    for c in sorted(set(lengths.tolist())):  # not np.unique: it imports numpy.ma (~0.05 s of the process)
        idx = np.nonzero((lengths == c) & has)[0]
        if not len(idx) or c == 0:
            continue
        y = np.zeros((len(idx), c))
        for r, i in enumerate(idx):
            p = np.asarray(pred_saliency[i], dtype=float)[:c]
            y[r, : len(p)] = p
        g = np.stack([gt_scores[i] for i in idx])  # (n, C, 3)
        t_top = np.where(top[idx] < c, top[idx], 0)
        in_video = top[idx] < c
        # All levels and annotators in one pass: labels (n, levels × 3, C) share the one sort of the scores.
        binary = np.concatenate([(g >= lo).transpose(0, 2, 1) for lo in LEVELS.values()], axis=1).astype(
            float
        )
        ap = _ap_same_length(y, binary).reshape(len(idx), len(LEVELS), 3).mean(axis=2)
        for j, name in enumerate(LEVELS):
            hits = binary[np.arange(len(idx)), 3 * j : 3 * j + 3, t_top].max(axis=1)
            out[name]["hit1"][idx] = np.where(in_video, hits, 0.0)
            out[name]["ap"][idx] = ap[:, j]
    return out
