"""The training half of scripts/demo_temporal_probe.py (see there)."""

from __future__ import annotations

import json
import random
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml

REPO = Path(__file__).resolve().parents[1]


def head_spec(video: str, text: str, sets: list[str]) -> Any:
    from tpo_train.heads.temporal_features import TEXT_EXTRACTORS, VIDEO_EXTRACTORS
    from tpo_train.model.spec import TemporalHeadSpec

    cfg = yaml.safe_load((REPO / "tpo_train/configs/demo_stage2.yaml").read_text())
    kw = dict(cfg["model"]["heads"]["temporal"])
    kw.update(video_features=video, text_features=text, v_feat_dim=None, t_feat_dim=None)
    if video in VIDEO_EXTRACTORS:
        kw["v_feat_dim"] = VIDEO_EXTRACTORS[video].dim
    if text in TEXT_EXTRACTORS:
        kw["t_feat_dim"] = TEXT_EXTRACTORS[text].dim
    for s in sets:
        k, v = s.split("=", 1)
        kw[k] = yaml.safe_load(v)
    return TemporalHeadSpec(**kw)


def _text_fn(kind: str, base: Path | None):
    from tpo_train.heads.temporal_features import TEXT_EXTRACTORS, extract_text

    if kind in TEXT_EXTRACTORS:
        return lambda s: extract_text(kind, s)
    from tpo_train.checkpoint import load_model
    from tpo_train.heads.temporal_features import ModelFeatures

    feats = ModelFeatures(load_model(base).adapter)
    return feats.query


def _iou(a, b) -> float:
    inter = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    union = max(a[1], b[1]) - min(a[0], b[0])
    return inter / union if union > 0 else 0.0


def train(a: Any) -> dict:
    from tpo_train.heads.temporal import TemporalHead, make_temporal_inputs, make_temporal_targets
    from tpo_train.heads.temporal_features import extract_video

    torch.manual_seed(a.seed)
    meta = json.loads((a.cache / "meta.json").read_text())
    frames = np.load(a.cache / "frames.npy", mmap_mode="r")
    t0 = time.time()
    vfeat = {v: extract_video(a.video, np.asarray(frames[i])) for i, v in enumerate(meta["vids"])}
    text = _text_fn(a.text, a.base)
    rows = meta["rows"]
    qfeat = [text(r["query"]) for r in rows]
    print(
        f"features: {time.time() - t0:.1f}s  video {next(iter(vfeat.values())).shape}  text {qfeat[0].shape}"
    )
    spec = head_spec(a.video, a.text, a.set)
    llm = 64
    head = TemporalHead(spec, llm)
    params = [p for p in head.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=a.lr, weight_decay=0.02, eps=1e-5)
    warm = max(1, a.steps // 10)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt,
        lambda s: min(1.0, (s + 1) / warm) * (0.05 + 0.95 * 0.5 * (1 + np.cos(np.pi * min(1, s / a.steps)))),
    )
    tr = [i for i, r in enumerate(rows) if r["split"] == "train"]
    rng = random.Random(a.seed)

    def batch(idx, train_mode):
        rs = [rows[i] for i in idx]
        inp = make_temporal_inputs(
            [vfeat[r["vid"]] for r in rs],
            [qfeat[i] for i in idx],
            [r["duration"] for r in rs],
            tef=spec.tef,
            vids=[r["vid"] for r in rs],
        )
        if not train_mode:
            return inp, None
        tg = make_temporal_targets(
            [[tuple(w) for w in r["windows"]] for r in rs],
            [r["duration"] for r in rs],
            [inp.video.shape[1]] * len(rs),
            scores=[{int(k): v for k, v in r["saliency"].items()} for r in rs],
            clip_len=1.0,
            rng=rng,
            pairs=spec.saliency_pairs,
        )
        return inp, tg

    hid = torch.zeros(a.batch, llm)
    t0 = time.time()
    head.train()
    if getattr(a, "load", None):
        head.load_state_dict(torch.load(a.load))
    for step in range(0 if getattr(a, "load", None) else a.steps):
        idx = rng.sample(tr, a.batch)
        inp, tg = batch(idx, True)
        loss = head.loss(head(hid[: len(idx)], inp), tg)["total"]
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        if (step + 1) % max(1, a.steps // 5) == 0:
            print(f"step {step + 1} loss {loss.item():.3f} ({time.time() - t0:.0f}s)", flush=True)
    head.eval()
    if getattr(a, "save", None):
        torch.save(head.state_dict(), a.save)
    out = {}
    rtr = random.Random(1).sample(tr, 400)
    for name, idx in (
        (
            "heldout/charades",
            [i for i, r in enumerate(rows) if r["split"] == "heldout" and r["bench"] == "charades"],
        ),
        ("heldout/qvh", [i for i, r in enumerate(rows) if r["split"] == "heldout" and r["bench"] == "qvh"]),
        ("train400", rtr),
    ):
        ious, best10, sal_in, resc = [], [], [], []
        with torch.no_grad():
            for k in range(0, len(idx), 64):
                inp, _ = batch(idx[k : k + 64], False)
                spans = head.decode(head(torch.zeros(inp.video.shape[0], llm), inp), inp)
                for i, sp in zip(idx[k : k + 64], spans):
                    wins = rows[i]["windows"]
                    ious.append(max(_iou(sp.windows[0][:2], w) for w in wins))
                    best10.append(max(_iou(c[:2], w) for c in sp.windows for w in wins))
                    sal = np.asarray(sp.saliency)
                    ctr = (np.arange(len(sal)) + 0.5) * rows[i]["duration"] / len(sal)

                    def rs(c, sal=sal, ctr=ctr):
                        inside = (ctr >= c[0]) & (ctr <= c[1])
                        if not inside.any() or inside.all():
                            return -1e9
                        return c[2] + 0.5 * (sal[inside].mean() - sal[~inside].mean())

                    top = max(sp.windows, key=rs)
                    resc.append(max(_iou(top[:2], w) for w in wins))
                    n, dur = len(sp.saliency), rows[i]["duration"]
                    tc = (int(np.argmax(sp.saliency)) + 0.5) * dur / n
                    sal_in.append(any(w[0] <= tc <= w[1] for w in wins))
        ious = np.array(ious)
        out[name] = {f"R1@{t}": round(100 * float((ious >= t).mean()), 2) for t in (0.3, 0.5, 0.7)}
        out[name]["mIoU"] = round(100 * float(ious.mean()), 2)
        out[name]["best10@0.5"] = round(100 * float((np.array(best10) >= 0.5).mean()), 2)
        out[name]["rescored@0.5"] = round(100 * float((np.array(resc) >= 0.5).mean()), 2)
        out[name]["sal_argmax_in"] = round(100 * float(np.mean(sal_in)), 2)
    print(
        json.dumps(
            {
                "video": a.video,
                "text": a.text,
                "steps": a.steps,
                "lr": a.lr,
                "set": a.set,
                "seed": a.seed,
                **out,
            }
        )
    )
    return out
