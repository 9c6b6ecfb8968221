"""Temporal-head ground truth: normalised spans, per-clip saliency labels and the hinge's sampled clip pairs.

Labels (CG-DETR ``start_end_dataset.py``): with highlight scores (QVHighlights ``relevant_clip_ids`` +
``saliency_scores``) each clip row gets the summed annotator score of the clip it falls in
(``get_saliency_labels
_all``); without (Charades-STA, …) a row is 1 when its centre lies inside a window, else 0. Pairs for the
margin
hinge, ``pairs`` per item (CG-DETR: 2 for both kinds): graded — ``pairs // 2`` highest- vs lowest-scored
relevant clips (hard) plus ``pairs // 2`` relevant vs irrelevant clips drawn at random (easy; the hard ones
repeated when too few irrelevant clips exist; ``get_saliency_labels_all`` with ``max_n=1``); binary —
``pairs`` clips drawn from inside the windows vs ``pairs`` from outside (``get_saliency_labels_sub_as_query``,
``max_n=2``). When
fewer than ``pairs`` clips lie outside, CG-DETR falls back to the positives (hinge = bare margin, no
gradient); here the outside clips are repeated instead, and only with none outside the positives are used.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Optional

import numpy as np
import torch

from .temporal_records import TemporalTargets


def make_temporal_targets(
    windows: Sequence[Sequence[tuple[float, float]]],
    durations: Sequence[float],
    n_clips: Sequence[int],
    scores: Optional[Sequence[Optional[Mapping[int, float]]]] = None,
    clip_len: float | Sequence[float] = 2.0,
    rng: Optional[random.Random] = None,
    pairs: int = 2,
) -> TemporalTargets:
    """Targets for N occurrences. ``scores[i]``: clip id (clips of ``clip_len`` s) → summed score, or
    empty/None
    for binary labels. Row k of n covers ``[k, k+1)·duration/n``; it takes the score of the clip holding its
    centre. ``rng`` draws the easy pairs (default: a fixed seed, so a call is reproducible)."""
    rng = rng or random.Random(0)
    lens = (
        [float(clip_len)] * len(windows)
        if isinstance(clip_len, (int, float))
        else [float(c) for c in clip_len]
    )
    spans, labels = [], torch.zeros(len(windows), max(n_clips))
    pos, neg = [], []
    for i, (ws, dur, n) in enumerate(zip(windows, durations, n_clips)):
        if not ws or dur <= 0:
            raise ValueError(f"temporal targets item {i}: needs at least one window and a positive duration")
        s = torch.tensor([[max(0.0, a) / dur, min(dur, b) / dur] for a, b in ws], dtype=torch.float32)
        if bool((s[:, 1] <= s[:, 0]).any()):
            raise ValueError(f"temporal targets item {i}: window with end <= start in {list(ws)}")
        spans.append(s)
        centres = (torch.arange(n) + 0.5) / n
        sc = scores[i] if scores is not None else None
        if sc:
            clip = ((centres * dur) // lens[i]).long().tolist()
            labels[i, :n] = torch.tensor([float(sc.get(c, 0.0)) for c in clip])
            relevant = [k for k in range(n) if clip[k] in sc]
            p, q = _graded_pairs(labels[i, :n].numpy(), relevant, n, rng, max(1, pairs // 2))
        else:
            labels[i, :n] = ((centres[:, None] >= s[:, 0]) & (centres[:, None] <= s[:, 1])).any(-1).float()
            p, q = _binary_pairs(labels[i, :n].numpy(), rng, pairs, min(n - 1, int(float(s[0].mean()) * n)))
        pos.append(p)
        neg.append(q)
    width = max(len(p) for p in pos)
    mask = torch.tensor([[j < len(p) for j in range(width)] for p in pos])
    pad = lambda xs: torch.tensor([x + [0] * (width - len(x)) for x in xs], dtype=torch.long)  # noqa: E731
    return TemporalTargets(tuple(spans), labels, pad(pos), pad(neg), mask)


def _graded_pairs(lab: np.ndarray, relevant: list[int], n: int, rng: random.Random, k: int):
    if not relevant:  # the scored clips all lie past the features: no positives, only the bare margin
        return [0] * k, [0] * k
    order = sorted(relevant, key=lambda r: lab[r])  # ascending score (stable: ties keep clip order)
    hard_pos, hard_neg = _fill(order[-k:], k), _fill(order[:k], k)
    easy_pool = [r for r in range(n) if r not in set(relevant)]
    if len(easy_pool) >= k:
        easy_pos = _fill(rng.sample(relevant, min(k, len(relevant))), k)
        easy_neg = rng.sample(easy_pool, k)
    else:
        easy_pos, easy_neg = hard_pos, hard_neg
    return hard_pos + easy_pos, hard_neg + easy_neg


def _binary_pairs(lab: np.ndarray, rng: random.Random, k: int, fallback: int):
    inside = [r for r in range(len(lab)) if lab[r] > 0]
    outside = [r for r in range(len(lab)) if lab[r] <= 0]
    if not inside:  # a window between two clip centres: the clip holding the first window's centre
        inside = [fallback]
    p = rng.sample(inside, k) if len(inside) >= k else _fill(inside, k)
    q = rng.sample(outside, k) if len(outside) >= k else (_fill(outside, k) if outside else p)
    return p, q


def _fill(xs: list[int], k: int) -> list[int]:
    """Repeat ``xs`` cyclically to length ``k`` (CG-DETR repeats a single positive clip)."""
    return [xs[j % len(xs)] for j in range(k)]
