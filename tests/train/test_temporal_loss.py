"""CG-DETR's temporal objective, one test per term with hand-computed values on a 2-clip, 1-window example
(video of 2 s, clips [0, 1) and [1, 2), ground-truth window [1, 2] → clip labels [0, 1]), plus the targets
(graded QVHighlights labels, sampled hinge pairs) and the weighted total with terms switched off."""

from __future__ import annotations

import math
import random

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("scipy")

from tpo_train.heads import temporal_terms as T  # noqa: E402
from tpo_train.heads.temporal import TemporalHead, make_temporal_inputs, make_temporal_targets  # noqa: E402

# noqa: E402
from tpo_train.heads.temporal_loss import AlignOut, TemporalCriterion, TemporalPred, TemporalTargets
from tpo_train.model.spec import TemporalHeadSpec  # noqa: E402

VALID = torch.ones(1, 2, dtype=torch.bool)
LABELS = torch.tensor([[0.0, 1.0]])
GT = (torch.tensor([[0.5, 1.0]]),)  # normalised (start, end) = (centre 0.75, width 0.5)
# query 1 (centre 0.7, width 0.4 → [0.5, 0.9]) is the match; query 0 is far off
SPANS = torch.tensor([[[0.25, 0.5], [0.7, 0.4]]])
S = torch.tensor([[0.3, 0.1]])  # saliency scores: the irrelevant clip scores higher
POS, NEG = torch.tensor([[1, 1]]), torch.tensor([[0, 0]])


def _targets(labels=LABELS):
    return TemporalTargets(GT, labels, POS, NEG, torch.ones(1, 2, dtype=torch.bool))


def _pred(**kw):
    base = dict(
        logits=torch.zeros(1, 2, 2),
        spans=SPANS,
        saliency=S,
        word_attn=torch.tensor([[0.2, 0.7]]),
        video_mask=VALID,
    )
    base.update(kw)
    return TemporalPred(**base)


def _crit(**kw):
    return TemporalCriterion(TemporalHeadSpec(aux_loss=False, **kw))


def test_span_l1_is_a_mean_over_matched_spans_and_coordinates():
    out = _crit()(_pred(), _targets())
    assert out["span"].item() == pytest.approx((0.05 + 0.1) / 2, abs=1e-6)  # |0.7-0.75|, |0.4-0.5|, mean


def test_giou_is_a_mean_over_matched_spans():
    # [0.5, 0.9] vs [0.5, 1.0]: IoU 0.4/0.5 = 0.8, hull = union → GIoU 0.8
    assert _crit()(_pred(), _targets())["giou"].item() == pytest.approx(0.2, abs=1e-6)


def test_label_ce_is_a_plain_mean_of_the_weighted_nll():
    # zero logits: NLL log 2 for both queries; matched (fg) weight 1, the other (bg) weight eos_coef 0.1;
    # CG-DETR averages over the 2 queries (not over the weight sum 1.1)
    out = _crit()(_pred(), _targets())
    assert out["label"].item() == pytest.approx((1.0 + 0.1) * math.log(2) / 2, abs=1e-6)


def test_margin_hinge_on_sampled_pairs_times_two():
    # both pairs (pos 1, neg 0): max(0, 0.2 + 0.3 - 0.1) = 0.4, mean 0.4, ×2
    assert T.margin_hinge(S, POS, NEG, torch.ones(1, 2, dtype=torch.bool), 0.2).item() == pytest.approx(0.8)
    assert _crit()(_pred(), _targets())["sal_hinge"].item() == pytest.approx(0.8, abs=1e-6)


def _lp1(s0, s1, tau=0.5):
    """log-softmax of clip 1 over the two clips at temperature tau (with CG-DETR's +1e-6 in the log)."""
    x0, x1 = s0 / tau, s1 / tau
    m = max(x0, x1)
    return (x1 - m) - math.log(math.exp(x0 - m) + math.exp(x1 - m) + 1e-6)


def test_rank_contrastive_over_all_clips_with_its_level_count():
    binary = T.rank_contrastive(S, LABELS, VALID, 0.5, 11)
    assert binary.item() == pytest.approx(-_lp1(0.3, 0.1) / 12, abs=1e-6)  # one level (r = 1) of 11, / 12
    graded = T.rank_contrastive(S, torch.tensor([[0.0, 3.0]]), VALID, 0.5, 11)
    assert graded.item() == pytest.approx(-3 * _lp1(0.3, 0.1) / 12, abs=1e-6)  # levels r = 1, 2, 3
    assert _crit()(_pred(), _targets())["sal_rank"].item() == pytest.approx(-_lp1(0.3, 0.1) / 12, abs=1e-6)


