"""Temporal-head training step (forward + loss + backward) with CG-DETR's full objective ÷ the reduced one.

Full: every term of ``TemporalCriterion`` (negative-pair branch, rank-contrastive, attention terms,
moment/sentence
alignment, distillation, orthogonality) and the released TPO structure's 2 dummy layers and 10 prompts.
Reduced:
span/GIoU/label + the hinge (the head before CG-DETR's objective was ported): ``w_sal_rank = w_sal_neg =
w_wattn = w_ms_align = w_distill = w_ortho = 0``, 1 dummy layer, 1 prompt. Same tiny sizes otherwise; steps
interleaved (full, reduced, …) so machine load hits both alike; the figure is the ratio of medians.

Usage: ``python scripts/bench_temporal_objective.py [--steps 30] [--items 6] [--hidden 32]``
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

REDUCED = dict(
    dummy_layers=1,
    total_prompts=1,
    w_sal_rank=0,
    w_sal_neg=0,
    w_wattn=0,
    w_ms_align=0,
    w_distill=0,
    w_ortho=0,
)


def main() -> None:
    from tpo_train.heads.temporal import TemporalHead, make_temporal_inputs, make_temporal_targets
    from tpo_train.model.spec import TemporalHeadSpec

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--items", type=int, default=6)
    ap.add_argument("--hidden", type=int, default=32)
    a = ap.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(1)
    kw = dict(
        v_feat_dim=16,
        t_feat_dim=16,
        video_features="precomputed",
        text_features="precomputed",
        hidden=a.hidden,
        nheads=4,
        enc_layers=1,
        t2v_layers=1,
        dec_layers=2,
        num_queries=5,
        num_dummies=4,
        dropout=0.0,
    )
    n = a.items
    inp = make_temporal_inputs(
        [torch.randn(8, 16) for _ in range(n)],
        [torch.randn(5, 16) for _ in range(n)],
        [16.0] * n,
        vids=[f"v{i}" for i in range(n)],
    )
    tg = make_temporal_targets(
        [[(2.0, 6.0)]] * n, [16.0] * n, [8] * n, scores=[{1: 3.0, 2: 9.0}] + [{}] * (n - 1)
    )
    h = torch.randn(n, 64, requires_grad=True)
    heads = {
        "full": TemporalHead(TemporalHeadSpec(**kw), 64),
        "reduced": TemporalHead(TemporalHeadSpec(**kw, **REDUCED), 64),
    }
    times: dict[str, list[float]] = {k: [] for k in heads}
    for step in range(a.steps + 3):
        for k, head in heads.items():
            t0 = time.perf_counter()
            out = head.loss(head(h, inp), tg)
            out["total"].backward()
            if step >= 3:  # warm-up steps are not timed
                times[k].append(time.perf_counter() - t0)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(
        f"median step: full {med['full'] * 1e3:.1f} ms, reduced {med['reduced'] * 1e3:.1f} ms; "
        f"full / reduced = {med['full'] / med['reduced']:.2f} ({a.steps} steps, {n} items, hidden {a.hidden})"
    )


if __name__ == "__main__":
    main()
