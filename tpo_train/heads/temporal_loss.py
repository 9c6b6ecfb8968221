"""Temporal-head loss, CG-DETR's objective (``SetCriterion`` of wjun0830/CGDETR @ 212b2e4, as TPO uses it):

- per decoder layer (the last, and with ``aux_loss`` every earlier one): Hungarian matching (scipy; cost
  10·L1(c, w) − 1·GIoU − 4·p_fg), span L1 (mean over matched spans and both coordinates), 1 − GIoU (mean over
  matched spans), fg/bg CE over every query (background weight ``eos_coef``, plain mean over N·Q);
- saliency (last layer only), all scaled by ``w_saliency``: the margin hinge on sampled pairs ×2, the
  rank-contrastive term over all clips, the negative-pair term on the query shifted by one in the batch, and
  the same three plus a BCE on the text-to-video word-attention mass, scaled by ``w_wattn``;
- moment–sentence alignment, attention distillation and dummy/prompt orthogonality (``w_ms_align``,
  ``w_distill``, ``w_ortho``).

Each term is named in the output dict; a weight of 0 switches a term off (and skips its computation), which
gives the reduced objective as an ablation. The functions are in ``temporal_terms.py``; the records the
criterion reads (``TemporalTargets``, ``TemporalPred``, ``AlignOut``) are in ``temporal_records.py`` and
importable from here too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import numpy as np
import torch
import torch.nn.functional as F

from . import temporal_terms as T
from .ops import pairwise_span_iou_giou, span_cxw_to_xx, span_xx_to_cxw
from .temporal_records import AlignOut, TemporalPred, TemporalTargets

__all__ = ["AlignOut", "TemporalCriterion", "TemporalPred", "TemporalTargets"]


class TemporalCriterion:
    def __init__(self, spec: Any) -> None:
        self.s = spec

    @torch.no_grad()
    def match(
        self, logits: torch.Tensor, spans: torch.Tensor, gt: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Optimal one-to-one assignment of the Q predictions of one item to its k ground-truth spans."""
        gts = (gt,)
        sel = self._match_all(logits[None, None], spans[None, None], gts, _pad_spans(gts, spans))
        return torch.as_tensor(sel.query[0]), torch.as_tensor(sel.gt[0])

    @torch.no_grad()
    def _match_all(
        self, logits: torch.Tensor, spans: torch.Tensor, gts: tuple[torch.Tensor, ...], gt_pad: torch.Tensor
    ) -> _Matches:
        """Hungarian matching of every decoder layer × item: ``logits``/``spans`` (Ly, N, Q, 2), ``gt_pad``
        (N, K, 2).
        The cost of the whole stack is built in one go and moved to the CPU once; scipy then solves each small
        (Q, k_i) problem."""
        from scipy.optimize import linear_sum_assignment

        prob = logits.float().softmax(-1)[..., 0]
        cost_span = torch.cdist(spans.float(), span_xx_to_cxw(gt_pad).float(), p=1)
        _, giou = pairwise_span_iou_giou(span_cxw_to_xx(spans.float()), gt_pad.float())
        cost = (
            (self.s.cost_span * cost_span - self.s.cost_giou * giou - self.s.cost_class * prob[..., None])
            .cpu()
            .numpy()
        )
        ks = [int(g.shape[0]) for g in gts]
        offsets = np.cumsum([0] + ks[:-1])
        items, queries, gt_rows = [], [], []
        for layer in range(cost.shape[0]):
            for i, k in enumerate(ks):
                r, c = linear_sum_assignment(cost[layer, i, :, :k])
                items.append(np.full(len(r), i))
                queries.append(r)
                gt_rows.append(c + offsets[i])
        n_layers = cost.shape[0]
        shape = (n_layers, -1)  # every layer matches the same number of pairs: Σ_i min(Q, k_i)
        return _Matches(
            np.concatenate(items).reshape(shape),
            np.concatenate(queries).reshape(shape),
            np.concatenate(gt_rows).reshape(shape),
        )

    def _set_losses(
        self, logits: torch.Tensor, spans: torch.Tensor, targets: TemporalTargets
    ) -> dict[str, torch.Tensor]:
        """Span L1, span 1 − GIoU and fg/bg CE of each decoder layer: (Ly, N, Q, 2) inputs → (Ly,) terms,
        normalised as CG-DETR: L1 and GIoU are means over the matched spans (L1 also over both coordinates),
        the CE a plain mean of the class-weighted NLL over all N·Q queries (not divided by the weight sum)."""
        n_layers, n, q = logits.shape[:3]
        sel = self._match_all(logits, spans, targets.spans, _pad_spans(targets.spans, spans))
        dev = spans.device
        layer_idx = torch.arange(n_layers, device=dev)[:, None]
        item, query = torch.from_numpy(sel.item).to(dev), torch.from_numpy(sel.query).to(dev)
        gt = torch.cat([g.to(spans) for g in targets.spans])[torch.from_numpy(sel.gt).to(dev)]  # (Ly, M, 2)
        matched = spans[layer_idx, item, query]
        n_matched = max(sel.item.shape[1], 1)
        l1 = (matched - span_xx_to_cxw(gt)).abs().sum((1, 2)) / (2 * n_matched)
        _, giou = pairwise_span_iou_giou(span_cxw_to_xx(matched)[..., None, :], gt[..., None, :])
        cls_t = np.ones((n_layers, n, q), dtype=np.int64)  # 1 = background
        cls_t[np.arange(n_layers)[:, None], sel.item, sel.query] = 0
        weight = torch.tensor([1.0, self.s.eos_coef], device=dev, dtype=logits.dtype)
        nll = F.cross_entropy(
            logits.reshape(-1, 2), torch.from_numpy(cls_t).to(dev).flatten(), weight=weight, reduction="none"
        ).view(n_layers, -1)
        return {"span": l1, "giou": (1 - giou).flatten(1).sum(1) / n_matched, "label": nll.mean(1)}

    def saliency_terms(self, pred: TemporalPred, targets: TemporalTargets) -> dict[str, torch.Tensor]:
        """Unweighted saliency terms on the scores (``sal_*``) and on the word-attention mass (``attn_*``)."""
        w, s, valid = self.s, pred.saliency.float(), pred.video_mask
        labels = _fit(targets.saliency.to(s), s.shape[1])
        pos, neg, pm = _pairs(targets, labels, valid)
        neg_ok = pred.real_neg is not None and bool(pred.real_neg.any())
        out: dict[str, torch.Tensor] = {}
        for name, x, x_neg in (
            ("sal", s, pred.saliency_neg),
            ("attn", pred.word_attn.float(), pred.word_attn_neg),
        ):
            if name == "attn" and not w.w_wattn:
                break
            x_neg = x_neg.float() if (x_neg is not None and neg_ok) else None
            if w.w_sal_hinge:
                out[f"{name}_hinge"] = T.margin_hinge(x, pos, neg, pm, w.saliency_margin)
            if w.w_sal_rank:
                out[f"{name}_rank"] = T.rank_contrastive_with_negatives(
                    x, x_neg, labels, valid, pred.real_neg, w.temperature, w.rank_levels
                )
            if w.w_sal_neg and x_neg is not None:
                rn = pred.real_neg
                out[f"{name}_neg"] = (
                    T.neg_pair_logits(x_neg[rn], valid[rn])
                    if name == "sal"
                    else T.neg_pair_prob(x_neg[rn], valid[rn])
                )
        if w.w_wattn and w.w_attn_bce:
            out["attn_bce"] = T.attn_bce(pred.word_attn.float(), labels, valid)
        return out

    def __call__(
        self, pred: TemporalPred, targets: TemporalTargets, align: Optional[AlignOut] = None
    ) -> dict[str, torch.Tensor]:
        w = self.s
        # the last layer and (with aux_loss) every earlier one, matched and scored as one stack
        layers = [(pred.logits, pred.spans)] + (list(pred.aux) if w.aux_loss else [])
        terms = self._set_losses(
            torch.stack([lg for lg, _ in layers]), torch.stack([sp for _, sp in layers]), targets
        )
        out = {k: v[0] for k, v in terms.items()}
        total = (w.w_span * terms["span"] + w.w_giou * terms["giou"] + w.w_label * terms["label"]).sum()
        sal = self.saliency_terms(pred, targets)
        out.update(sal)
        switch = {"hinge": w.w_sal_hinge, "rank": w.w_sal_rank, "neg": w.w_sal_neg, "bce": w.w_attn_bce}
        zero = total.new_zeros(())
        out["saliency"] = sum((switch[k[4:]] * v for k, v in sal.items() if k.startswith("sal_")), zero)
        out["wattn"] = sum((switch[k[5:]] * v for k, v in sal.items() if k.startswith("attn_")), zero)
        total = total + w.w_saliency * (out["saliency"] + w.w_wattn * out["wattn"])
        valid = pred.video_mask
        moment = _fit(targets.saliency.to(pred.saliency), valid.shape[1]).gt(0) & valid
        if align is not None and w.w_ms_align:
            out["ms_align"] = T.ms_align(
                align.moment.float(),
                align.nonmoment.float(),
                align.sentence.float(),
                align.sentence_dummy.float(),
                align.clip_feats.float(),
                moment.float(),
                valid,
            )
            total = total + w.w_ms_align * out["ms_align"]
        if align is not None and w.w_distill and pred.attn is not None:
            out["distill"] = T.distill(pred.attn.float(), align.sim.float(), pred.key_mask, moment)
            total = total + w.w_distill * out["distill"]
        if w.w_ortho and pred.prompts is not None and pred.dummies is not None:
            out["ortho"] = T.orthogonal(pred.dummies.float(), pred.prompts.float())
            total = total + w.w_ortho * out["ortho"]
        out["total"] = total
        return out


