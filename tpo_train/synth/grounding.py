"""Temporal grounding ground truth: one query per event, graded per-clip saliency, and the constant-span
prior.

Every appear / disappear / move / recolour event becomes a sentence ("the red square moves left") with the
event's exact window in seconds (Charades-STA style, one window). The QVHighlights rows carry the same queries
plus one "the <shape> is moving" query per object that moves twice (two windows), and per-clip saliency from
``annotators`` simulated annotators: a clip's base score grows with how much of the clip the event covers and
how visible the object is, and each annotator adds their own ±1 disagreement, clipped to 0–4.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .render import Rendered
from .world import Clip, Event

GROUNDED = ("appear", "disappear", "move", "recolour")


@dataclass(frozen=True)
class Query:
    vid: str
    sentence: str
    windows: tuple[tuple[float, float], ...]
    obj: int
    duration: float


def sentence(clip: Clip, e: Event) -> str:
    name = clip.tracks[e.obj].name(e.start)
    verb = {
        "appear": "appears",
        "disappear": "disappears",
        "move": f"moves {e.value}",
        "recolour": f"turns {e.value}",
    }[e.kind]
    return f"the {name} {verb}"


def queries(clip: Clip, *, multi_window: bool = False) -> list[Query]:
    """The clip's grounding queries in event order; sentences are unique within a clip."""
    out: list[Query] = []
    for e in clip.events:
        if e.kind in GROUNDED:
            out.append(
                Query(
                    clip.vid,
                    sentence(clip, e),
                    ((e.start / clip.fps, e.end / clip.fps),),
                    e.obj,
                    clip.duration,
                )
            )
    if multi_window:
        for i, tr in enumerate(clip.tracks):
            moves = [e for e in clip.events if e.kind == "move" and e.obj == i]
            if len(moves) > 1:
                out.append(
                    Query(
                        clip.vid,
                        f"the {tr.shape} is moving",
                        tuple((e.start / clip.fps, e.end / clip.fps) for e in moves),
                        i,
                        clip.duration,
                    )
                )
    seen = [q.sentence for q in out]
    assert len(set(seen)) == len(seen), f"{clip.vid}: duplicate query sentences {seen}"
    return out


def saliency(
    clip: Clip, r: Rendered, q: Query, clip_length: float, annotators: int, rng: np.random.Generator
) -> tuple[list[int], list[list[int]]]:
    """``relevant_clip_ids`` (clips overlapping a window) and their ``saliency_scores`` (one 0–4 per
    annotator)."""
    n = int(round(clip.duration / clip_length))
    ids, scores = [], []
    for c in range(n):
        a, b = c * clip_length, (c + 1) * clip_length
        cover = sum(max(0.0, min(b, e) - max(a, s)) for s, e in q.windows) / clip_length
        if cover <= 0:
            continue
        frames = [f for f in range(clip.frames) if a <= f / clip.fps < b] or [
            min(int(a * clip.fps), clip.frames - 1)
        ]
        vis = float(np.mean([r.visible_fraction(f, q.obj) for f in frames]))
        base = 1.0 + 3.0 * min(1.0, cover) * (0.4 + 0.6 * vis)
        noise = rng.integers(-1, 2, annotators) * (rng.random(annotators) < 0.4)
        ids.append(c)
        scores.append([int(v) for v in np.clip(np.round(base + noise), 0, 4)])
    return ids, scores


def r1_at(spans: np.ndarray, gt: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """R1@threshold (hull IoU, as Charades-STA) of each candidate span (K, 2) over GT spans (N, 2): (K,)."""
    inter = np.clip(
        np.minimum(spans[:, None, 1], gt[None, :, 1]) - np.maximum(spans[:, None, 0], gt[None, :, 0]), 0, None
    )
    hull = np.maximum(spans[:, None, 1], gt[None, :, 1]) - np.minimum(spans[:, None, 0], gt[None, :, 0])
    iou = np.divide(inter, hull, out=np.zeros_like(inter), where=hull > 0)
    return (iou >= threshold).mean(axis=1)


def best_constant_span(train: Sequence[Query], heldout: Sequence[Query], step: float) -> dict[str, float]:
    """The one span (on a ``step``-second grid) with the highest train R1@0.5, and its held-out R1@0.5
    (percent). A model's grounding is only evidence of watching the video when it beats this prior."""
    duration = max(q.duration for q in train)
    grid = np.arange(0.0, duration + 1e-9, step)
    a, b = np.meshgrid(grid, grid, indexing="ij")
    spans = np.stack([a[a < b], b[a < b]], axis=1)
    tr = np.array([q.windows[0] for q in train])
    ho = np.array([q.windows[0] for q in heldout])
    scores = r1_at(spans, tr)
    k = int(np.argmax(scores))
    return {
        "start": float(spans[k, 0]),
        "end": float(spans[k, 1]),
        "train_R1@0.5": round(100 * float(scores[k]), 2),
        "heldout_R1@0.5": round(100 * float(r1_at(spans[k : k + 1], ho)[0]), 2),
    }
