"""Building blocks of the temporal head's forward (``temporal.py``): the input projection MLP, sine encodings
of positions in [0, 1] (cached per size and device), the text-to-video attention layer with dummy tokens and
the insertion of the ``<temp>`` prompt after each query's last word.

Kept apart so that ``temporal.py`` holds the head's wiring (its parameters, forward, loss and decode) and
stays readable; these pieces hold no state of the head.
"""

from __future__ import annotations

import functools
import math

import torch
from torch import nn


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
# size). Made outside inference mode so a training graph may save them for backward.
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


def _insert_after_last(txt: torch.Tensor, mask: torch.Tensor, prompt: torch.Tensor):
    """Insert ``prompt`` (N, d) into ``txt`` (N, L, d) right after each row's last valid token → (N, L + 1, d)
    and its mask."""
    n, length, d = txt.shape
    lens = mask.sum(1, keepdim=True)
    idx = torch.arange(length + 1, device=txt.device)[None]
    src = torch.where(idx < lens, idx, idx - 1).clamp(min=0)
    out = txt.gather(1, src[..., None].expand(n, length + 1, d))
    out = torch.where((idx == lens)[..., None], prompt[:, None].to(out.dtype), out)
    return out, idx <= lens
