"""Temporal-head loss: Hungarian matching (scipy) + span L1 + span GIoU + fg/bg classification, per decoder layer,
plus a saliency loss over clips (margin ranking + rank-contrastive InfoNCE + word-attention BCE).

Costs and weights follow CG-DETR/TPO (``TemporalHeadSpec``): match cost = 10·L1(c, w) − 1·GIoU − 4·p_fg;
loss = 10·L1 + 1·(1 − GIoU) + 4·CE(bg weight 0.1) [+ the same for intermediate layers] + 4·saliency + 1·wattn.
Not ported: the negative-pair (rolled-text) branch and the moment/sentence alignment and distillation terms.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from .ops import pairwise_span_iou_giou, span_cxw_to_xx, span_xx_to_cxw


@dataclass(frozen=True, eq=False)
class TemporalTargets:
    """``spans``: per occurrence a (k, 2) tensor of normalised (start, end); ``saliency`` (N, T) clip labels
    (0 = irrelevant; higher = more relevant; binary for Charades-style data)."""

    spans: tuple[torch.Tensor, ...]
    saliency: torch.Tensor


@dataclass(frozen=True, eq=False)
class TemporalPred:
    """Head output: ``logits`` (N, Q, 2) [fg, bg]; ``spans`` (N, Q, 2) normalised (centre, width); ``saliency``
    (N, T); ``word_attn`` (N, T) in [0, 1]; ``video_mask`` (N, T); ``aux`` earlier decoder layers' (logits, spans)."""

    logits: torch.Tensor
    spans: torch.Tensor
    saliency: torch.Tensor
    word_attn: torch.Tensor
    video_mask: torch.Tensor
    aux: tuple[tuple[torch.Tensor, torch.Tensor], ...] = ()