def _fit(labels: torch.Tensor, t: int) -> torch.Tensor:
    """Clip labels cut or zero-padded to ``t`` clips."""
    labels = labels[:, :t]
    return F.pad(labels, (0, t - labels.shape[1])) if labels.shape[1] < t else labels


def _pairs(targets: TemporalTargets, labels: torch.Tensor, valid: torch.Tensor):
    """The hinge's (pos, neg, mask) index tensors: the sampled ones, else every (relevant, irrelevant)
    pair."""
    if targets.pos is not None:
        dev, pm = labels.device, targets.pair_mask
        pm = torch.ones_like(targets.pos, dtype=torch.bool) if pm is None else pm
        return targets.pos.to(dev).long(), targets.neg.to(dev).long(), pm.to(dev)
    n, t = labels.shape
    rel, irr = (labels > 0) & valid, (labels <= 0) & valid
    pm = (rel[:, :, None] & irr[:, None, :]).reshape(n, t * t)
    idx = torch.arange(t * t, device=labels.device)
    return (idx // t).expand(n, -1), (idx % t).expand(n, -1), pm


@dataclass(frozen=True)
class _Matches:
    """Matched pairs per decoder layer, (Ly, M) int64 arrays each: item, query index, row of the concatenated
    ground truth. Within a layer: item order, then ascending query index (scipy's order)."""

    item: np.ndarray
    query: np.ndarray
    gt: np.ndarray


def _pad_spans(gts: tuple[torch.Tensor, ...], like: torch.Tensor) -> torch.Tensor:
    """Ground-truth spans padded to (N, K, 2); the pad is a dummy valid span that matching never reads."""
    k = max(int(g.shape[0]) for g in gts)
    out = torch.tensor([0.0, 1.0], dtype=like.dtype, device=like.device).repeat(len(gts), k, 1)
    for i, g in enumerate(gts):
        out[i, : g.shape[0]] = g.to(out)
    return out
