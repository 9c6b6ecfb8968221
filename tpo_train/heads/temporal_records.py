"""The records the temporal head, its target builder and its loss pass between them: the ground truth
(:class:`TemporalTargets`), the head's output (:class:`TemporalPred`) and the alignment branch's output
(:class:`AlignOut`).

Split from ``temporal_loss.py`` (the criterion, which re-exports all three) so that the target builder
(``temporal_targets.py``) and the alignment branch (``temporal_align.py``) depend on the data they build,
not on the loss.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch


@dataclass(frozen=True, eq=False)
class TemporalTargets:
    """``spans``: per occurrence a (k, 2) tensor of normalised (start, end); ``saliency`` (N, T) clip labels
    (0 = irrelevant; summed annotator scores for QVHighlights; 0/1 where a source has none). ``pos``/``neg``
    (N, P) sampled clip indices for the margin hinge, ``pair_mask`` (N, P) the real pairs; ``None`` = every
    (relevant, irrelevant) pair of an item."""

    spans: tuple[torch.Tensor, ...]
    saliency: torch.Tensor
    pos: Optional[torch.Tensor] = None
    neg: Optional[torch.Tensor] = None
    pair_mask: Optional[torch.Tensor] = None


@dataclass(frozen=True, eq=False)
class TemporalPred:
    """Head output: ``logits`` (N, Q, 2) [fg, bg]; ``spans`` (N, Q, 2) normalised (centre, width);
    ``saliency`` (N, T); ``word_attn`` (N, T) in [0, 1]; ``video_mask`` (N, T); ``aux`` earlier decoder
    layers' (logits, spans).
    Training extras (None when not computed): ``saliency_neg``/``word_attn_neg`` (N, T) against the query
    shifted by one in the batch, ``real_neg`` (N,) whether that query belongs to another video; ``attn``
    (N, T, K) the last T2V layer's attention over [dummies + words], ``key_mask`` (N, K); ``dummies``
    (N, nd, d) the query-conditioned dummy tokens, ``prompts`` (P, d) the global prompt bank; ``feats`` the
    intermediates the head's alignment branch reads."""

    logits: torch.Tensor
    spans: torch.Tensor
    saliency: torch.Tensor
    word_attn: torch.Tensor
    video_mask: torch.Tensor
    aux: tuple[tuple[torch.Tensor, torch.Tensor], ...] = ()
    saliency_neg: Optional[torch.Tensor] = None
    word_attn_neg: Optional[torch.Tensor] = None
    real_neg: Optional[torch.Tensor] = None
    attn: Optional[torch.Tensor] = None
    key_mask: Optional[torch.Tensor] = None
    dummies: Optional[torch.Tensor] = None
    prompts: Optional[torch.Tensor] = None
    feats: Optional[dict[str, torch.Tensor]] = None


@dataclass(frozen=True, eq=False)
class AlignOut:
    """The moment/sentence branch (training only): ``moment``/``nonmoment`` (N, d) tokens encoded over the
    in-moment / other clips, ``sentence``/``sentence_dummy`` (N, d) over the words / the dummies,
    ``clip_feats`` (N, T, d) each clip from the encoding of its own side, ``sim`` (N, T, K) in-moment clip
    features · encoded [dummies + words]."""

    moment: torch.Tensor
    nonmoment: torch.Tensor
    sentence: torch.Tensor
    sentence_dummy: torch.Tensor
    clip_feats: torch.Tensor
    sim: torch.Tensor