class TemporalCriterion:
    def __init__(self, spec: Any) -> None:
        self.s = spec

    @torch.no_grad()
    def match(self, logits: torch.Tensor, spans: torch.Tensor, gt: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Optimal one-to-one assignment of the Q predictions of one item to its k ground-truth spans."""
        rows, cols = self._match_all(logits[None], spans[None], (gt,))[0]
        return rows, cols

    @torch.no_grad()
    def _match_all(self, logits: torch.Tensor, spans: torch.Tensor, gts: tuple[torch.Tensor, ...]):
        """Per item (rows = query indices, cols = gt indices). Costs for the whole batch are built in one go and
        moved to the CPU once; scipy then solves each item's small (Q, k) problem."""
        from scipy.optimize import linear_sum_assignment

        gt, valid = _pad_spans(gts, spans)
        prob = logits.float().softmax(-1)[..., 0]
        cost_span = torch.cdist(spans.float(), span_xx_to_cxw(gt).float(), p=1)
        _, giou = pairwise_span_iou_giou(span_cxw_to_xx(spans.float()), gt.float())
        cost = (self.s.cost_span * cost_span - self.s.cost_giou * giou - self.s.cost_class * prob[..., None]).cpu()
        out = []
        for i, g in enumerate(gts):
            r, c = linear_sum_assignment(cost[i, :, : g.shape[0]].numpy())
            out.append((torch.as_tensor(r, dtype=torch.long), torch.as_tensor(c, dtype=torch.long)))
        return out

    def _set_loss(self, logits: torch.Tensor, spans: torch.Tensor, targets: TemporalTargets) -> dict[str, torch.Tensor]:
        n_gt = max(sum(int(g.shape[0]) for g in targets.spans), 1)
        pairs = self._match_all(logits, spans, targets.spans)
        item = torch.cat([torch.full_like(r, i) for i, (r, _) in enumerate(pairs)]).to(spans.device)
        query = torch.cat([r for r, _ in pairs]).to(spans.device)
        gt = torch.cat([g.to(spans)[c.to(spans.device)] for g, (_, c) in zip(targets.spans, pairs)])
        matched = spans[item, query]
        l1 = F.l1_loss(matched, span_xx_to_cxw(gt), reduction="sum")
        _, giou = pairwise_span_iou_giou(span_cxw_to_xx(matched)[:, None], gt[:, None])
        cls_t = torch.ones(logits.shape[:2], dtype=torch.long, device=logits.device)  # 1 = background
        cls_t[item, query] = 0
        weight = torch.tensor([1.0, self.s.eos_coef], device=logits.device, dtype=logits.dtype)
        ce = F.cross_entropy(logits.flatten(0, 1), cls_t.flatten(), weight=weight)
        return {"span": l1 / n_gt, "giou": (1 - giou).sum() / n_gt, "label": ce}

    def saliency_loss(self, pred: TemporalPred, labels: torch.Tensor) -> dict[str, torch.Tensor]:
        s, valid = pred.saliency.float(), pred.video_mask
        labels = labels.to(s)[:, : s.shape[1]]
        if labels.shape[1] < s.shape[1]:
            labels = F.pad(labels, (0, s.shape[1] - labels.shape[1]))
        pos, neg = valid & (labels > 0), valid & (labels <= 0)
        # margin ranking over every (positive, negative) clip pair of an item
        diff = self.s.saliency_margin + s[:, None, :] - s[:, :, None]          # [i, p, n] = m + s_n - s_p
        pair = pos[:, :, None] & neg[:, None, :]
        hinge = (diff.clamp(min=0) * pair).sum() / pair.sum().clamp(min=1)
        # rank-contrastive: for each relevance level r, clips ≥ r against clips < r
        tau, contrast, n_levels = self.s.temperature, s.new_zeros(()), 0
        for r in torch.unique(labels[pos]).tolist():
            p_r, n_r = valid & (labels >= r), valid & (labels < r)
            ok = p_r.any(1) & n_r.any(1)
            if not bool(ok.any()):
                continue
            lse_neg = (s / tau).masked_fill(~n_r, float("-inf")).logsumexp(1, keepdim=True)
            lp = s / tau - torch.logaddexp(s / tau, lse_neg)
            m = p_r & ok[:, None]
            contrast, n_levels = contrast - (lp * m).sum() / m.sum(), n_levels + 1
        contrast = contrast / max(n_levels, 1)
        wa = pred.word_attn.float().clamp(1e-6, 1 - 1e-6)
        wattn = F.binary_cross_entropy(wa[valid], (labels > 0).float()[valid])
        return {"saliency": hinge + contrast, "wattn": wattn}

    def __call__(self, pred: TemporalPred, targets: TemporalTargets) -> dict[str, torch.Tensor]:
        out = self._set_loss(pred.logits, pred.spans, targets)
        total = self.s.w_span * out["span"] + self.s.w_giou * out["giou"] + self.s.w_label * out["label"]
        if self.s.aux_loss:
            for k, (lg, sp) in enumerate(pred.aux):
                aux = self._set_loss(lg, sp, targets)
                total = total + self.s.w_span * aux["span"] + self.s.w_giou * aux["giou"] + self.s.w_label * aux["label"]
        out.update(self.saliency_loss(pred, targets.saliency))
        out["total"] = total + self.s.w_saliency * out["saliency"] + self.s.w_wattn * out["wattn"]
        return out


def _pad_spans(gts: tuple[torch.Tensor, ...], like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Ground-truth spans padded to (N, K, 2) (pad = a dummy valid span) and the (N, K) validity mask."""
    k = max(int(g.shape[0]) for g in gts)
    out = torch.tensor([0.0, 1.0], dtype=like.dtype, device=like.device).repeat(len(gts), k, 1)
    valid = torch.zeros(len(gts), k, dtype=torch.bool, device=like.device)
    for i, g in enumerate(gts):
        out[i, : g.shape[0]] = g.to(out)
        valid[i, : g.shape[0]] = True
    return out, valid