def test_negative_pair_branch():
    # two items of different videos; item i's clips scored against item i+1's query
    s, s_neg = torch.tensor([[0.3, 0.1], [0.0, 0.5]]), torch.tensor([[0.4, -0.2], [1.0, 0.0]])
    valid, real = torch.ones(2, 2, dtype=torch.bool), torch.ones(2, dtype=torch.bool)
    labels = torch.tensor([[0.0, 1.0], [0.0, 1.0]])
    sp = lambda x: math.log1p(math.exp(x))  # noqa: E731  -log(1 - sigmoid(x))
    want = ((sp(0.4) + sp(-0.2)) + (sp(1.0) + sp(0.0))) / 2
    assert T.neg_pair_logits(s_neg, valid).item() == pytest.approx(want, abs=1e-6)
    assert T.neg_pair_prob(torch.tensor([[0.5, 0.0]]), VALID).item() == pytest.approx(math.log(2), abs=1e-6)

    # rank-contrastive with negatives: each item's 4 clips [own 2, shifted 2], the shifted ones labelled 0
    def lp(xs, k, tau=0.5):
        x = [v / tau for v in xs]
        m = max(x)
        return (x[k] - m) - math.log(sum(math.exp(v - m) for v in x) + 1e-6)

    want = -(lp([0.3, 0.1, 0.4, -0.2], 1) + lp([0.0, 0.5, 1.0, 0.0], 1)) / 2 / 12
    got = T.rank_contrastive_with_negatives(s, s_neg, labels, valid, real, 0.5, 11)
    assert got.item() == pytest.approx(want, abs=1e-6)
    # same video for both (false negatives): plain per-item contrast, no shifted clips
    same = T.rank_contrastive_with_negatives(s, s_neg, labels, valid, ~real, 0.5, 11)
    assert same.item() == pytest.approx(-(_lp1(0.3, 0.1) + _lp1(0.0, 0.5)) / 2 / 12, abs=1e-6)


def test_attention_terms_and_their_weight():
    a = torch.tensor([[0.2, 0.7]])
    assert T.attn_bce(a, LABELS, VALID).item() == pytest.approx(
        -(math.log(0.8) + math.log(0.7)) / 2, abs=1e-6
    )
    out = _crit()(_pred(), _targets())
    hinge = 2 * max(0.0, 0.2 + 0.2 - 0.7)  # = 0
    rank = -_lp1(0.2, 0.7) / 12
    bce = -(math.log(0.8) + math.log(0.7)) / 2
    assert out["attn_hinge"].item() == pytest.approx(hinge, abs=1e-6)
    assert out["attn_rank"].item() == pytest.approx(rank, abs=1e-6)
    assert out["wattn"].item() == pytest.approx(hinge + rank + bce, abs=1e-6)
    assert out["saliency"].item() == pytest.approx(0.8 - _lp1(0.3, 0.1) / 12, abs=1e-6)
    # w_saliency 4 scales both groups; lw_wattn 1 the attention group
    set_part = 10 * 0.075 + 1 * 0.2 + 4 * 1.1 * math.log(2) / 2
    assert out["total"].item() == pytest.approx(
        set_part + 4 * (out["saliency"].item() + out["wattn"].item()), abs=1e-5
    )


def _unit(*v):
    return torch.tensor([list(v)])


def test_moment_sentence_alignment():
    m, nm, st, sd = _unit(1.0, 0.0), _unit(0.0, 1.0), _unit(1.0, 0.0), _unit(0.6, 0.8)
    clips = torch.tensor([[[0.5, 0.0], [2.0, 0.0]]])  # moment·clip logits 0.5 (label 0) and 2.0 (label 1)
    got = T.ms_align(m, nm, st, sd, clips, LABELS, VALID)
    ce_sent = -math.log(
        math.exp(1.0) / (math.exp(1.0) + math.exp(0.0))
    )  # [cos(m,s)=1, cos(nm,s)=0], target 0
    ce_dummy = -math.log(math.exp(0.8) / (math.exp(0.6) + math.exp(0.8)))  # N = 1: target column 1 (nm·dummy)
    sp = lambda x: math.log1p(math.exp(x))  # noqa: E731
    bce = (sp(0.5) + sp(-2.0)) / 2  # -log(1 - σ(0.5)), -log σ(2.0)
    assert got.item() == pytest.approx(ce_sent + ce_dummy + bce, abs=1e-6)
    align = AlignOut(m, nm, st, sd, clips, torch.zeros(1, 2, 2))
    assert _crit()(_pred(), _targets(), align)["ms_align"].item() == pytest.approx(got.item(), abs=1e-6)


