"""Temporal head: a DETR-style moment decoder in the spirit of CG-DETR, prompted by the LM's ``<temp>`` state.

Inputs per occurrence: per-clip video features (T, Dv), per-token query features (L, Dt) and the task hidden
state
(D_llm), which is projected and inserted as one extra "word" right after the last valid query token (TPO's
change
to CG-DETR). Pipeline: input projections → query-conditioned dummy tokens → text-to-video attention whose
dummy
slots soak up attention of irrelevant clips (only word values are aggregated; the word-attention mass per clip
is a relevance signal) → a global token (mean clip + the best-matching prompts of a learnable bank) + clip
encoder →
saliency per clip → ``num_queries`` moment queries with (centre, width) anchors refined layer by layer, each
with
a foreground/background logit (index 0 = foreground). Spans are normalised to [0, 1] of the video duration.
In training the forward also scores every item against the next item's query (CG-DETR's negative pair) and
hands
the moment/sentence branch (``temporal_align.py``) its inputs. Loss: ``temporal_loss.TemporalCriterion``; the
sizes and weights default to the released TPO configuration (docs/TRAINING.md, "Temporal objective").
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Optional

import torch
import torch.nn.functional as F
from torch import nn

from ..model.spec import TemporalHeadSpec
from .base import SpanOutput, TaskHead, check_count
from .ops import span_cxw_to_xx
from .temporal_align import AlignBranch
from .temporal_attn import decoder_layer, encoder_layer, key_bias
from .temporal_features import check_dims, text_dim, video_dim
from .temporal_loss import TemporalCriterion, TemporalPred, TemporalTargets, _fit
from .temporal_targets import make_temporal_targets

__all__ = [
    "TemporalHead",
    "TemporalInputs",
    "TemporalTargets",
    "make_temporal_inputs",
    "make_temporal_targets",
]


@dataclass(frozen=True, eq=False)
class TemporalInputs:
    """Padded head inputs for N occurrences. ``video`` (N, T, Dv[+2 TEF]), ``video_mask`` (N, T) bool,
    ``query`` (N, L, Dt), ``query_mask`` (N, L) bool, ``duration`` (N,) seconds; ``vids`` the video ids (the
    negative-pair term skips a shifted query of the same video; empty = all videos differ)."""

    video: torch.Tensor
    video_mask: torch.Tensor
    query: torch.Tensor
    query_mask: torch.Tensor
    duration: torch.Tensor
    vids: tuple[str, ...] = ()

    def to(self, device: Any) -> TemporalInputs:
        return TemporalInputs(
            *(
                t.to(device)
                for t in (self.video, self.video_mask, self.query, self.query_mask, self.duration)
            ),
            vids=self.vids,
        )


def make_temporal_inputs(
    videos: Sequence[torch.Tensor],
    queries: Sequence[torch.Tensor],
    durations: Sequence[float],
    tef: bool = True,
    normalize: bool = True,
    vids: Sequence[str] = (),
) -> TemporalInputs:
    """Pad per-occurrence features; L2-normalise them (as CG-DETR's loader) and append TEF [t/T, (t+1)/T]."""
    if not (len(videos) == len(queries) == len(durations)):
        raise ValueError(
            f"temporal inputs: {len(videos)} videos, {len(queries)} queries, {len(durations)} durations"
        )
    vs, qs = [], []
    for i, (v, q) in enumerate(zip(videos, queries)):
        if v.ndim != 2 or q.ndim != 2 or v.shape[0] == 0 or q.shape[0] == 0:
            raise ValueError(
                f"temporal inputs item {i}: video {tuple(v.shape)} and query {tuple(q.shape)} must be "
                f"non-empty (T, Dv) and (L, Dt)"
            )
        v, q = v.float(), q.float()
        if normalize:
            v, q = F.normalize(v, dim=-1), F.normalize(q, dim=-1)
        if tef:
            t = torch.arange(v.shape[0], dtype=torch.float32)[:, None] / v.shape[0]
            v = torch.cat([v, t, t + 1.0 / v.shape[0]], -1)
        vs.append(v)
        qs.append(q)
    video, vmask = _pad(vs)
    query, qmask = _pad(qs)
    return TemporalInputs(
        video, vmask, query, qmask, torch.tensor([float(d) for d in durations]), tuple(str(v) for v in vids)
    )


def _pad(xs: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    n, d = max(x.shape[0] for x in xs), xs[0].shape[1]
    out, mask = torch.zeros(len(xs), n, d), torch.zeros(len(xs), n, dtype=torch.bool)
    for i, x in enumerate(xs):
        out[i, : x.shape[0]], mask[i, : x.shape[0]] = x, True
    return out, mask


def _proj(d_in: int, d: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(
        nn.LayerNorm(d_in),
        nn.Dropout(dropout),
        nn.Linear(d_in, d),
        nn.ReLU(),
        nn.LayerNorm(d),
        nn.Dropout(dropout),
        nn.Linear(d, d),
    )


def _sine(x: torch.Tensor, d: int) -> torch.Tensor:
    """Sine encoding of values in [0, 1]: (..., k) → (..., k·d) (d even)."""
    ang = x.float()[..., None] * 2 * math.pi / _freqs(d, x.device)
    return torch.cat([ang.sin(), ang.cos()], -1).flatten(-2)


# Constants of the forward, built once per size and device (a step is dominated by per-op overhead at head
# size).
# Made outside inference mode so a training graph may save them for backward.
@functools.lru_cache(maxsize=64)
def _freqs(d: int, device: torch.device) -> torch.Tensor:
    with torch.inference_mode(False):
        return 10000 ** (torch.arange(d // 2, device=device, dtype=torch.float32) * 2 / d)


@functools.lru_cache(maxsize=64)
def _clip_pos(t: int, d: int, device: torch.device) -> torch.Tensor:
    """Sine encoding (t, d) of t clip positions spread over [0, 1]."""
    with torch.inference_mode(False):
        return _sine(torch.linspace(0, 1, t, device=device)[:, None], d)


class _T2V(nn.Module):
    """Clips attend over [dummies + words]; only word values are aggregated, so dummies absorb irrelevance."""

    def __init__(self, d: int, nheads: int, dropout: float) -> None:
        super().__init__()
        self.h, self.q, self.k, self.v, self.o = (
            nheads,
            nn.Linear(d, d),
            nn.Linear(d, d),
            nn.Linear(d, d),
            nn.Linear(d, d),
        )
        self.ff = nn.Sequential(nn.Linear(d, 4 * d), nn.ReLU(), nn.Dropout(dropout), nn.Linear(4 * d, d))
        self.n1, self.n2, self.drop = nn.LayerNorm(d), nn.LayerNorm(d), nn.Dropout(dropout)

    def forward(self, vid: torch.Tensor, keys: torch.Tensor, key_bias: torch.Tensor, n_dummy: int):
        """``key_bias`` (N, 1, 1, S): 0 on valid keys, -inf on padding (``temporal_attn.key_bias``)."""
        n, t, d = vid.shape
        split = lambda x: x.view(n, x.shape[1], self.h, d // self.h).transpose(1, 2)  # noqa: E731
        q, k, v = split(self.q(vid)), split(self.k(keys)), split(self.v(keys[:, n_dummy:]))
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(d // self.h)
        attn = (scores + key_bias).softmax(-1)
        out = (attn[..., n_dummy:] @ v).transpose(1, 2).reshape(n, t, d)
        vid = self.n1(vid + self.drop(self.o(out)))
        attn = attn.mean(1)  # (N, T, K) head average, as CG-DETR's attention weights
        return self.n2(vid + self.drop(self.ff(vid))), attn[..., n_dummy:].sum(-1), attn


class TemporalHead(TaskHead):
    task = "temporal"

    def __init__(self, spec: TemporalHeadSpec, llm_hidden: int) -> None:
        super().__init__()
        problem = check_dims(spec, llm_hidden)
        if problem:  # before any weight is built or loaded: the one line says what does not fit
            raise ValueError(f"temporal head features: {problem}")
        self.spec = spec
        d, nh, p = spec.hidden, spec.nheads, spec.dropout
        dv = video_dim(spec, llm_hidden) + (2 if spec.tef else 0)
        dt = text_dim(spec, llm_hidden)
        self.vid_proj, self.txt_proj = _proj(dv, d, spec.input_dropout), _proj(dt, d, spec.input_dropout)
        self.prompt_proj = _proj(llm_hidden, d, spec.input_dropout)
        self.type_embed = nn.Embedding(2, d)  # 0 = text, 1 = video
        self.dummies = nn.Parameter(torch.randn(spec.num_dummies, d) * 0.02)
        layer = lambda: nn.TransformerEncoderLayer(d, nh, 4 * d, p, batch_first=True)  # noqa: E731
        self.dummy_enc = nn.ModuleList([layer() for _ in range(spec.dummy_layers)])
        self.t2v = nn.ModuleList([_T2V(d, nh, p) for _ in range(spec.t2v_layers)])
        self.prompts = nn.Parameter(torch.randn(spec.total_prompts, d) * 0.02)  # global prompt bank
        self.encoder = nn.ModuleList([layer() for _ in range(spec.enc_layers)])
        self.query_content = nn.Parameter(torch.randn(spec.num_queries, d) * 0.02)
        # anchors (centre, width) as logits: centres spread over the video, widths ~0.27
        self.query_anchor = nn.Parameter(
            torch.stack(
                [
                    torch.logit(torch.linspace(0.05, 0.95, spec.num_queries)),
                    torch.full((spec.num_queries,), -1.0),
                ],
                -1,
            )
        )
        self.anchor_pos = nn.Sequential(nn.Linear(2 * d, d), nn.ReLU(), nn.Linear(d, d))
        self.decoder = nn.ModuleList(
            [nn.TransformerDecoderLayer(d, nh, 4 * d, p, batch_first=True) for _ in range(spec.dec_layers)]
        )
        self.span_embed = nn.Sequential(
            nn.Linear(d, d), nn.ReLU(), nn.Linear(d, d), nn.ReLU(), nn.Linear(d, 2)
        )
        nn.init.zeros_(self.span_embed[-1].weight)
        nn.init.zeros_(self.span_embed[-1].bias)
        self.class_embed = nn.Linear(d, 2)
        self.sal_proj1, self.sal_proj2 = nn.Linear(d, d), nn.Linear(d, d)
        self.align = AlignBranch(d, nh, p, spec.moment_layers, spec.sent_layers)
        self.criterion = TemporalCriterion(spec)

    def _memory(
        self,
        vid: torch.Tensor,
        keys: torch.Tensor,
        kbias: torch.Tensor,
        vmask: torch.Tensor,
        ctx: torch.Tensor,
    ):
        """T2V layers, global token (context + the best-matching prompts) and clip encoder → (clip memory,
        global token, saliency, word-attention mass, last attention)."""
        nd, dt, (n, t, d) = self.dummies.shape[0], vid.dtype, vid.shape
        x, wattn, attn = vid, vid.new_zeros(vid.shape[:2]), None
        for layer in self.t2v:
            x, wattn, attn = layer(x, keys, kbias, nd)
        # prompt choice (CG-DETR): clip-minus-context cosine to each prompt, softmaxed, weighted by the
        # detached
        # word-attention importance of the valid clips, averaged; the top num_prompts are mixed by their
        # scores
        pr = self.prompts.to(dt)
        sim = (F.normalize(vid - ctx[:, None], dim=-1) @ F.normalize(pr, dim=-1).T).softmax(-1)
        imp = wattn.detach() * vmask
        imp = imp / imp.sum(1, keepdim=True).clamp(min=1e-6) * t
        val, idx = (sim * imp[..., None]).mean(1).topk(min(self.spec.num_prompts, pr.shape[0]), dim=1)
        g = (val[..., None] * pr[idx]).sum(1) + ctx
        # the sine tables are fp32 constants: in the head's dtype, or they promote bf16 activations to fp32
        pos = _clip_pos(t, d, vid.device).to(vid.dtype)
        mem = torch.cat([g[:, None], x + pos], 1)
        mem_mask = torch.cat([torch.ones(n, 1, dtype=torch.bool, device=vid.device), vmask], 1)
        mem_bias = key_bias(mem_mask, dt)
        for layer in self.encoder:
            mem = encoder_layer(layer, mem, mem_bias, mem_mask)
        g, vmem = mem[:, 0], mem[:, 1:] + mem[:, :1]  # CG-DETR adds the global memory to every clip
        saliency = (self.sal_proj1(vmem) * self.sal_proj2(g)[:, None]).sum(-1) / math.sqrt(d)
        return vmem, saliency, wattn, attn

    def forward(self, hidden: torch.Tensor, inputs: TemporalInputs) -> TemporalPred:
        """hidden (N, D_llm) at ``<temp>``; ``inputs`` for the same N occurrences → :class:`TemporalPred`.
        In training (grad enabled) also the negative-pair branch and the alignment branch's inputs."""
        check_count(self.task, hidden.shape[0], inputs.video.shape[0])
        dt = self.query_content.dtype
        vmask, qmask = inputs.video_mask, inputs.query_mask
        vid = self.vid_proj(inputs.video.to(dt)) + self.type_embed.weight[1]
        txt = self.txt_proj(inputs.query.to(dt))
        txt, tmask = _insert_after_last(txt, qmask, self.prompt_proj(hidden.to(dt)))
        txt = txt + self.type_embed.weight[0]
        n, nd = vid.shape[0], self.dummies.shape[0]
        keys = torch.cat([self.dummies.expand(n, -1, -1), txt], 1)
        kmask = torch.cat([torch.ones(n, nd, dtype=torch.bool, device=vid.device), tmask], 1)
        kbias = key_bias(kmask, dt)
        for layer in self.dummy_enc:
            keys = encoder_layer(layer, keys, kbias, kmask)
        vm = vmask.to(dt)[..., None]
        ctx = ((vid * vm).sum(1) / vm.sum(1).clamp(min=1)).detach()  # mean clip, CG-DETR's context token
        train, sp = self.training and torch.is_grad_enabled(), self.spec
        real = [a != b for a, b in zip(inputs.vids, inputs.vids[1:] + inputs.vids[:1])] or [True] * n
        real_neg = torch.tensor(real, device=vid.device) & (n > 1)
        neg = train and bool(sp.w_saliency and (sp.w_sal_neg or sp.w_sal_rank)) and bool(real_neg.any())
        if neg:  # item i also against item i+1's query (with its dummies, as CG-DETR rolls text + dummies),
            # run as one double batch: half the per-op overhead of a second pass
            two = lambda a, b: torch.cat([a, b])  # noqa: E731
            vmem, saliency, wattn, attn = self._memory(
                two(vid, vid),
                two(keys, keys.roll(-1, 0)),
                two(kbias, kbias.roll(-1, 0)),
                two(vmask, vmask),
                two(ctx, ctx),
            )
            (vmem, _), (saliency, sal_neg), (wattn, wattn_neg), (attn, _) = (
                x.split(n) for x in (vmem, saliency, wattn, attn)
            )
        else:
            vmem, saliency, wattn, attn = self._memory(vid, keys, kbias, vmask, ctx)
        tgt, ref = self.query_content.expand(n, -1, -1), self.query_anchor.sigmoid().expand(n, -1, -1)
        outs, vmem_pos, vbias = (
            [],
            vmem + _clip_pos(vid.shape[1], vid.shape[-1], vid.device).to(dt),
            key_bias(vmask, dt),
        )
        for layer in self.decoder:
            tgt = decoder_layer(
                layer, tgt + self.anchor_pos(_sine(ref, vid.shape[-1]).to(dt)), vmem_pos, vbias, vmask
            )
            new_ref = (torch.logit(ref, eps=1e-5) + self.span_embed(tgt)).sigmoid()
            outs.append((self.class_embed(tgt), new_ref))
            ref = new_ref.detach()  # each layer refines the previous anchors (DAB-DETR style)
        logits, spans = outs[-1]
        extra: dict[str, Any] = {}
        if neg:
            extra.update(saliency_neg=sal_neg, word_attn_neg=wattn_neg.clamp(0, 1), real_neg=real_neg)
        if train:
            extra.update(
                attn=attn,
                key_mask=kmask,
                dummies=keys[:, :nd],
                prompts=self.prompts,
                feats={"vid": vid, "txt": txt, "txt_mask": tmask, "dummies": keys[:, :nd]},
            )
        return TemporalPred(
            logits=logits,
            spans=spans,
            saliency=saliency,
            word_attn=wattn.clamp(0, 1),
            video_mask=vmask,
            aux=tuple(outs[:-1]),
            **extra,
        )

    def loss(
        self, pred: TemporalPred, targets: TemporalTargets, inputs: Any = None
    ) -> dict[str, torch.Tensor]:
        check_count(self.task, pred.logits.shape[0], len(targets.spans))
        align = None
        if pred.feats is not None and (self.spec.w_ms_align or self.spec.w_distill):
            moment = _fit(targets.saliency.to(pred.saliency.device), pred.video_mask.shape[1]) > 0
            align = self.align(pred.feats, moment, pred.video_mask)
        return self.criterion(pred, targets, align)

    def decode(
        self, pred: TemporalPred, inputs: TemporalInputs, round_to: Optional[float] = None
    ) -> list[SpanOutput]:
        """Windows in seconds (clamped to [0, duration], best foreground score first) and the saliency curve
        over
        the valid clips. ``round_to``: round window ends to multiples of this many seconds (CG-DETR's Charades
        post-processing rounds to whole 1-s clips)."""
        prob = pred.logits.detach().float().softmax(-1)[..., 0]
        xx = span_cxw_to_xx(pred.spans.detach().float()).clamp(0, 1)
        score = (
            prob + self.spec.decode_saliency * _saliency_contrast(pred, xx)
            if self.spec.decode_saliency
            else prob
        )
        out = []
        for i in range(prob.shape[0]):
            dur = float(inputs.duration[i])
            order = score[i].argsort(descending=True)
            wins = []
            for j in order.tolist():
                s, e = float(xx[i, j, 0]) * dur, float(xx[i, j, 1]) * dur
                if round_to:
                    s, e = round(s / round_to) * round_to, round(e / round_to) * round_to
                wins.append((s, e, float(score[i, j])))
            n_valid = int(pred.video_mask[i].sum())
            out.append(SpanOutput(tuple(wins), tuple(float(v) for v in pred.saliency[i, :n_valid].detach())))
        return out


def _saliency_contrast(pred: TemporalPred, xx: torch.Tensor) -> torch.Tensor:
    """(N, Q): mean saliency of the valid clips whose centre lies in each window minus that of the others
    (0 when the window holds every clip, -1e9 when it holds none: no clip inside, no moment)."""
    sal, valid = pred.saliency.detach().float(), pred.video_mask
    n = valid.sum(1, keepdim=True).clamp(min=1).float()
    centre = (torch.arange(sal.shape[1], device=sal.device)[None] + 0.5) / n  # (N, T) in [0, 1] of each item
    inside = (centre[:, None] >= xx[..., :1]) & (centre[:, None] <= xx[..., 1:]) & valid[:, None]  # (N, Q, T)
    outside = ~inside & valid[:, None]
    mean = lambda m: (sal[:, None] * m).sum(-1) / m.sum(-1).clamp(min=1)  # noqa: E731
    contrast = torch.where(outside.any(-1), mean(inside) - mean(outside), torch.zeros_like(xx[..., 0]))
    return torch.where(inside.any(-1), contrast, torch.full_like(contrast, -1e9))


def _insert_after_last(txt: torch.Tensor, mask: torch.Tensor, prompt: torch.Tensor):
    """Insert ``prompt`` (N, d) into ``txt`` (N, L, d) right after each row's last valid token → (N, L+1,
    d)."""
    n, length, d = txt.shape
    lens = mask.sum(1, keepdim=True)
    idx = torch.arange(length + 1, device=txt.device)[None]
    src = torch.where(idx < lens, idx, idx - 1).clamp(min=0)
    out = txt.gather(1, src[..., None].expand(n, length + 1, d))
    out = torch.where((idx == lens)[..., None], prompt[:, None].to(out.dtype), out)
    return out, idx <= lens
