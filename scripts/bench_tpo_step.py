"""TPO training-step time ÷ plain LoRA SFT step time, same tiny model and batch.

Plain LoRA SFT: the base model's own transformers forward (``input_ids`` + visual inputs + ``labels``) with
the same LoRA, AdamW over the LoRA weights. TPO: :class:`TPOModel` forward (task tokens, routing, region +
temporal
heads) and AdamW over LoRA + task tokens + heads. Both see the same token batch (half region, half temporal
examples, 4-frame videos). Steps are interleaved (SFT, TPO, SFT, TPO, …) so machine load hits both alike; the
figure is the ratio of medians. The paper reports +25 % for its full model; our goal is ≤ 1.10.

Usage: ``python scripts/bench_tpo_step.py [--steps 30] [--batch 8] [--base DIR]`` (builds a tiny LLaVA-OV when
no ``--base`` is given).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tpo_train.heads.region import RegionTargets  # noqa: E402
from tpo_train.heads.temporal import make_temporal_inputs, make_temporal_targets  # noqa: E402

# noqa: E402
from tpo_train.model import LoraSpec, RegionHeadSpec, TemporalHeadSpec, TPOModel, TPOModelSpec, collate
from tpo_train.tiny import build_tiny_llava_ov  # noqa: E402


def make_batch(model: TPOModel, n_region: int, n_temporal: int, n_chat: int, frames: int, seed: int = 0):
    """Region, temporal and plain conversation examples (the last are what plain SFT also trains on)."""
    a, rng = model.adapter, np.random.RandomState(seed)
    g = torch.Generator().manual_seed(seed)
    half, k = n_region, n_temporal
    video = lambda: (rng.rand(frames, 32, 32, 3) * 255).astype(np.uint8)  # noqa: E731
    exs = [
        a.encode("", f"Where is the object {i}?", answer="<box_begin><boxes>", video=video())
        for i in range(half)
    ]
    exs += [
        a.encode(
            "",
            f"Find the video segment that corresponds to the given textual query person {i} and "
            f"determine its start and end seconds.",
            answer="<time_begin><temp>",
            video=video(),
        )
        for i in range(k)
    ]
    exs += [
        a.encode(
            "",
            "Question: What is the person doing? Options: (A) walking (B) running (C) sitting",
            answer=f"({'ABC'[i % 3]}) a person is sitting on a chair.",
            video=video(),
        )
        for i in range(n_chat)
    ]
    boxes = torch.rand(half, 4, generator=g).sort(-1).values[:, [0, 1, 2, 3]]
    boxes = torch.stack(
        [
            boxes[:, 0],
            boxes[:, 1],
            boxes[:, 2].clamp(min=boxes[:, 0] + 0.1),
            boxes[:, 3].clamp(min=boxes[:, 1] + 0.1),
        ],
        -1,
    )
    ti = make_temporal_inputs(
        [torch.randn(16, 16, generator=g) for _ in range(k)],
        [torch.randn(6, 16, generator=g) for _ in range(k)],
        [16.0] * k,
    )
    tt = make_temporal_targets([[(2.0 + i % 5, 8.0 + i % 5)] for i in range(k)], [16.0] * k, [16] * k)
    return collate(
        exs, a.pad_id, head_inputs={"temporal": ti}, targets={"region": RegionTargets(boxes), "temporal": tt}
    )


def main(argv: list[str] | None = None) -> float:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--region", type=int, default=2, help="region examples per batch")
    ap.add_argument("--temporal", type=int, default=2, help="temporal examples per batch")
    ap.add_argument("--chat", type=int, default=4, help="conversation (MCQ) examples per batch")
    ap.add_argument("--frames", type=int, default=16, help="frames per video (TPO samples 16)")
    ap.add_argument("--base", type=Path, default=None)
    ap.add_argument(
        "--lm-hidden", type=int, default=64, help="LM width of the built tiny model (64 = the tests')"
    )
    ap.add_argument(
        "--lm-layers", type=int, default=2, help="LM depth of the built tiny model (2 = the tests')"
    )
    ap.add_argument(
        "--threads", type=int, default=1, help="torch threads (1: steadier timings on a shared CPU)"
    )
    args = ap.parse_args(argv)
    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        base = args.base or build_tiny_llava_ov(
            Path(tmp) / "tiny", seed=0, text_hidden=args.lm_hidden, text_layers=args.lm_layers
        )
        heads = {
            "region": RegionHeadSpec(),
            "temporal": TemporalHeadSpec(v_feat_dim=16, t_feat_dim=16, hidden=32, nheads=4, num_queries=10),
        }
        model = TPOModel.build(TPOModelSpec(base=str(base), lora=LoraSpec(), heads=heads))
        batch = make_batch(model, args.region, args.temporal, args.chat, args.frames)
    model.train()
    lora = [p for _, p in model.param_groups()["lora"]]
    sft_opt = torch.optim.AdamW(lora, lr=1e-4, foreach=True)
    tpo_opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4, foreach=True)
    hf_inputs = dict(
        input_ids=batch.input_ids, attention_mask=batch.attention_mask, labels=batch.labels, **batch.vision
    )

    def sft_step() -> None:
        sft_opt.zero_grad(set_to_none=True)
        model.base(**hf_inputs).loss.backward()
        sft_opt.step()

    def tpo_step() -> None:
        tpo_opt.zero_grad(set_to_none=True)
        model(batch).loss.backward()
        tpo_opt.step()

    times: dict[str, list[float]] = {"sft": [], "tpo": []}
    for i in range(args.warmup + args.steps):
        for name, fn in (("sft", sft_step), ("tpo", tpo_step)):
            t0 = time.perf_counter()
            fn()
            if i >= args.warmup:
                times[name].append(time.perf_counter() - t0)
    sft, tpo = statistics.median(times["sft"]), statistics.median(times["tpo"])
    lm = "given base" if args.base else f"tiny LLaVA-OV, LM {args.lm_hidden}-d × {args.lm_layers} layers"
    print(
        f"{lm}; batch {args.region} region + {args.temporal} temporal + {args.chat} chat, {args.frames} "
        f"frames, {args.steps} steps each (median): plain LoRA SFT {sft * 1e3:.1f} ms, "
        f"TPO {tpo * 1e3:.1f} ms"
    )
    print(f"TPO step / plain LoRA SFT step = {tpo / sft:.3f}")
    return tpo / sft


if __name__ == "__main__":
    main()