def test_attention_distillation_on_in_moment_clips():
    attn = torch.tensor([[[0.5, 0.5], [0.25, 0.75]]])  # clip × [dummy, word]
    sim = torch.tensor([[[5.0, -5.0], [0.0, math.log(3.0)]]])  # clip 1 target softmax = [0.25, 0.75]
    keys = torch.ones(1, 2, dtype=torch.bool)
    assert T.distill(attn, sim, keys, LABELS.bool()).item() == pytest.approx(0.0, abs=1e-5)
    sim2 = torch.tensor(
        [[[0.0, 0.0], [0.0, 0.0]]]
    )  # target [0.5, 0.5] on clip 1 (clip 0 is not in the moment)
    want = (0.5 * (math.log(0.5) - math.log(0.25 + 1e-6)) + 0.5 * (math.log(0.5) - math.log(0.75 + 1e-6))) / 2
    assert T.distill(attn, sim2, keys, LABELS.bool()).item() == pytest.approx(want, abs=1e-6)
    align = AlignOut(*(torch.ones(1, 2),) * 4, torch.zeros(1, 2, 2), sim2)
    out = _crit()(_pred(attn=attn, key_mask=keys), _targets(), align)
    assert out["distill"].item() == pytest.approx(want, abs=1e-6)


def test_orthogonality_of_dummies_and_prompts():
    dummies = torch.tensor([[[1.0, 0.0], [1.0, 1.0]]])  # cos 1/√2 off the diagonal, 2 of 4 entries
    prompts = torch.tensor([[1.0, 0.0], [0.0, 1.0]])  # orthogonal: 0
    assert T.orthogonal(dummies, prompts).item() == pytest.approx(2 / math.sqrt(2) / 4, abs=1e-6)
    assert T.orthogonal(dummies[:, :1], torch.tensor([[1.0, 0.0], [1.0, 0.0]])).item() == pytest.approx(0.5)
    out = _crit()(_pred(dummies=dummies, prompts=prompts), _targets())
    assert out["ortho"].item() == pytest.approx(2 / math.sqrt(2) / 4, abs=1e-6)


def test_switched_off_terms_leave_the_reduced_objective():
    reduced = _crit(w_sal_rank=0, w_sal_neg=0, w_wattn=0, w_ms_align=0, w_distill=0, w_ortho=0)
    out = reduced(_pred(dummies=torch.randn(1, 3, 2), prompts=torch.randn(2, 2)), _targets())
    assert {"sal_rank", "attn_hinge", "attn_bce", "ortho", "ms_align"}.isdisjoint(out)
    want = 10 * 0.075 + 0.2 + 4 * 1.1 * math.log(2) / 2 + 4 * 0.8
    assert out["total"].item() == pytest.approx(want, abs=1e-5)


def test_graded_targets_and_sampled_pairs():
    # QVHighlights-style: 2-s clips, scores summed over annotators; features one row per clip
    t = make_temporal_targets(
        [[(2.0, 8.0)]], [10.0], [5], scores=[{1: 4.0, 2: 7.0, 3: 5.0}], clip_len=2.0, rng=random.Random(1)
    )
    assert t.saliency.tolist() == [[0.0, 4.0, 7.0, 5.0, 0.0]]
    pos, neg = t.pos[0].tolist(), t.neg[0].tolist()
    assert pos[0] == 2 and neg[0] == 1  # hard pair: best- vs worst-scored relevant clip (CG-DETR max_n = 1)
    assert pos[1] in {1, 2, 3} and neg[1] in {0, 4} and t.pair_mask.all()  # easy: relevant vs irrelevant
    four = make_temporal_targets([[(2.0, 8.0)]], [10.0], [5], scores=[{1: 4.0, 2: 7.0, 3: 5.0}], pairs=4)
    assert four.pos[0, :2].tolist() == [3, 2] and four.neg[0, :2].tolist() == [1, 3]  # 2 hard (+ 2 easy)
    # 10 feature rows over the same 10 s (1-s rows) read the 2-s clip scores by time
    fine = make_temporal_targets(
        [[(2.0, 8.0)]], [10.0], [10], scores=[{1: 4.0, 2: 7.0, 3: 5.0}], clip_len=2.0
    )
    assert fine.saliency.tolist() == [[0.0, 0.0, 4.0, 4.0, 7.0, 7.0, 5.0, 5.0, 0.0, 0.0]]
    # binary (Charades-style) next to a graded item: 2 pairs each; the one outside clip is repeated
    mixed = make_temporal_targets(
        [[(1.0, 2.0)], [(2.0, 8.0)]], [2.0, 10.0], [2, 5], scores=[{}, {1: 4.0, 2: 7.0}]
    )
    assert mixed.saliency[0].tolist() == [0.0, 1.0, 0.0, 0.0, 0.0]
    assert mixed.pos[0].tolist() == [1, 1] and mixed.neg[0].tolist() == [0, 0] and mixed.pair_mask.all()
    # an odd pair count: binary items draw 3, graded ones 1 hard + 1 easy; the shorter row is masked
    odd = make_temporal_targets(
        [[(0.0, 1.0)], [(2.0, 8.0)]], [1.0, 10.0], [1, 5], scores=[{}, {1: 4.0}], pairs=3
    )
    assert odd.pair_mask.tolist() == [[True, True, True], [True, True, False]]


