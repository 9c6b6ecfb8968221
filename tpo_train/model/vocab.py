"""New special tokens: adding them to the tokenizer, growing the embedding tables, mean-initialising the new
rows, and (optionally) learning them through separate delta tables so the base vocabulary can never change.

Why deltas instead of unfreezing the tables: AdamW's decoupled weight decay moves every row of a trainable
matrix
even where the gradient is zero, so "train only the new rows" of a shared table would drift the base rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from ..tasks.base import BOX_INPUT_TOKEN, BUILTIN_TASKS, NEW_TOKENS, get_task
from .base import MLLMAdapter


@dataclass(frozen=True)
class TokenIds:
    """Ids of the TPO tokens in the (grown) vocabulary."""

    trigger: dict[str, int]  # task → trigger id
    placeholder: dict[str, int]  # task → placeholder id
    box_input: int
    new_ids: tuple[int, ...]  # ids of tpo_tokens(tasks) in order

    def task_of_trigger(self, token_id: int) -> str | None:
        for task, tid in self.trigger.items():
            if tid == token_id:
                return task
        return None


def tpo_tokens(tasks: Sequence[str] = BUILTIN_TASKS) -> tuple[str, ...]:
    """The tokens a model with the tokens of ``tasks`` (:func:`tpo_train.tasks.base.token_tasks`) adds, in id
    order: :data:`NEW_TOKENS` (public order, so checkpoints agree on ids), then each further task's pair."""
    extra = [t for t in tasks if t not in BUILTIN_TASKS]
    return NEW_TOKENS + tuple(tok for t in extra for tok in (get_task(t).trigger, get_task(t).placeholder))


def token_ids(tokens: Sequence[str], ids: Sequence[int], tasks: Sequence[str]) -> TokenIds:
    """:class:`TokenIds` of ``tasks`` given the ids of ``tokens`` (:func:`tpo_tokens`); tasks in the order of
    their triggers there (the model gathers placeholders in this order)."""
    lookup = dict(zip(tokens, ids))
    tasks = sorted(tasks, key=lambda t: tokens.index(get_task(t).trigger))
    return TokenIds(
        trigger={t: lookup[get_task(t).trigger] for t in tasks},
        placeholder={t: lookup[get_task(t).placeholder] for t in tasks},
        box_input=lookup[BOX_INPUT_TOKEN],
        new_ids=tuple(ids),
    )


def add_tpo_tokens(adapter: MLLMAdapter, tasks: Sequence[str] = BUILTIN_TASKS) -> TokenIds:
    """Add :func:`tpo_tokens` (those missing) as special tokens; grow the model's tables when an id falls
    outside them; set the rows of the new ids to the exact mean of the base rows (input table and LM head
    alike).

    Base rows = the rows of every id the tokenizer had before (and any unused padding rows are left as they
    were).
    """
    tokens = tpo_tokens(tasks)
    tok = adapter.tokenizer
    n_before = len(tok)
    missing = [t for t in tokens if t not in tok.get_vocab()]
    if missing:
        tok.add_special_tokens({"additional_special_tokens": missing}, replace_extra_special_tokens=False)
    ids = tuple(int(i) for i in tok.convert_tokens_to_ids(list(tokens)))
    need = max(ids) + 1
    if need > adapter.input_embeddings().num_embeddings:
        adapter.resize_vocab(need)
    if missing:
        base = torch.tensor([i for i in range(n_before) if i not in ids])
        new = torch.tensor(ids)
        with torch.no_grad():
            for table in (adapter.input_embeddings().weight, adapter.output_embeddings().weight):
                rows, into = base.to(table.device), new.to(table.device)
                table[into] = table[rows].float().mean(0).to(table.dtype)
    return token_ids(tokens, ids, tasks)


class NewRowDeltas(nn.Module):
    """Trainable additive corrections to the new tokens' input-embedding and LM-head rows (zero at start)."""

    def __init__(self, new_ids: tuple[int, ...], hidden: int, vocab: int) -> None:
        super().__init__()
        self.input_delta = nn.Parameter(torch.zeros(len(new_ids), hidden))
        self.output_delta = nn.Parameter(torch.zeros(len(new_ids), hidden))
        pos = torch.full((vocab,), -1, dtype=torch.long)
        pos[torch.tensor(new_ids)] = torch.arange(len(new_ids))
        self.register_buffer("slot", pos, persistent=False)
        self.register_buffer("ids", torch.tensor(new_ids), persistent=False)

    def embed(self, ids: torch.Tensor, embeds: torch.Tensor) -> torch.Tensor:
        slot = self.slot[ids]
        add = self.input_delta[slot.clamp(min=0)] * (slot >= 0).unsqueeze(-1)
        return embeds + add.to(embeds.dtype)

    def logits(self, hidden: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
        extra = hidden @ self.output_delta.to(hidden.dtype).T
        return logits.index_add(-1, self.ids, extra.to(logits.dtype))
