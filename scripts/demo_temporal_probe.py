"""The demo's temporal head alone on a synthetic world: cache what the head is fed once, then train and score
the head in seconds (no LM), to compare video extractors, query features and optimisation settings.

    python scripts/demo_temporal_probe.py cache WORLD CACHE            # 16 sampled frames per video + queries
    python scripts/demo_temporal_probe.py train CACHE --video hue_blobs_delta --text words --steps 1500

``cache`` decodes every video as training does (``model.frames`` segment midpoints) and stores the training
queries (temporal/*.jsonl) and the held-out queries exactly as ``tpo-eval run synth_charades|synth_qvh`` load
them. ``train`` builds the demo's head spec (tpo_train/configs/demo_stage2.yaml) with the given feature kinds,
trains it on the training queries (Charades + QVHighlights formats, as stage 2) and prints held-out
synth_charades R1@0.3/0.5/0.7 and mIoU (top-1 window), synth_qvh R1@0.5, and the same on 400 training queries.
The ``<temp>`` state the head gets is a constant (zeros): this measures what the head learns from its inputs.
Also printed: the best of all windows (``best10@0.5``), the windows re-ranked by saliency contrast
(``rescored@0.5``) and how often the most salient clip lies in the window. The docs/SYNTH.md table was
measured before the demo spec took ``w_label: 4, decode_saliency: 0.5``: add ``--set w_label=20
decode_saliency=0`` for its rows (e.g. ``--steps 1600 --batch 20 --lr 2e-3``); ``--save``/``--load``
re-score a trained head.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
FRAMES = 16


def cache(world: Path, out: Path) -> None:
    from tpo_eval.api import load_samples
    from tpo_eval.config import DataPaths, load_benchmark
    from tpo_eval.video.decode import decode
    from tpo_eval.video.sampling import segment_midpoints

    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for fmt in ("charades", "qvh"):
        for line in (world / "temporal" / f"{fmt}_train.jsonl").read_text().splitlines():
            r = json.loads(line)
            sal = {}
            if "saliency_scores" in r:
                sal = {int(c): float(sum(s)) for c, s in zip(r["relevant_clip_ids"], r["saliency_scores"])}
            rows.append(
                {
                    "split": "train",
                    "bench": fmt,
                    "vid": r["vid"],
                    "query": r["query"],
                    "duration": r["duration"],
                    "windows": r["relevant_windows"],
                    "saliency": sal,
                }
            )
    for bench in ("synth_charades", "synth_qvh"):
        _, samples = load_samples(load_benchmark(bench), DataPaths(world))
        for s in samples:
            meta = dict(s.meta)
            wins = meta.get("relevant_windows") or [list(s.target)]
            rows.append(
                {
                    "split": "heldout",
                    "bench": bench.split("_")[1],
                    "vid": Path(s.media.paths[0]).stem,
                    "query": s.question,
                    "duration": s.duration,
                    "windows": wins,
                    "saliency": {},
                }
            )
    vids = sorted({r["vid"] for r in rows})
    sampler = lambda a, b, fps: segment_midpoints(a, b, fps, FRAMES)  # noqa: E731
    frames = np.stack([decode(world / "videos" / f"{v}.mp4", "video", sampler, fps=1.0).frames for v in vids])
    np.save(out / "frames.npy", frames)
    (out / "meta.json").write_text(json.dumps({"vids": vids, "rows": rows}))
    print(f"cached {len(vids)} videos {frames.shape}, {len(rows)} queries → {out}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("cache")
    c.add_argument("world", type=Path)
    c.add_argument("out", type=Path)
    t = sub.add_parser("train")
    t.add_argument("cache", type=Path)
    t.add_argument("--video", default="color_moments_delta")
    t.add_argument("--text", default="model", help="model (a tiny LM's input embeddings) or an extractor")
    t.add_argument("--base", type=Path, help="the checkpoint whose LM embeds the words (--text model)")
    t.add_argument("--steps", type=int, default=1000)
    t.add_argument("--batch", type=int, default=32)
    t.add_argument("--lr", type=float, default=1e-3)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--save", type=Path, help="write the trained head's state here")
    t.add_argument("--load", type=Path, help="score this saved head instead of training one")
    t.add_argument("--set", nargs="*", default=[], help="head spec overrides KEY=VALUE (YAML values)")
    a = ap.parse_args()
    if a.cmd == "cache":
        cache(a.world, a.out)
        return 0
    from demo_temporal_probe_train import train  # noqa: E402 - the training half, kept beside this file

    train(a)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
