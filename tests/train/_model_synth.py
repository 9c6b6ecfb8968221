"""Synthetic examples for the TPO model tests (tiny LLaVA-OV, 4-frame 32×32 videos, seeded)."""

from __future__ import annotations

import numpy as np
import torch

from tpo_train.heads.region import RegionTargets
from tpo_train.heads.temporal import make_temporal_inputs, make_temporal_targets
from tpo_train.model import LoraSpec, RegionHeadSpec, TemporalHeadSpec, TPOModelSpec

EXPRS = ("the cat", "the ball", "the dog", "the red box", "the man", "the cup", "the door", "the chair")
DV = DT = 16  # precomputed-feature sizes used by the temporal tests


def spec(base, dropout: float = 0.1, **kw) -> TPOModelSpec:
    """Region + small temporal head on precomputed 16-d features. ``dropout`` applies to LoRA and the head."""
    temporal = TemporalHeadSpec(
        v_feat_dim=DV,
        t_feat_dim=DT,
        video_features="precomputed",
        text_features="precomputed",
        hidden=32,
        nheads=4,
        enc_layers=1,
        t2v_layers=1,
        dec_layers=2,
        num_queries=5,
        num_dummies=4,
        dropout=dropout,
        input_dropout=min(0.5, dropout * 5),
    )
    kw.setdefault("heads", {"region": RegionHeadSpec(), "temporal": temporal})
    # the tiny LM's embeddings have std ~0.02: std-1 task tokens (the released init, the default) sit far
    # outside
    # that range and the few-hundred-step fits here are tuned for in-range tokens
    kw.setdefault("token_init", "scaled")
    return TPOModelSpec(base=str(base), lora=LoraSpec(dropout=dropout), **kw)


def square_video(rng: np.random.RandomState, t: int = 4):
    """A noisy video with one red square; returns (frames (t, 32, 32, 3) uint8, normalised xyxy box)."""
    v = (rng.rand(t, 32, 32, 3) * 60).astype(np.uint8)
    x1, y1 = rng.randint(0, 16, 2)
    w, h = rng.randint(8, 16, 2)
    v[:, y1 : y1 + h, x1 : x1 + w] = (200, 30, 30)
    return v, [x1 / 32, y1 / 32, (x1 + w) / 32, (y1 + h) / 32]


def region_examples(adapter, n: int, seed: int = 0, template: str = "Where is {expr}?"):
    rng = np.random.RandomState(seed)
    exs, boxes = [], []
    for i in range(n):
        v, box = square_video(rng)
        exs.append(
            adapter.encode(
                "", template.format(expr=EXPRS[i % len(EXPRS)]), answer="<box_begin><boxes>", video=v
            )
        )
        boxes.append(box)
    return exs, RegionTargets(torch.tensor(boxes, dtype=torch.float32))


def temporal_features(n: int, seed: int = 0, t: int = 16):
    """Per item: video features (t, DV) with a marker on the clips of one window, query features (5, DT),
    the window in seconds (1 clip = 1 s)."""
    g = torch.Generator().manual_seed(seed)
    rng = np.random.RandomState(seed)
    vids, qs, wins = [], [], []
    for _ in range(n):
        s = int(rng.randint(0, t - 6))
        e = s + int(rng.randint(3, 6))
        f = torch.randn(t, DV, generator=g) * 0.5
        f[s:e, 0] += 2.0
        vids.append(f)
        qs.append(torch.randn(5, DT, generator=g))
        wins.append([(float(s), float(e))])
    return vids, qs, wins


def temporal_examples(
    adapter,
    n: int,
    seed: int = 0,
    template: str = "Find the video segment that corresponds to the given textual query {query} "
    "and determine its start and end seconds.",
):
    rng = np.random.RandomState(seed + 1)
    exs = [
        adapter.encode(
            "",
            template.format(query=f"a person opens door {i}"),
            answer="<time_begin><temp>",
            video=(rng.rand(4, 32, 32, 3) * 255).astype(np.uint8),
        )
        for i in range(n)
    ]
    vids, qs, wins = temporal_features(n, seed)
    inputs = make_temporal_inputs(vids, qs, [16.0] * n)
    return exs, inputs, make_temporal_targets(wins, [16.0] * n, [16] * n), wins