def test_head_trains_every_term_and_infers_without_the_branches():
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
        total_prompts=4,
        enc_layers=1,
        dec_layers=2,
        t2v_layers=1,
        dummy_layers=1,
    )
    head = TemporalHead(spec, llm_hidden=12)
    inp = make_temporal_inputs(
        [torch.randn(8, 6), torch.randn(5, 6), torch.randn(8, 6)],
        [torch.randn(3, 5), torch.randn(4, 5), torch.randn(2, 5)],
        [16.0, 10.0, 16.0],
        vids=["a", "b", "a"],
    )
    tg = make_temporal_targets(
        [[(2.0, 6.0)], [(1.0, 3.0)], [(8.0, 12.0)]],
        [16.0, 10.0, 16.0],
        [8, 5, 8],
        scores=[{1: 3.0, 2: 9.0}, {}, {}],
    )
    hidden = torch.randn(3, 12, requires_grad=True)
    pred = head(hidden, inp)
    assert pred.real_neg.tolist() == [True, True, False]  # item 2's shifted query is item 0's: same video
    out = head.loss(pred, tg)
    for k in (
        "span",
        "giou",
        "label",
        "sal_hinge",
        "sal_rank",
        "sal_neg",
        "attn_hinge",
        "attn_rank",
        "attn_neg",
        "attn_bce",
        "ms_align",
        "distill",
        "ortho",
    ):
        assert torch.isfinite(out[k]) and out[k].item() >= 0, k
    out["total"].backward()
    assert head.align.moment_token.grad.abs().sum() > 0 and head.prompts.grad.abs().sum() > 0
    assert hidden.grad.abs().sum() > 0
    head.eval()
    with torch.no_grad():
        ev = head(hidden, inp)
    assert ev.saliency_neg is None and ev.feats is None and ev.attn is None


def test_qvhighlights_record_gives_graded_saliency_in_the_batch(shared_data, tmp_path):
    """A real QVHighlights record through the data path: the batch's temporal targets carry the summed
    annotator scores per 2-s clip (CG-DETR), not 0/1; a Charades record in the same batch stays binary."""
    import types

    import numpy as np

    from tpo_train.data.batches import BatchBuilder
    from tpo_train.data.features import FeatureStore
    from tpo_train.data.readers import read_source
    from tpo_train.model.base import load_adapter
    from tpo_train.tiny import build_tiny_llava_ov

    qvh = read_source(
        "cgdetr_jsonl", shared_data / "qvhighlights" / "highlight_val_release.jsonl", "qvh"
    ).examples[0]
    ch = read_source(
        "cgdetr_jsonl", shared_data / "charades_sta" / "charades_sta_test_tvr_format.jsonl", "ch"
    ).examples[0]
    for ex, rows in ((qvh, 75), (ch, 31)):  # 150 s in 2-s clips; 30.96 s in 1-s clips
        np.save(tmp_path / f"{ex.vid}.npy", np.ones((rows, 6), np.float32))
        np.save(tmp_path / f"qid{ex.qid}.npy", np.ones((3, 5), np.float32))
    adapter = load_adapter(build_tiny_llava_ov(tmp_path / "base"))
    model = types.SimpleNamespace(
        adapter=adapter, heads={"temporal": types.SimpleNamespace(spec=TemporalHeadSpec())}
    )
    stores = {"qvh": FeatureStore(tmp_path, tmp_path, clip_len=2.0), "ch": FeatureStore(tmp_path, tmp_path)}
    builder = BatchBuilder(model, {"qvh": [qvh], "ch": [ch]}, stores, seed=0, frames=4)
    batch = builder.build([("qvh", 0), ("ch", 0)], step=0)
    t = batch.targets["temporal"]
    want = [qvh.saliency.get(c, 0.0) for c in range(75)]
    assert t.saliency[0].tolist() == want and want[41] == 4.0 and want[48] == 7.0  # [1,1,2] and [2,1,4]
    assert t.saliency[1, :31].tolist() == [
        1.0 if 24.3 <= (k + 0.5) * 30.96 / 31 <= 30.4 else 0.0 for k in range(31)
    ]
    assert t.pos.shape == (2, 2) and bool(t.pair_mask.all())
    assert batch.head_inputs["temporal"].vids == (qvh.vid, ch.vid)
    again = builder.build([("qvh", 0), ("ch", 0)], step=0).targets["temporal"]
    assert torch.equal(again.pos, t.pos) and torch.equal(again.neg, t.neg)  # seeded: a resume draws the same
