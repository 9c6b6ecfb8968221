"""Temporal head: a DETR-style moment decoder in the spirit of CG-DETR, prompted by the LM's ``<temp>`` state.

Inputs per occurrence: per-clip video features (T, Dv), per-token query features (L, Dt) and the task hidden
state (D_llm), which is projected and inserted as one extra "word" right after the last valid query token
(TPO's change to CG-DETR). Pipeline: input projections → query-conditioned dummy tokens → text-to-video
attention whose dummy slots soak up attention of irrelevant clips (only word values are aggregated; the
word-attention mass per clip is a relevance signal) → a global token (mean clip + the best-matching prompts of
a learnable bank) + clip encoder → saliency per clip → ``num_queries`` moment queries with (centre, width)
anchors refined layer by layer, each with a foreground/background logit (index 0 = foreground). Spans are
normalised to [0, 1] of the video duration. In training the forward also scores every item against the next
item's query (CG-DETR's negative pair) and hands the moment/sentence branch (``temporal_align.py``) its
inputs. Loss: ``temporal_loss.TemporalCriterion``; the sizes and weights default to the released TPO
configuration (docs/TRAINING.md, "Temporal objective").

The inputs (``temporal_inputs.py``), targets (``temporal_targets.py``) and the forward's building blocks
(``temporal_blocks.py``) live in their own modules; their public names are re-exported here.
"""

from __future__ import annotations

import math
from typing import Any, Optional

import torch
import torch.nn.functional as F
from torch import nn

from ..model.spec import TemporalHeadSpec
from .base import SpanOutput, TaskHead, check_count
from .ops import span_cxw_to_xx
from .temporal_align import AlignBranch
from .temporal_attn import decoder_layer, encoder_layer, key_bias
from .temporal_blocks import _T2V, _clip_pos, _insert_after_last, _proj, _sine
from .temporal_features import check_dims, text_dim, video_dim
from .temporal_inputs import TemporalInputs, make_temporal_inputs
from .temporal_loss import TemporalCriterion, TemporalPred, TemporalTargets, _fit
from .temporal_targets import make_temporal_targets

__all__ = [
    "TemporalHead",
    "TemporalInputs",
    "TemporalTargets",
    "make_temporal_inputs",
    "make_temporal_targets",
]


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
        # detached word-attention importance of the valid clips, averaged; the top num_prompts are mixed by
        # their scores
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
        over the valid clips. ``round_to``: round window ends to multiples of this many seconds (CG-DETR's
        Charades post-processing rounds to whole 1-s clips)."""
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
