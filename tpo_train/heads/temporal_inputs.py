"""Temporal-head inputs: the padded per-occurrence features (:class:`TemporalInputs`) and their builder.

Kept apart from the head (``temporal.py``) because the temporal task (``tasks/temporal.py``) and the
evaluation adapter build inputs without the head's layers, and the MLP head of the Table-11 ablation
(``temporal_mlp.py``) takes the same record.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F


@dataclass(frozen=True, eq=False)
class TemporalInputs:
    """Padded head inputs for N occurrences. ``video`` (N, T, Dv[+2 TEF]), ``video_mask`` (N, T) bool,
    ``query`` (N, L, Dt), ``query_mask`` (N, L) bool, ``duration`` (N,) seconds; ``vids`` the video ids (the
    negative-pair term skips a shifted query of the same video; empty = all videos differ)."""

    video: torch.Tensor
    video_mask: torch.Tensor
    query: torch.Tensor
    query_mask: torch.Tensor
    duration: torch.Tensor
    vids: tuple[str, ...] = ()

    def to(self, device: Any) -> TemporalInputs:
        return TemporalInputs(
            *(
                t.to(device)
                for t in (self.video, self.video_mask, self.query, self.query_mask, self.duration)
            ),
            vids=self.vids,
        )


def make_temporal_inputs(
    videos: Sequence[torch.Tensor],
    queries: Sequence[torch.Tensor],
    durations: Sequence[float],
    tef: bool = True,
    normalize: bool = True,
    vids: Sequence[str] = (),
) -> TemporalInputs:
    """Pad per-occurrence features; L2-normalise them (as CG-DETR's loader) and append TEF [t/T, (t+1)/T]."""
    if not (len(videos) == len(queries) == len(durations)):
        raise ValueError(
            f"temporal inputs: {len(videos)} videos, {len(queries)} queries, {len(durations)} durations"
        )
    vs, qs = [], []
    for i, (v, q) in enumerate(zip(videos, queries)):
        if v.ndim != 2 or q.ndim != 2 or v.shape[0] == 0 or q.shape[0] == 0:
            raise ValueError(
                f"temporal inputs item {i}: video {tuple(v.shape)} and query {tuple(q.shape)} must be "
                f"non-empty (T, Dv) and (L, Dt)"
            )
        v, q = v.float(), q.float()
        if normalize:
            v, q = F.normalize(v, dim=-1), F.normalize(q, dim=-1)
        if tef:
            t = torch.arange(v.shape[0], dtype=torch.float32)[:, None] / v.shape[0]
            v = torch.cat([v, t, t + 1.0 / v.shape[0]], -1)
        vs.append(v)
        qs.append(q)
    video, vmask = _pad(vs)
    query, qmask = _pad(qs)
    return TemporalInputs(
        video, vmask, query, qmask, torch.tensor([float(d) for d in durations]), tuple(str(v) for v in vids)
    )


def _pad(xs: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    n, d = max(x.shape[0] for x in xs), xs[0].shape[1]
    out, mask = torch.zeros(len(xs), n, d), torch.zeros(len(xs), n, dtype=torch.bool)
    for i, x in enumerate(xs):
        out[i, : x.shape[0]], mask[i, : x.shape[0]] = x, True
    return out, mask
