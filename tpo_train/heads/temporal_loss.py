"""Temporal-head loss: Hungarian matching (scipy) + span L1 + span GIoU + fg/bg classification, per decoder layer,
plus a saliency loss over clips (margin ranking + rank-contrastive InfoNCE + word-attention BCE).

Costs and weights follow CG-DETR/TPO (``TemporalHeadSpec``): match cost = 10·L1(c, w) − 1·GIoU − 4·p_fg;
loss = 10·L1 + 1·(1 − GIoU) + 4·CE(bg weight 0.1) [+ the same for intermediate layers] + 4·saliency + 1·wattn.
Not ported: the negative-pair (rolled-text) branch and the moment/sentence alignment and distillation terms.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
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
        gts = (gt,)
        sel = self._match_all(logits[None, None], spans[None, None], gts, _pad_spans(gts, spans))
        return torch.as_tensor(sel.query[0]), torch.as_tensor(sel.gt[0])

    @torch.no_grad()
    def _match_all(self, logits: torch.Tensor, spans: torch.Tensor, gts: tuple[torch.Tensor, ...],
                   gt_pad: torch.Tensor) -> "_Matches":
        """Hungarian matching of every decoder layer × item: ``logits``/``spans`` (Ly, N, Q, 2), ``gt_pad`` (N, K, 2).
        The cost of the whole stack is built in one go and moved to the CPU once; scipy then solves each small
        (Q, k_i) problem."""
        from scipy.optimize import linear_sum_assignment

        prob = logits.float().softmax(-1)[..., 0]
        cost_span = torch.cdist(spans.float(), span_xx_to_cxw(gt_pad).float(), p=1)
        _, giou = pairwise_span_iou_giou(span_cxw_to_xx(spans.float()), gt_pad.float())
        cost = (self.s.cost_span * cost_span - self.s.cost_giou * giou
                - self.s.cost_class * prob[..., None]).cpu().numpy()
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
        return _Matches(np.concatenate(items).reshape(shape), np.concatenate(queries).reshape(shape),
                        np.concatenate(gt_rows).reshape(shape))

    def _set_losses(self, logits: torch.Tensor, spans: torch.Tensor, targets: TemporalTargets) -> dict[str, torch.Tensor]:
        """Span L1, span 1 − GIoU and fg/bg CE of each decoder layer: (Ly, N, Q, 2) inputs → (Ly,) terms."""
        n_layers, n, q = logits.shape[:3]
        n_gt = max(sum(int(g.shape[0]) for g in targets.spans), 1)
        sel = self._match_all(logits, spans, targets.spans, _pad_spans(targets.spans, spans))
        dev = spans.device
        layer_idx = torch.arange(n_layers, device=dev)[:, None]
        item, query = torch.from_numpy(sel.item).to(dev), torch.from_numpy(sel.query).to(dev)
        gt = torch.cat([g.to(spans) for g in targets.spans])[torch.from_numpy(sel.gt).to(dev)]  # (Ly, M, 2)
        matched = spans[layer_idx, item, query]
        l1 = (matched - span_xx_to_cxw(gt)).abs().sum((1, 2))
        _, giou = pairwise_span_iou_giou(span_cxw_to_xx(matched)[..., None, :], gt[..., None, :])
        cls_t = np.ones((n_layers, n, q), dtype=np.int64)  # 1 = background
        cls_t[np.arange(n_layers)[:, None], sel.item, sel.query] = 0
        weight = torch.tensor([1.0, self.s.eos_coef], device=dev, dtype=logits.dtype)
        nll = F.cross_entropy(logits.reshape(-1, 2), torch.from_numpy(cls_t).to(dev).flatten(), weight=weight,
                              reduction="none").view(n_layers, -1)
        # weighted mean per layer (cross_entropy's mean); the weight sum is the same for every layer
        n_fg = sel.item.shape[1]
        w_sum = n_fg * 1.0 + (n * q - n_fg) * float(torch.tensor(self.s.eos_coef, dtype=logits.dtype))
        return {"span": l1 / n_gt, "giou": (1 - giou).flatten(1).sum(1) / n_gt, "label": nll.sum(1) / w_sum}

    def saliency_loss(self, pred: TemporalPred, labels: torch.Tensor) -> dict[str, torch.Tensor]:
        s, valid = pred.saliency.float(), pred.video_mask
        labels = labels.to(s)[:, : s.shape[1]]
        if labels.shape[1] < s.shape[1]:
            labels = F.pad(labels, (0, s.shape[1] - labels.shape[1]))
        relevant = labels > 0
        pos, neg = valid & relevant, valid & ~relevant
        # margin ranking over every (positive, negative) clip pair of an item
        diff = self.s.saliency_margin + s[:, None, :] - s[:, :, None]          # [i, p, n] = m + s_n - s_p
        pair = pos[:, :, None] & neg[:, None, :]
        hinge = (diff.clamp(min=0) * pair).sum() / pair.sum().clamp(min=1)
        # rank-contrastive: for each relevance level r, clips ≥ r against clips < r
        st, contrast, n_levels = s / self.s.temperature, s.new_zeros(()), 0
        for r in torch.unique(labels[pos]).tolist():
            p_r, n_r = valid & (labels >= r), valid & (labels < r)
            ok = p_r.any(1) & n_r.any(1)
            if not bool(ok.any()):
                continue
            lse_neg = st.masked_fill(~n_r, float("-inf")).logsumexp(1, keepdim=True)
            lp = st - torch.logaddexp(st, lse_neg)
            m = p_r & ok[:, None]
            contrast, n_levels = contrast - (lp * m).sum() / m.sum(), n_levels + 1
        contrast = contrast / max(n_levels, 1)
        wa = pred.word_attn.float().clamp(1e-6, 1 - 1e-6)
        # BCE on logit(p): the value of BCE on p, and autocast-safe (F.binary_cross_entropy is refused there)
        wattn = F.binary_cross_entropy_with_logits(torch.logit(wa[valid]), relevant.float()[valid])
        return {"saliency": hinge + contrast, "wattn": wattn}

    def __call__(self, pred: TemporalPred, targets: TemporalTargets) -> dict[str, torch.Tensor]:
        # the last layer and (with aux_loss) every earlier one, matched and scored as one stack
        layers = [(pred.logits, pred.spans)] + (list(pred.aux) if self.s.aux_loss else [])
        terms = self._set_losses(torch.stack([lg for lg, _ in layers]), torch.stack([sp for _, sp in layers]), targets)
        out = {k: v[0] for k, v in terms.items()}
        total = (self.s.w_span * terms["span"] + self.s.w_giou * terms["giou"] + self.s.w_label * terms["label"]).sum()
        out.update(self.saliency_loss(pred, targets.saliency))
        out["total"] = total + self.s.w_saliency * out["saliency"] + self.s.w_wattn * out["wattn"]
        return out


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
