"""Token routing: where each task's placeholder sits in a batch, the task's learnable token put there on
the way into the LM (and each user box's encoding at ``<track_box>``), and the LM's last hidden state there
gathered for the task's head on the way out. Pure tensor functions, used by :class:`TPOModel`."""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

#: task → (batch index, position) of its placeholders, in occurrence order
Places = dict[str, tuple[torch.Tensor, torch.Tensor]]


def placeholders(ids: torch.Tensor, placeholder_ids: Mapping[str, int]) -> Places:
    """Where each task's placeholder token sits in ``ids``; tasks without one are left out."""
    out = {}
    for task, tid in placeholder_ids.items():
        b, pos = (ids == tid).nonzero(as_tuple=True)
        if b.shape[0]:
            out[task] = (b, pos)
    return out


def put_task_tokens(e: torch.Tensor, places: Places, task_tokens: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """``e`` (B, L, D) with each task's token at its placeholders (``places``: tasks with a token only)."""
    if not places:
        return e
    # one scatter of (rows of) the tokens of the tasks present: its backward is one small gather, where a
    # masked select per task would cost two full (B, L, D) gradients and a reduction each
    b, pos = (torch.cat([p[i] for p in places.values()]) for i in (0, 1))
    tok = torch.cat([task_tokens[t].to(e.dtype).expand(p[0].shape[0], -1) for t, p in places.items()])
    return e.index_put((b, pos), tok)


def put_input_boxes(
    e: torch.Tensor, ids: torch.Tensor, box_id: int, boxes: torch.Tensor | None, encoder: nn.Sequential
) -> torch.Tensor:
    """``e`` with each ``<track_box>`` (id ``box_id``) replaced by ``encoder`` of its user box (N, 4), in
    order; a count that differs from the tokens' is an error."""
    m = ids == box_id
    n_box = int(m.sum())
    if not n_box and boxes is None:
        return e
    got = 0 if boxes is None else int(boxes.shape[0])
    if got != n_box:
        raise ValueError(f"{n_box} <track_box> token(s) in the batch but {got} input box(es)")
    enc = encoder(boxes.to(encoder[0].weight))
    return e.masked_scatter(m.unsqueeze(-1), enc.to(e.dtype))


def route_all(hidden: torch.Tensor, places: Places) -> dict[str, torch.Tensor]:
    """Each task's hidden states (N, D) at its placeholders, with one gather (one scatter in backward, not
    one per task)."""
    if len(places) < 2:
        return {t: hidden[b, pos] for t, (b, pos) in places.items()}
    rows = hidden[torch.cat([b for b, _ in places.values()]), torch.cat([p for _, p in places.values()])]
    return dict(zip(places, rows.split([b.shape[0] for b, _ in places.values()])))
