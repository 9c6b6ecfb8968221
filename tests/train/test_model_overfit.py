"""A tiny TPO model memorises a handful of synthetic region + temporal items through LoRA, task tokens and
heads: region IoU > 0.9 and temporal R1@0.5 = 100 on the training items (both decoded from the heads)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("peft")

from tpo_train.heads.ops import box_iou_giou, pairwise_span_iou_giou  # noqa: E402
from tpo_train.model import TPOModel, collate  # noqa: E402
from tpo_train.tiny import build_tiny_llava_ov  # noqa: E402

from ._model_synth import region_examples, spec, temporal_examples  # noqa: E402

N = 6
STEPS = 300


def test_overfit_region_and_temporal(tmp_path):
    torch.manual_seed(0)
    base = build_tiny_llava_ov(tmp_path / "base", seed=0)
    # dropout off: this checks capacity and gradient paths, not regularisation
    m = TPOModel.build(spec(base, dropout=0.0))
    a = m.adapter
    rex, rt = region_examples(a, N, seed=0)
    tex, ti, tt, windows = temporal_examples(a, N, seed=0)
    batch = collate(rex + tex, a.pad_id, head_inputs={"temporal": ti}, targets={"region": rt, "temporal": tt})
    g = m.param_groups()
    lrs = {"lora": 3e-3, "task_tokens": 1e-2, "heads.region": 1e-2, "heads.temporal": 3e-3}
    opt = torch.optim.AdamW(
        [{"params": [p for _, p in g[k]], "lr": lr} for k, lr in lrs.items()], weight_decay=0.0
    )
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=list(lrs.values()), total_steps=STEPS, pct_start=0.1
    )
    m.train()
    for _ in range(STEPS):
        opt.zero_grad()
        m(batch).loss.backward()
        opt.step()
        sched.step()
    m.eval()
    with torch.no_grad():
        out = m(batch)
    boxes = torch.tensor([o.box for o in m.heads["region"].decode(out.head_preds["region"])])
    iou, _ = box_iou_giou(boxes, rt.boxes)
    assert bool((iou > 0.9).all()), f"region IoU {iou.tolist()}"
    spans = m.heads["temporal"].decode(out.head_preds["temporal"], ti)
    top1 = torch.tensor([s.windows[0][:2] for s in spans])
    tiou = torch.stack(
        [pairwise_span_iou_giou(top1[i : i + 1], torch.tensor(w))[0].max() for i, w in enumerate(windows)]
    )
    r1_at_05 = 100.0 * float((tiou >= 0.5).float().mean())
    assert r1_at_05 == 100.0, f"temporal top-1 IoU {tiou.tolist()}"
    assert out.lm_loss.item() < 0.05  # the triggers are learned on the way
