"""CG-DETR's saliency, alignment and regularisation terms as pure functions (``wjun0830/CGDETR`` @ 212b2e4,
``cg_detr/model.py`` ``SetCriterion``; the normalisations are theirs, line references in docs/TRAINING.md).

Every function takes float tensors and returns a scalar. Conventions: ``valid`` (N, T) marks real clips;
``labels`` (N, T) are clip relevance scores (summed annotator scores for QVHighlights, 0/1 elsewhere). Where
CG-DETR's code applies ``sigmoid`` then ``BCELoss`` the logits form is used here (same value, autocast-safe).
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F

_BIG = 1e3  # CG-DETR's fill for padded clips in the contrastive softmax


def margin_hinge(
    s: torch.Tensor, pos: torch.Tensor, neg: torch.Tensor, pair_mask: torch.Tensor, margin: float
) -> torch.Tensor:
    """``max(0, margin + s[neg] - s[pos])`` over the sampled (pos, neg) clip pairs, averaged, ×2 (CG-DETR: "to
    keep the loss the same scale"). ``pos``/``neg`` (N, P) clip indices, ``pair_mask`` (N, P) real pairs."""
    sp, sn = s.gather(1, pos), s.gather(1, neg)
    m = pair_mask.to(s.dtype)
    return (margin + sn - sp).clamp(min=0).mul(m).sum() / m.sum().clamp(min=1) * 2


def rank_contrastive(
    s: torch.Tensor, labels: torch.Tensor, valid: torch.Tensor, tau: float, levels: int
) -> torch.Tensor:
    """For each threshold r = 1..levels the clips with label >= r are positives of an InfoNCE over all the
    item's valid clips at temperature ``tau``; per level the mean over items (items without positives add 0),
    summed over the levels that have a positive anywhere, divided by ``levels + 1`` (CG-DETR's 1..11 and
    12)."""
    v = valid.to(s.dtype)
    x = (v * s + (1 - v) * -_BIG) / tau
    x = x - x.max(1, keepdim=True)[0]
    log_prob = x - torch.log(x.exp().sum(1, keepdim=True) + 1e-6)
    # all levels at once: a level without any positive adds exactly 0 (its per-item terms are all 0)
    r = torch.arange(1, levels + 1, device=s.device, dtype=labels.dtype)[:, None, None]
    pos = (labels[None] >= r).to(s.dtype)  # (levels, N, T)
    n_pos = pos.sum(-1)
    mean_pos = (pos * log_prob * v).sum(-1) / (n_pos + 1e-6)
    return -(mean_pos * (n_pos > 0).to(s.dtype)).mean(-1).sum() / (levels + 1)


def rank_contrastive_with_negatives(
    s: torch.Tensor,
    s_neg: Optional[torch.Tensor],
    labels: torch.Tensor,
    valid: torch.Tensor,
    real_neg: Optional[torch.Tensor],
    tau: float,
    levels: int,
) -> torch.Tensor:
    """:func:`rank_contrastive` where each item with a real negative pair (``real_neg``) also contrasts its
    clips
    with the clips scored against the shifted query (label 0); items whose shifted query comes from the same
    video are contrasted alone. Without ``s_neg`` (batch of one): the plain term over all items."""
    if s_neg is None or real_neg is None or not bool(real_neg.any()):
        return rank_contrastive(s, labels, valid, tau, levels)
    rn = real_neg
    out = rank_contrastive(
        torch.cat([s[rn], s_neg[rn]], 1),
        torch.cat([labels[rn], torch.zeros_like(labels[rn])], 1),
        valid[rn].repeat(1, 2),
        tau,
        levels,
    )
    if bool((~rn).any()):
        out = out + rank_contrastive(s[~rn], labels[~rn], valid[~rn], tau, levels)
    return out


def neg_pair_logits(s_neg: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """``-log(1 - sigmoid(s_neg))`` summed over valid clips, mean over items (``s_neg`` rows: real
    negatives)."""
    return (F.softplus(s_neg) * valid.to(s_neg.dtype)).sum(1).mean()


def neg_pair_prob(a_neg: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """The same for an attention mass in [0, 1]: ``-log(1 - a_neg)`` (clamped below 1 so it stays finite)."""
    return (-torch.log1p(-a_neg.clamp(0, 1 - 1e-6)) * valid.to(a_neg.dtype)).sum(1).mean()


def attn_bce(a: torch.Tensor, labels: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """BCE of the word-attention mass against the binary clip label, mean over valid clips. Written out (not
    ``F.binary_cross_entropy``, which autocast refuses); logs floored at -100 as torch's BCE."""
    a = a.clamp(0, 1)
    y = labels.clamp(0, 1).to(a.dtype)
    nll = -(y * torch.log(a).clamp(min=-100) + (1 - y) * torch.log1p(-a).clamp(min=-100))
    return nll[valid].mean()


def ms_align(
    moment: torch.Tensor,
    nonmoment: torch.Tensor,
    sentence: torch.Tensor,
    sentence_dummy: torch.Tensor,
    clip_feats: torch.Tensor,
    labels: torch.Tensor,
    valid: torch.Tensor,
) -> torch.Tensor:
    """Moment–sentence alignment: (1) CE over [moment_i·sentence_j, non-moment_i·sentence_j] (cosine, no
    temperature) with target sentence i; (2) the same against the dummy-sentence tokens with CG-DETR's target
    (the first "non-matching" column: 0, or 1 for row 0; column N when N = 1); (3) BCE of
    ``moment_i · clip_t`` (logits) against the binary clip label, times the clip mask, mean over all N·T."""
    n = moment.shape[0]
    m, nm = F.normalize(moment, dim=1), F.normalize(nonmoment, dim=1)
    st, sd = F.normalize(sentence, dim=1), F.normalize(sentence_dummy, dim=1)
    rows = torch.arange(n, device=moment.device)
    loss = F.cross_entropy(torch.cat([m @ st.T, nm @ st.T], 1), rows)
    dummy_target = torch.where(rows == 0, torch.full_like(rows, 1 if n > 1 else n), torch.zeros_like(rows))
    loss = loss + F.cross_entropy(torch.cat([m @ sd.T, nm @ sd.T], 1), dummy_target)
    logits = (moment[:, None] * clip_feats).sum(-1)
    bce = F.binary_cross_entropy_with_logits(logits, labels.clamp(0, 1).to(logits.dtype), reduction="none")
    return loss + (bce * valid.to(bce.dtype)).mean()


def distill(
    attn: torch.Tensor, sim: torch.Tensor, key_valid: torch.Tensor, moment: torch.Tensor
) -> torch.Tensor:
    """KL(softmax(sim) ‖ attn) per clip (the target detached), mean over the key slots, averaged over the
    in-moment clips (``moment`` (N, T) bool). ``attn``/``sim`` (N, T, K) over [dummies + words]; padded keys
    are left out of the target softmax (CG-DETR softmaxes them too; see docs/TRAINING.md)."""
    p = sim.detach().masked_fill(~key_valid[:, None, :], float("-inf")).softmax(-1)
    kl = torch.where(p > 0, p * (torch.log(p.clamp(min=1e-30)) - torch.log(attn + 1e-6)), torch.zeros_like(p))
    m = moment.to(attn.dtype)
    return (kl.mean(-1) * m).sum() / m.sum().clamp(min=1)


def _mean_abs_offdiag_cos(x: torch.Tensor) -> torch.Tensor:
    """mean |cos| between distinct rows of each (..., K, d) set, the diagonal counted as 0 (CG-DETR's
    ``fill_diagonal_(0)`` then ``abs().mean()``); one side detached as theirs."""
    xn = x / x.norm(dim=-1, keepdim=True)
    sim = xn @ xn.detach().transpose(-1, -2)
    eye = torch.eye(x.shape[-2], dtype=torch.bool, device=x.device)
    return sim.masked_fill(eye, 0).abs().mean()


def orthogonal(dummies: torch.Tensor, prompts: torch.Tensor) -> torch.Tensor:
    """Orthogonality of the (query-conditioned) dummy tokens (N, nd, d) — 0 with a single dummy — plus that of
    the global prompt bank (P, d)."""
    out = _mean_abs_offdiag_cos(dummies) if dummies.shape[1] > 1 else dummies.new_zeros(())
    return out + _mean_abs_offdiag_cos(prompts)
