"""A pretrained vision encoder, in miniature (step 2 of :mod:`tpo_train.demo_base`): the tiny model's SigLIP
trained on the synthetic world's labelled train frames before anything else.

A real MLLM starts from a vision encoder pretrained on millions of images; the tiny model's is random, and a
random 2-layer encoder passes too little of what the questions ask about (which colour, which shape, where)
for a tiny LM to find in minutes (a linear probe of "colour c is in the clip" on its pooled video tokens:
held-out near the base rate). So the base builder first trains the encoder on the world's exact ground truth
(``gt/train.jsonl``): for every pooled video token — one quadrant of a frame, as LLaVA-OneVision pools video
patches 2×2 — which colours and which shapes are visible in it, through a linear read-out that is then
dropped. Only the train split is used; the LM, the connector and the processor are untouched.

    from tpo_train.demo_vision import pretrain_vision
    pretrain_vision("tiny_base", "data/synth_base", "runs/demo_base/vision")   # -> Path
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

COLOURS = ("red", "green", "blue", "yellow")
SHAPES = ("square", "circle", "triangle", "cross")
ORIGIN_FILE = "demo_vision.json"


def frame_targets(gt: dict, frame: int, grid: int = 2, min_visible: float = 0.3) -> list[list[float]]:
    """Per cell of a ``grid``×``grid`` split of ``frame`` (row-major): multi-hot over COLOURS + SHAPES of the
    objects whose centre lies in the cell and that are at least ``min_visible`` visible."""
    size = float(gt["size"])
    cells = [[0.0] * (len(COLOURS) + len(SHAPES)) for _ in range(grid * grid)]
    for o in gt["objects"]:
        if o["visible"][frame] < min_visible:
            continue
        x, y = o["centre"][frame]
        cell = min(grid - 1, int(y / size * grid)) * grid + min(grid - 1, int(x / size * grid))
        colour = o["colours"][frame]
        if colour in COLOURS:
            cells[cell][COLOURS.index(colour)] = 1.0
        cells[cell][len(COLOURS) + SHAPES.index(o["shape"])] = 1.0
    return cells


def _frames(world: Path, per_clip: int, seed: int) -> tuple[list, list]:
    import numpy as np
    from PIL import Image

    rng = np.random.RandomState(seed)
    images, targets = [], []
    for line in (world / "gt" / "train.jsonl").read_text().splitlines():
        gt = json.loads(line)
        for f in sorted(rng.choice(gt["frames"], size=min(per_clip, gt["frames"]), replace=False)):
            img = Image.open(world / "frames" / gt["vid"] / f"{f:05d}.jpg").convert("RGB")
            images.append(np.array(img))
            targets.append(frame_targets(gt, int(f)))
    return images, targets


def pretrain_vision(
    base: str | Path,
    world: str | Path,
    out: str | Path,
    *,
    steps: int = 300,
    batch: int = 64,
    lr: float = 3e-3,
    frames_per_clip: int = 4,
    seed: int = 0,
) -> Path:
    """Write ``out``: ``base`` (a tiny LLaVA-OneVision folder) with its vision encoder trained as the module
    docstring says; returns ``out``. Deterministic for a given ``seed`` (frames drawn and batches shuffled
    from it)."""
    import torch
    from transformers import AutoProcessor, LlavaOnevisionForConditionalGeneration

    base, world, out = Path(base), Path(world), Path(out)
    torch.manual_seed(seed)
    model = LlavaOnevisionForConditionalGeneration.from_pretrained(base, dtype=torch.float32)
    processor = AutoProcessor.from_pretrained(base)
    tower = model.model.vision_tower
    images, targets = _frames(world, frames_per_clip, seed)
    pixels = processor.video_processor(videos=[images], return_tensors="pt")["pixel_values_videos"][0]
    y = torch.tensor(targets)  # (N, cells, colours + shapes)
    read_out = torch.nn.Linear(tower.config.hidden_size, y.shape[-1])
    params = list(tower.parameters()) + list(read_out.parameters())
    for p in params:
        p.requires_grad = True
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.1)
    gen = torch.Generator().manual_seed(seed)
    losses = []
    tower.train()
    for _ in range(steps):
        idx = torch.randint(len(pixels), (batch,), generator=gen)
        logits = read_out(pooled_tokens(tower, pixels[idx]))
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.item())
    tower.eval()
    tmp = out.with_name(f"{out.name}.tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp, safe_serialization=True)
    for f in base.iterdir():  # processor, tokenizer, chat template, generation config of the base
        if f.is_file() and not (tmp / f.name).exists():
            shutil.copyfile(f, tmp / f.name)
    origin = {
        "base": str(base.resolve()),
        "world": str(world.resolve()),
        "steps": steps,
        "batch": batch,
        "lr": lr,
        "frames_per_clip": frames_per_clip,
        "seed": seed,
        "frames": len(pixels),
        "loss_first": losses[0],
        "loss_last": sum(losses[-20:]) / len(losses[-20:]),
    }
    (tmp / ORIGIN_FILE).write_text(json.dumps(origin, indent=2, sort_keys=True))
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    return out


def pooled_tokens(tower, pixels):
    """(N, 3, H, W) frames → (N, cells, hidden): the encoder's last hidden states (the layer LLaVA-OneVision
    reads), averaged 2×2 over the patch grid as its video pooling does."""
    import torch

    h = tower(pixels, output_hidden_states=True).hidden_states[-1]
    n, p, d = h.shape
    side = int(round(p**0.5))
    grid = h.transpose(1, 2).reshape(n, d, side, side)
    return torch.nn.functional.avg_pool2d(grid, 2).flatten(2).transpose(1, 2)
