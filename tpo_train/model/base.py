"""The base-MLLM seam: what TPO needs from a multimodal LLM, and how an adapter is picked for a checkpoint.

Everything architecture-specific (which module is the LM, how visual features are spliced into the token
sequence, the chat format) lives in one adapter module per model family (``llava_ov.py`` for LLaVA-OneVision).
The TPO model (``tpo.py``) only talks to :class:`MLLMAdapter`.

Tensor conventions: ``ids`` (B, L) int64; ``embeds``/``hidden`` (B, L, D) in the model dtype; ``vision`` a
dict of
the processor's tensors for the visual inputs of a batch, in reading order (see :func:`batch.collate`).
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import torch
from torch import nn

# model_type in the checkpoint's config.json → adapter class (lazy, so no transformers model import here)
ADAPTERS: dict[str, str] = {
    "llava_onevision": "tpo_train.model.llava_ov:LlavaOVAdapter",
}


@dataclass(frozen=True)
class EncodedExample:
    """One tokenised conversation. ``labels`` is -100 on the prompt; ``vision`` tensors have leading dim 1."""

    input_ids: tuple[int, ...]
    labels: tuple[int, ...]
    vision: Mapping[str, torch.Tensor]


class MLLMAdapter:
    """Interface (duck-typed) over a transformers multimodal LLM. Subclasses implement every method."""

    model: nn.Module
    tokenizer: Any
    processor: Any

    @classmethod
    def from_pretrained(
        cls,
        path: str | Path,
        dtype: torch.dtype = torch.float32,
        processor_path: Optional[str | Path] = None,
        device: Any = None,
    ) -> MLLMAdapter:
        raise NotImplementedError

    # ---- sizes and modules
    # ----------------------------------------------------------------------------------
    @property
    def hidden_size(self) -> int:
        raise NotImplementedError

    def input_embeddings(self) -> nn.Embedding:
        raise NotImplementedError

    def output_embeddings(self) -> nn.Linear:
        raise NotImplementedError

    def resize_vocab(self, n: int) -> None:
        """Grow input and output embedding tables to ``n`` rows (new rows' values are set by the caller)."""
        raise NotImplementedError

    def lora_target_modules(self, suffixes: Sequence[str]) -> list[str]:
        """Full module names inside the language model (and its LM head) that end with one of ``suffixes``."""
        raise NotImplementedError

    def vision_modules(self) -> dict[str, nn.Module]:
        """``{"vision_tower": ..., "projector": ...}``: the visual side, for freezing and param groups."""
        raise NotImplementedError

    # ---- forward pieces
    # -------------------------------------------------------------------------------------
    def embed_tokens(self, ids: torch.Tensor) -> torch.Tensor:
        return self.input_embeddings()(ids)

    def merge_vision(
        self, ids: torch.Tensor, embeds: torch.Tensor, vision: Mapping[str, torch.Tensor]
    ) -> torch.Tensor:
        """Write the visual features at the visual placeholder positions of ``ids``."""
        raise NotImplementedError

    def language_forward(
        self,
        embeds: torch.Tensor,
        attention_mask: Optional[torch.Tensor] = None,
        cache: Any = None,
        use_cache: bool = False,
    ) -> tuple[torch.Tensor, Any]:
        """Run the LM on embeddings; return (last-layer hidden states after the final norm, cache)."""
        raise NotImplementedError

    def logits(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.output_embeddings()(hidden)

    # ---- text and visual inputs
    # -----------------------------------------------------------------------------
    def encode(
        self,
        system: str,
        user: str,
        assistant_prefix: str = "",
        answer: Optional[str] = None,
        video: Any = None,
        image: Any = None,
    ) -> EncodedExample:
        """Chat-format a single-turn conversation; ``answer`` (if given) is appended with the end-of-turn
        token and is the only labelled part."""
        raise NotImplementedError

    def encode_turns(
        self, system: str, turns: Sequence[tuple[str, str]], video: Any = None, image: Any = None
    ) -> EncodedExample:
        """Chat-format a multi-turn conversation ``turns = [(user, answer), ...]`` (the visual input goes with
        the
        first user message). Every answer, each followed by the end-of-turn token, is labelled; system, user
        messages and the chat scaffolding between turns are -100. One turn encodes as ``encode(system, user,
        answer=answer, ...)``."""
        raise NotImplementedError

    def frame_features(self, vision: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Per-frame visual features (T, D) of a single video (vision tensors with leading dim 1)."""
        raise NotImplementedError

    def text_features(self, text: str, max_tokens: int = 100) -> torch.Tensor:
        """Per-token features (L, D) of ``text`` (frozen input embeddings)."""
        ids = self.tokenizer(text, add_special_tokens=False)["input_ids"][:max_tokens] or [self.pad_id]
        with torch.no_grad():
            return self.embed_tokens(torch.tensor([ids], device=self.device))[0]

    @property
    def eos_id(self) -> int:
        raise NotImplementedError

    @property
    def pad_id(self) -> int:
        raise NotImplementedError

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def save_processor(self, out_dir: Path) -> None:
        self.processor.save_pretrained(out_dir)


def load_adapter(
    path: str | Path,
    dtype: torch.dtype = torch.float32,
    processor_path: Optional[str | Path] = None,
    device: Any = None,
) -> MLLMAdapter:
    """Pick the adapter for the checkpoint at ``path`` by its ``config.json`` ``model_type`` and load it.

    ``processor_path`` overrides where the processor/tokenizer is read from (a TPO checkpoint stores its own,
    with the added tokens). ``device`` (e.g. ``cuda:0``): load the weights straight onto it (``device_map``),
    so a 7B checkpoint never sits in host RAM whole; None loads onto the CPU.
    """
    cfg_file = Path(path) / "config.json"
    if not cfg_file.is_file():
        raise FileNotFoundError(
            f"base model {path}: no config.json (expected a transformers checkpoint folder)"
        )
    model_type = json.loads(cfg_file.read_text()).get("model_type")
    if model_type not in ADAPTERS:
        raise ValueError(
            f"base model {path}: model_type {model_type!r} has no TPO adapter; supported: {sorted(ADAPTERS)}"
        )
    module, _, attr = ADAPTERS[model_type].partition(":")
    cls = getattr(importlib.import_module(module), attr)
    return cls.from_pretrained(path, dtype=dtype, processor_path=processor_path, device=device)
