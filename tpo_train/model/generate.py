"""Greedy generation that watches for trigger tokens and answers them with the task head.

Per step: argmax of the next-token logits. When the token is a task's trigger, the trigger and the task's
placeholder are fed together (the placeholder's input is the learnable task token, exactly
as in training: ``…<time_begin><temp>``); the last-layer hidden state at the placeholder goes to the task's
head
(when the model has one), whose decoded output is recorded, and decoding continues from that state (both steps
stay in the KV cache, so text after
the placeholder is conditioned on it, as in training). Stops at the end-of-turn token or ``max_new_tokens``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional

import torch

from ..tasks.base import get_task
from .base import EncodedExample

if TYPE_CHECKING:
    from .tpo import TPOModel


@dataclass(frozen=True)
class Generation:
    """``text``: decoded answer without special tokens; ``raw_text``: with them (triggers visible);
    ``token_ids``: generated ids (placeholders included, end-of-turn excluded);
    ``head_outputs``: (task, decoded head output) per trigger, in order."""

    text: str
    raw_text: str
    token_ids: tuple[int, ...]
    head_outputs: tuple[tuple[str, Any], ...]

    def first(self, task: str) -> Any:
        """The first head output of ``task``, or None when the model never triggered it."""
        return next((o for t, o in self.head_outputs if t == task), None)


@torch.no_grad()
def generate(
    model: TPOModel,
    example: EncodedExample,
    head_inputs: Optional[Mapping[str, Any]] = None,
    input_boxes: Optional[torch.Tensor] = None,
    max_new_tokens: int = 32,
    missing_inputs: str = "raise",
) -> Generation:
    """Answer one encoded prompt (``example`` from ``adapter.encode`` without an answer).

    ``head_inputs``: task → that head's inputs for one occurrence (e.g. ``TemporalInputs`` with N = 1); a
    trigger
    whose head needs inputs that are missing raises, or with ``missing_inputs="text"`` is written without
    running the head (a text answer that happens to emit a trigger, e.g. on a multiple-choice question).
    """
    if missing_inputs not in ("raise", "text"):
        raise ValueError(f"missing_inputs={missing_inputs!r}: use 'raise' or 'text'")
    adapter, ids_info = model.adapter, model.token_ids
    dev = adapter.device
    head_inputs = dict(head_inputs or {})
    ids = torch.tensor([example.input_ids], device=dev)
    vision = {k: v.to(dev) for k, v in example.vision.items()}
    boxes = None if input_boxes is None else input_boxes.to(dev)
    hidden, cache = adapter.language_forward(model.embed(ids, vision, boxes), use_cache=True)
    last = hidden[:, -1]
    out: list[int] = []
    heads_out: list[tuple[str, Any]] = []
    for _ in range(max_new_tokens):
        nxt = int(model.logits(last).argmax(-1)[0])
        if nxt == adapter.eos_id:
            break
        out.append(nxt)
        task = ids_info.task_of_trigger(nxt)
        if task is not None:
            step = torch.tensor([[nxt, ids_info.placeholder[task]]], device=dev)
            out.append(ids_info.placeholder[task])
            hidden, cache = adapter.language_forward(model.embed(step), cache=cache, use_cache=True)
            last = hidden[:, -1]
            if task in model.heads:  # a model without this head still writes the pair, as in training
                inputs = head_inputs.get(task)
                if get_task(task).needs_inputs and inputs is None:
                    if missing_inputs == "text":
                        continue
                    raise ValueError(
                        f"the model triggered the {task} head but no {task} head inputs were given"
                    )
                head = model.heads[task]
                inputs = inputs.to(dev) if hasattr(inputs, "to") else inputs
                heads_out.append((task, head.decode(head(last, inputs), inputs)[0]))
        else:
            hidden, cache = adapter.language_forward(
                model.embed(torch.tensor([[nxt]], device=dev)), cache=cache, use_cache=True
            )
            last = hidden[:, -1]
    tok = adapter.tokenizer
    return Generation(
        tok.decode(out, skip_special_tokens=True),
        tok.decode(out, skip_special_tokens=False),
        tuple(out),
        tuple(heads_out),
    )
