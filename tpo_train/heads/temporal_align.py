"""The temporal head's training-only moment/sentence branch (CG-DETR's ``mcls_encoder`` / ``scls_encoder``).

A learnable moment token is encoded with the projected clips it may attend to — once the in-moment clips, once
the others — and a learnable sentence token once with the query words (the ``<temp>`` state included) and once
with the query-conditioned dummy tokens. The loss (``temporal_terms.ms_align`` / ``distill``) pulls the moment
token to its sentence, away from the dummies, and distils the moment-to-word similarity of the in-moment clips
into the text-to-video attention. Nothing here runs at inference.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .temporal_attn import encoder_layer, key_bias
from .temporal_records import AlignOut


class AlignBranch(nn.Module):
    def __init__(self, d: int, nheads: int, dropout: float, moment_layers: int, sent_layers: int) -> None:
        super().__init__()
        layer = lambda: nn.TransformerEncoderLayer(d, nheads, 4 * d, dropout, batch_first=True)  # noqa: E731
        self.moment_token = nn.Parameter(torch.randn(d) * 0.02)
        self.sentence_token = nn.Parameter(torch.randn(d) * 0.02)
        self.mcls = nn.ModuleList([layer() for _ in range(moment_layers)])
        self.scls = nn.ModuleList([layer() for _ in range(sent_layers)])

    @staticmethod
    def _run(layers: nn.ModuleList, token: torch.Tensor, seq: torch.Tensor, valid: torch.Tensor):
        """Encode [token, seq] where the token and the ``valid`` rows of seq are attended → (token, seq)
        out."""
        n = seq.shape[0]
        x = torch.cat([token.to(seq.dtype).expand(n, 1, -1), seq], 1)
        v = torch.cat([torch.ones(n, 1, dtype=torch.bool, device=seq.device), valid], 1)
        bias = key_bias(v, seq.dtype)
        for layer in layers:
            x = encoder_layer(layer, x, bias, v)
        return x[:, 0], x[:, 1:]

    def forward(self, feats: dict[str, torch.Tensor], moment: torch.Tensor, vmask: torch.Tensor) -> AlignOut:
        """``feats``: ``vid`` (N, T, d) projected clips, ``txt`` (N, L, d) projected words, ``txt_mask`` (N,
        L), ``dummies`` (N, nd, d); ``moment`` (N, T) bool in-moment clips."""
        vid, txt, tmask, dummies = feats["vid"], feats["txt"], feats["txt_mask"], feats["dummies"]
        n, length, nd = vid.shape[0], txt.shape[1], dummies.shape[1]
        # each encoder runs once on a double batch (moment | non-moment; words | dummies padded to one length)
        tok, clips = self._run(
            self.mcls, self.moment_token, torch.cat([vid, vid]), torch.cat([moment & vmask, ~moment & vmask])
        )
        (m_tok, nm_tok), (m_clips, nm_clips) = tok.split(n), clips.split(n)
        w = max(length, nd)
        pad = lambda x: F.pad(x, (0, 0, 0, w - x.shape[1]))  # noqa: E731
        dvalid = torch.ones(n, nd, dtype=torch.bool, device=vid.device)
        valid = torch.cat([F.pad(tmask, (0, w - length)), F.pad(dvalid, (0, w - nd))])
        tok, seq = self._run(self.scls, self.sentence_token, torch.cat([pad(txt), pad(dummies)]), valid)
        (s_tok, sd_tok), words, dwords = tok.split(n), seq[:n, :length], seq[n:, :nd]
        keys = torch.cat([dwords, words], 1)  # the T2V attention's key order: [dummies + words]
        sim = m_clips @ keys.transpose(1, 2)
        clip_feats = torch.where(moment[..., None], m_clips, nm_clips)
        return AlignOut(m_tok, nm_tok, s_tok, sd_tok, clip_feats, sim)
