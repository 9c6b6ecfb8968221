"""Region and temporal heads: exact loss values on hand-worked cases, matching, geometry, decode."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("scipy")

from tpo_train.heads.ops import (  # noqa: E402,E501
    box_iou_giou,
    mask_to_box,
    pairwise_span_iou_giou,
    span_cxw_to_xx,
    span_xx_to_cxw,
)
from tpo_train.heads.region import RegionHead, RegionTargets  # noqa: E402
from tpo_train.heads.temporal import (  # noqa: E402
    TemporalHead,
    _insert_after_last,
    make_temporal_inputs,
    make_temporal_targets,
)
from tpo_train.heads.temporal_loss import TemporalCriterion, TemporalPred, TemporalTargets  # noqa: E402
from tpo_train.model.spec import RegionHeadSpec, TemporalHeadSpec  # noqa: E402


def test_box_iou_giou_hand_worked():
    iou, giou = box_iou_giou(torch.tensor([[0.1, 0.1, 0.5, 0.5]]), torch.tensor([[0.2, 0.2, 0.6, 0.6]]))
    assert iou.item() == pytest.approx(0.09 / 0.23, abs=1e-6)
    assert giou.item() == pytest.approx(0.09 / 0.23 - 0.02 / 0.25, abs=1e-6)


def test_region_loss_l1_giou_and_mse():
    head = RegionHead(RegionHeadSpec(), 8)
    gt = RegionTargets(torch.tensor([[0.2, 0.2, 0.6, 0.6]]))
    terms = head.loss(torch.tensor([[0.1, 0.1, 0.5, 0.5]]), gt)
    assert terms["l1"].item() == pytest.approx(0.1, abs=1e-6)
    assert terms["giou"].item() == pytest.approx(1 - (0.09 / 0.23 - 0.08), abs=1e-6)
    assert terms["total"].item() == pytest.approx(2 * 0.1 + 0.2 * (1 - (0.09 / 0.23 - 0.08)), abs=1e-6)
    inverted = head.loss(torch.tensor([[0.5, 0.5, 0.1, 0.1]]), gt)  # TPO: worst GIoU term for an inverted box
    assert inverted["giou"].item() == 2.0
    mse = RegionHead(RegionHeadSpec(loss="mse"), 8).loss(torch.tensor([[0.1, 0.1, 0.5, 0.5]]), gt)
    assert mse["total"].item() == pytest.approx(0.01, abs=1e-7)
    with pytest.raises(ValueError, match="2 target"):
        head.loss(torch.zeros(1, 4), RegionTargets(torch.zeros(2, 4)))
    with pytest.raises(ValueError, match="l1_giou"):
        RegionHead(RegionHeadSpec(loss="smooth"), 8)


def test_region_decode_orders_and_clamps():
    out = RegionHead(RegionHeadSpec(), 8).decode(torch.tensor([[0.6, -0.2, 0.2, 1.3]]))
    assert out[0].box == pytest.approx((0.2, 0.0, 0.6, 1.0))


def test_span_geometry():
    xx = torch.tensor([[0.2, 0.6]])
    assert torch.allclose(span_xx_to_cxw(xx), torch.tensor([[0.4, 0.4]]))
    assert torch.allclose(span_cxw_to_xx(span_xx_to_cxw(xx)), xx)
    iou, giou = pairwise_span_iou_giou(
        torch.tensor([[0.0, 2.0], [0.0, 1.0]]), torch.tensor([[1.0, 3.0], [2.0, 3.0]])
    )
    assert torch.allclose(iou, torch.tensor([[1 / 3, 0.0], [0.0, 0.0]]), atol=1e-6)
    assert torch.allclose(giou, torch.tensor([[1 / 3, 0.0], [0.0, -1 / 3]]), atol=1e-6)
    m = torch.zeros(6, 8, dtype=torch.bool)
    m[1:3, 2:5] = True
    assert mask_to_box(m).tolist() == [2.0, 1.0, 5.0, 3.0]


def _crit(**kw):
    return TemporalCriterion(TemporalHeadSpec(**kw))


def test_hungarian_matching_picks_the_exact_spans():
    gt = torch.tensor([[0.1, 0.3], [0.6, 0.9]])
    spans = span_xx_to_cxw(torch.tensor([[0.6, 0.9], [0.4, 0.5], [0.1, 0.3]]))
    rows, cols = _crit().match(torch.zeros(3, 2), spans, gt)
    assert dict(zip(rows.tolist(), cols.tolist())) == {0: 1, 2: 0}


def test_set_loss_vanishes_on_a_perfect_prediction():
    gt = (torch.tensor([[0.1, 0.3]]),)
    spans = span_xx_to_cxw(torch.tensor([[[0.5, 0.7], [0.1, 0.3]]]))
    logits = torch.tensor([[[-20.0, 20.0], [20.0, -20.0]]])
    pred = TemporalPred(
        logits, spans, torch.zeros(1, 4), torch.full((1, 4), 0.5), torch.ones(1, 4, dtype=torch.bool)
    )
    out = _crit(aux_loss=False)(pred, TemporalTargets(gt, torch.tensor([[0.0, 1.0, 1.0, 0.0]])))
    assert out["span"].item() == pytest.approx(0.0, abs=1e-6)
    assert out["giou"].item() == pytest.approx(0.0, abs=1e-5)
    assert out["label"].item() == pytest.approx(0.0, abs=1e-6)
    # swap the foreground: the matched query is now called background (NLL 40, weight 1) and the other one
    # foreground (NLL 40, background weight 0.1): CG-DETR's plain mean over the 2 queries = (40 + 4) / 2
    bad = TemporalPred(-logits, spans, pred.saliency, pred.word_attn, pred.video_mask)
    ce = _crit(aux_loss=False)(bad, TemporalTargets(gt, torch.zeros(1, 4)))["label"].item()
    assert ce == pytest.approx(22.0, rel=1e-4)


def test_temporal_targets_and_inputs():
    t = make_temporal_targets([[(2.0, 5.0)]], [8.0], [4])
    assert t.spans[0].tolist() == [[0.25, 0.625]]
    assert t.saliency.tolist() == [[0.0, 1.0, 1.0, 0.0]]
    with pytest.raises(ValueError, match="end <= start"):
        make_temporal_targets([[(5.0, 2.0)]], [8.0], [4])
    inp = make_temporal_inputs(
        [torch.ones(4, 3), torch.ones(2, 3)], [torch.ones(1, 5), torch.ones(3, 5)], [8, 4]
    )
    assert inp.video.shape == (2, 4, 5) and inp.query.shape == (2, 3, 5)
    assert inp.video_mask.tolist() == [[True] * 4, [True, True, False, False]]
    assert inp.video[0, :, 3:].tolist() == [[0.0, 0.25], [0.25, 0.5], [0.5, 0.75], [0.75, 1.0]]  # TEF
    assert inp.video[0, 0, :3].norm().item() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="non-empty"):
        make_temporal_inputs([torch.ones(0, 3)], [torch.ones(1, 5)], [1.0])


def test_task_state_is_inserted_after_the_last_query_token():
    txt = torch.tensor([[1.0, 2.0, 0.0], [4.0, 5.0, 6.0]])[..., None]
    mask = torch.tensor([[True, True, False], [True, True, True]])
    out, m = _insert_after_last(txt, mask, torch.tensor([[9.0], [8.0]]))
    assert out[..., 0].tolist() == [[1.0, 2.0, 9.0, 0.0], [4.0, 5.0, 6.0, 8.0]]
    assert m.tolist() == [[True, True, True, False], [True, True, True, True]]


def test_temporal_head_forward_backward_and_decode():
    torch.manual_seed(0)
    spec = TemporalHeadSpec(
        v_feat_dim=6,
        t_feat_dim=5,
        video_features="precomputed",
        text_features="precomputed",
        hidden=16,
        nheads=2,
        num_queries=4,
        num_dummies=3,
    )
    head = TemporalHead(spec, llm_hidden=12)
    inp = make_temporal_inputs(
        [torch.randn(8, 6), torch.randn(5, 6)], [torch.randn(3, 5), torch.randn(4, 5)], [16.0, 10.0]
    )
    hidden = torch.randn(2, 12, requires_grad=True)
    pred = head(hidden, inp)
    assert pred.logits.shape == (2, 4, 2) and pred.spans.shape == (2, 4, 2) and pred.saliency.shape == (2, 8)
    assert len(pred.aux) == spec.dec_layers - 1
    terms = head.loss(
        pred, make_temporal_targets([[(2.0, 6.0)], [(1.0, 3.0), (5.0, 9.0)]], [16.0, 10.0], [8, 5])
    )
    terms["total"].backward()
    assert hidden.grad is not None and float(hidden.grad.abs().sum()) > 0  # the LM state steers the head
    head.eval()
    with torch.no_grad():
        out = head.decode(head(hidden, inp), inp)
    assert len(out) == 2 and len(out[1].saliency) == 5 and len(out[0].windows) == 4
    scores = [w[2] for w in out[0].windows]
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 <= s <= e <= 16.0 for s, e, _ in out[0].windows)
    rounded = head.decode(head(hidden, inp), inp, round_to=1.0)
    assert all(float(s).is_integer() and float(e).is_integer() for s, e, _ in rounded[1].windows)


def test_lean_transformer_layers_match_torch_layers():
    """The temporal head's training path through its encoder/decoder layers computes torch's layers exactly,
    including which elements dropout drops under a seed (eval: no dropout, grad enabled so both run
    eagerly)."""
    from tpo_train.heads.temporal_attn import decoder_layer, encoder_layer, key_bias

    torch.manual_seed(0)
    enc = torch.nn.TransformerEncoderLayer(16, 2, 32, 0.1, batch_first=True)
    dec = torch.nn.TransformerDecoderLayer(16, 2, 32, 0.1, batch_first=True)
    x, mem = torch.randn(2, 5, 16), torch.randn(2, 7, 16)
    valid = torch.tensor([[True] * 5, [True] * 3 + [False] * 2])
    mem_valid = torch.tensor([[True] * 7, [True] * 4 + [False] * 3])
    for train in (True, False):
        enc.train(train)
        dec.train(train)
        torch.manual_seed(1)
        want = enc(x, src_key_padding_mask=~valid)
        torch.manual_seed(1)
        got = encoder_layer(enc, x, key_bias(valid, x.dtype), valid)
        assert torch.allclose(got, want, rtol=0, atol=1e-6), (train, float((got - want).abs().max()))
        torch.manual_seed(1)
        want = dec(x, mem, memory_key_padding_mask=~mem_valid)
        torch.manual_seed(1)
        got = decoder_layer(dec, x, mem, key_bias(mem_valid, x.dtype), mem_valid)
        assert torch.allclose(got, want, rtol=0, atol=1e-6), (train, float((got - want).abs().max()))


def test_decoder_layers_scored_as_one_stack_equal_layer_by_layer():
    """With aux_loss the stacked matching/scoring of all decoder layers gives each layer's own loss."""
    g = torch.Generator().manual_seed(3)
    n, q, t = 2, 5, 6
    layers = [
        (torch.randn(n, q, 2, generator=g), torch.rand(n, q, 2, generator=g) * 0.5 + 0.1) for _ in range(3)
    ]
    sal, wattn, vmask = (
        torch.randn(n, t, generator=g),
        torch.rand(n, t, generator=g),
        torch.ones(n, t, dtype=torch.bool),
    )
    targets = make_temporal_targets([[(1.0, 3.0)], [(0.5, 2.0), (4.0, 5.5)]], [6.0, 6.0], [t, t])
    (lg, sp), aux = layers[-1], tuple(layers[:-1])
    full = _crit()(TemporalPred(lg, sp, sal, wattn, vmask, aux), targets)
    one = [_crit(aux_loss=False)(TemporalPred(a, b, sal, wattn, vmask), targets) for a, b in [(lg, sp), *aux]]
    for k in ("span", "giou", "label", "saliency", "wattn"):
        assert full[k].item() == pytest.approx(one[0][k].item(), rel=1e-6)
    w = TemporalHeadSpec()
    want = sum(w.w_span * o["span"] + w.w_giou * o["giou"] + w.w_label * o["label"] for o in one)
    want = want + w.w_saliency * (one[0]["saliency"] + w.w_wattn * one[0]["wattn"])
    assert full["total"].item() == pytest.approx(want.item(), rel=1e-6)
