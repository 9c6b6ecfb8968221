"""Mask head with a small random SAM2 (256 px, slim Hiera-T): forward + backward, frozen SAM2, embedding
target, and decode through SAM2's video propagation with the adapter's tokens on frame 0."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

torch = pytest.importorskip("torch")
if importlib.util.find_spec("sam2") is None:
    pytest.skip("sam2 is not installed (pip install -r requirements/heavy.txt)", allow_module_level=True)

from tpo_train.heads.base import MaskOutput  # noqa: E402

# noqa: E402
from tpo_train.heads.mask import SMALL_SAM2_OVERRIDES, MaskHead, MaskInputs, MaskTargets, sam_images
from tpo_train.heads.ops import mask_to_box  # noqa: E402
from tpo_train.model.spec import MaskHeadSpec  # noqa: E402

D = 24


@pytest.fixture(scope="module")
def head():
    torch.manual_seed(0)
    return MaskHead(MaskHeadSpec(image_size=256, hydra_overrides=SMALL_SAM2_OVERRIDES, mask_loss=True), D)


def _video(t: int = 2) -> np.ndarray:
    v = (np.random.RandomState(0).rand(t, 32, 32, 3) * 50).astype(np.uint8)
    v[:, 8:20, 4:16] = (220, 40, 40)
    return v


def test_forward_backward_reaches_adapter_not_sam2(head):
    sam_before = {n: p.detach().clone() for n, p in head.sam.named_parameters()}
    hidden = torch.randn(2, D, requires_grad=True)
    video = _video()
    gt_masks = torch.zeros(2, 32, 32)
    gt_masks[:, 8:20, 4:16] = 1
    targets = MaskTargets(torch.tensor([[4 / 32, 8 / 32, 16 / 32, 20 / 32]] * 2), gt_masks)
    head.train()
    assert not head.sam.training
    pred = head(hidden, MaskInputs(images=sam_images(video, 256)))
    assert pred.sparse.shape == (2, 3, 256) and pred.mask_logits.shape == (2, 1, 64, 64)
    terms = head.loss(pred, targets)
    assert set(terms) == {"embed", "box", "bce", "dice", "total"}
    opt = torch.optim.AdamW([p for _, p in head.trainable_named_parameters()], lr=1e-2)
    terms["total"].backward()
    opt.step()
    assert float(hidden.grad.abs().sum()) > 0
    assert all(float(p.grad.abs().sum()) > 0 for _, p in head.trainable_named_parameters())
    assert all(p.grad is None and not p.requires_grad for p in head.sam.parameters())
    assert all(torch.equal(p, sam_before[n]) for n, p in head.sam.named_parameters())
    assert not any(n.startswith("sam.") for n, _ in head.trainable_named_parameters())
    with pytest.raises(ValueError, match="256"):
        head(hidden, MaskInputs(images=sam_images(video, 64)))


def test_embedding_target_is_sam2s_own_box_prompt(head):
    box = torch.tensor([[0.1, 0.2, 0.5, 0.6]])
    emb = head.prompt_embedding(box)
    assert emb.shape == (1, 3, 256)
    pts = torch.tensor([[[0.1 * 256, 0.2 * 256], [0.5 * 256, 0.6 * 256]]])
    own, _ = head.sam.sam_prompt_encoder(points=(pts, torch.tensor([[2, 3]])), boxes=None, masks=None)
    assert torch.equal(emb, own)
    pred = head(torch.randn(1, D))
    exact = type(pred)(sparse=emb, box=box, mask_logits=None)
    assert head.loss(exact, MaskTargets(box))["total"].item() == 0.0
    assert head.loss(pred, MaskTargets(box))["embed"].item() > 0


def test_decode_puts_the_adapter_tokens_on_frame_zero(head):
    video = _video(2)
    a, b = torch.tensor([0.1, 0.2, 0.5, 0.6]), torch.tensor([0.6, 0.0, 1.0, 0.3])
    with torch.no_grad():
        own_a = head._propagate(video, None, a)  # SAM2 prompted with box a
        own_b = head._propagate(video, None, b)
        swapped = head._propagate(video, head.prompt_embedding(a[None]), b)  # box b carries a's tokens
    assert own_a.shape == (2, 32, 32)
    assert not np.array_equal(own_a, own_b)
    assert np.array_equal(swapped, own_a)
    head.eval()
    with torch.no_grad():
        out = head.decode(head(torch.randn(1, D)), MaskInputs(videos=[video]))[0]
    assert isinstance(out, MaskOutput) and out.masks.shape == (2, 32, 32) and len(out.boxes) == 2
    assert out.boxes[0] == tuple(float(v) for v in mask_to_box(torch.from_numpy(out.masks[0])))
    assert head.decode(head(torch.randn(1, D)))[0].masks is None  # no video: only the regressed box


def test_mask_head_inside_the_tpo_model(tmp_path):
    from tpo_train.model import LoraSpec, TPOModel, TPOModelSpec, collate, trainable_state_dict
    from tpo_train.tiny import build_tiny_llava_ov

    base = build_tiny_llava_ov(tmp_path / "base")
    spec = MaskHeadSpec(image_size=256, hydra_overrides=SMALL_SAM2_OVERRIDES)
    m = TPOModel.build(TPOModelSpec(base=str(base), lora=LoraSpec(), heads={"mask": spec}))
    a = m.adapter
    video = _video(4)
    exs = [
        a.encode(
            "",
            "Track the object in the video using a box with initial coordinates <track_box>.",
            answer="<track_begin><tracking>",
            video=video,
        ),
        a.encode(
            "",
            "Show the tracking trajectory of the red square.",
            answer="<track_begin><tracking>",
            video=video,
        ),
    ]
    box = torch.tensor([[4 / 32, 8 / 32, 16 / 32, 20 / 32]])
    batch = collate(exs, a.pad_id, input_boxes=box, targets={"mask": MaskTargets(box.repeat(2, 1))})
    out = m(batch)
    assert set(out.head_losses["mask"]) == {"embed", "box", "total"}
    out.loss.backward()
    assert float(m.task_tokens["mask"].grad.abs().sum()) > 0
    assert float(m.box_encoder[0].weight.grad.abs().sum()) > 0
    assert all(p.grad is None for p in m.heads["mask"].sam.parameters())
    assert all(".sam." not in n for n, _ in m.param_groups()["heads.mask"])
    assert not any(".sam." in k for k in trainable_state_dict(m))
