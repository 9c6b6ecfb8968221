"""Lean training-time forward of ``nn.TransformerEncoderLayer`` / ``nn.TransformerDecoderLayer`` (post-norm,
batch-first), for the temporal head's small layers.

Why: at the head's size (d = 32..256, tens of tokens) a step is dominated by per-op overhead, not arithmetic.
``nn.MultiheadAttention`` on the training path converts the bool padding mask to a float mask per call, moves
batch-first inputs to sequence-first and back, and copies the packed projection apart — about 25 forward ops
and a dozen autograd nodes per attention, on top of the layer's fast-path checks. Here the same parameters go
through
one projection matmul, views, one ``scaled_dot_product_attention`` (same dropout, same mask semantics) and the
output projection; the additive key mask is built once per forward and shared by every layer that uses it.

The math, parameter names and dropout sites (and their order, so seeded training draws the same masks) are
those of
the torch layers; results agree with them to float rounding. Inference (eval, no grad) keeps the torch layers'
own forward (the encoder's fused fast path is faster still), so decoded outputs are torch's exactly.
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["key_bias", "encoder_layer", "decoder_layer"]


def key_bias(valid: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """(N, S) bool, True = attend → additive (N, 1, 1, S) mask: 0 where valid, -inf where padded."""
    return torch.zeros(valid.shape, dtype=dtype, device=valid.device).masked_fill_(~valid, float("-inf"))[
        :, None, None
    ]


def _attention(
    mha: nn.MultiheadAttention, x: torch.Tensor, mem: Optional[torch.Tensor], bias: Optional[torch.Tensor]
) -> torch.Tensor:
    """``mha(x, mem, mem)`` (self-attention when ``mem`` is None) without attention weights; ``bias`` from
    :func:`key_bias` over ``mem``'s (or ``x``'s) keys."""
    n, lq, e = x.shape
    h = mha.num_heads
    w, b = mha.in_proj_weight, mha.in_proj_bias
    # activations meet the layer in its weights' dtype (bf16 under DeepSpeed bf16), whatever produced them
    x, mem = x.to(w.dtype), None if mem is None else mem.to(w.dtype)
    if mem is None:
        q, k, v = F.linear(x, w, b).view(n, lq, 3, h, e // h).permute(2, 0, 3, 1, 4).unbind(0)
    else:
        wq, wkv = w.split([e, 2 * e])
        bq, bkv = (None, None) if b is None else b.split([e, 2 * e])
        q = F.linear(x, wq, bq).view(n, lq, h, e // h).transpose(1, 2)
        k, v = F.linear(mem, wkv, bkv).view(n, mem.shape[1], 2, h, e // h).permute(2, 0, 3, 1, 4).unbind(0)
    out = F.scaled_dot_product_attention(q, k, v, bias, mha.dropout if mha.training else 0.0)
    # sequence-major rows as torch's MHA: CPU dropout draws its noise in the memory order of its input, so the
    # layer's dropout after attention then drops the same elements under the same seed
    out = F.linear(out.permute(2, 0, 1, 3).reshape(lq * n, e), mha.out_proj.weight, mha.out_proj.bias)
    return out.view(lq, n, e).transpose(0, 1)


def _ff(layer: nn.Module, x: torch.Tensor) -> torch.Tensor:
    return layer.linear2(layer.dropout(layer.activation(layer.linear1(x))))


def _check(layer: nn.Module) -> None:
    if layer.norm_first or not layer.self_attn.batch_first:
        raise ValueError("lean transformer layers support post-norm, batch_first layers only")


def encoder_layer(
    layer: nn.TransformerEncoderLayer,
    x: torch.Tensor,
    bias: Optional[torch.Tensor],
    valid: Optional[torch.Tensor] = None,
) -> torch.Tensor:
    """``layer(x, src_key_padding_mask=~valid)``; ``bias = key_bias(valid)``. In eval mode without grad the
    layer's own (fused) forward runs, so inference numerics are torch's."""
    _check(layer)
    if not layer.training and not torch.is_grad_enabled():
        return layer(x, src_key_padding_mask=None if valid is None else ~valid)
    x = layer.norm1(x + layer.dropout1(_attention(layer.self_attn, x, None, bias)))
    return layer.norm2(x + layer.dropout2(_ff(layer, x)))


def decoder_layer(
    layer: nn.TransformerDecoderLayer,
    x: torch.Tensor,
    mem: torch.Tensor,
    mem_bias: Optional[torch.Tensor],
    mem_valid: Optional[torch.Tensor] = None,
) -> torch.Tensor:
    """``layer(x, mem, memory_key_padding_mask=~mem_valid)`` with ``mem_bias = key_bias(mem_valid)``; in eval
    mode without grad the layer's own forward runs."""
    _check(layer)
    if not layer.training and not torch.is_grad_enabled():
        return layer(x, mem, memory_key_padding_mask=None if mem_valid is None else ~mem_valid)
    x = layer.norm1(x + layer.dropout1(_attention(layer.self_attn, x, None, None)))
    x = layer.norm2(x + layer.dropout2(_attention(layer.multihead_attn, x, mem, mem_bias)))
    return layer.norm3(x + layer.dropout3(_ff(layer, x)))
