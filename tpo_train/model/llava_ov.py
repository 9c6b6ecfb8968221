"""LLaVA-OneVision adapter: the only TPO module that knows LLaVA-OV's module layout, visual splicing and
chat format.

Layout (transformers 5): ``model.model.vision_tower`` (SigLIP), ``model.model.multi_modal_projector``,
``model.model.language_model`` (Qwen2), ``model.lm_head``. Visual tokens: the processor expands ``<video>`` /
``<image>`` into one token per visual feature; :meth:`merge_vision` writes the features there. The processor's
pixels of a clip that comes back are memoised by the :class:`~tpo_train.model.video_memo.VideoPixelMemo` mixin
(``_process``), which calls :meth:`_process_fully` on a miss.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Optional

import numpy as np
import torch
from torch import nn

from .base import EncodedExample, MLLMAdapter
from .video_memo import VideoPixelMemo

_VISION_KEYS = ("pixel_values_videos", "pixel_values", "image_sizes")


class LlavaOVAdapter(VideoPixelMemo, MLLMAdapter):
    def __init__(self, model: nn.Module, processor: Any) -> None:
        self.model = model
        self.processor = processor
        self.tokenizer = processor.tokenizer

    @classmethod
    def from_pretrained(
        cls,
        path: str | Path,
        dtype: torch.dtype = torch.float32,
        processor_path: Optional[str | Path] = None,
        device: Any = None,
    ) -> LlavaOVAdapter:
        from transformers import AutoProcessor, LlavaOnevisionForConditionalGeneration

        place = {} if device is None else {"device_map": str(device)}
        model = LlavaOnevisionForConditionalGeneration.from_pretrained(
            path, dtype=dtype, low_cpu_mem_usage=True, **place
        )
        processor = AutoProcessor.from_pretrained(processor_path or path)
        return cls(model, processor)

    # ---- sizes and modules ---------------------------------------------------------------------------------
    @property
    def hidden_size(self) -> int:
        return int(self.model.config.text_config.hidden_size)

    def input_embeddings(self) -> nn.Embedding:
        return self.model.get_input_embeddings()

    def output_embeddings(self) -> nn.Linear:
        return self.model.lm_head

    def resize_vocab(self, n: int) -> None:
        # values of the new rows are set by tpo_train.model.vocab (exact mean, not HF's sampled mean)
        self.model.resize_token_embeddings(n, mean_resizing=False)

    def lora_target_modules(self, suffixes: Sequence[str]) -> list[str]:
        lm_prefix = "model.language_model."
        names = []
        for name, mod in self.model.named_modules():
            if not isinstance(mod, nn.Linear):
                continue
            short = name.rsplit(".", 1)[-1]
            if short in suffixes and (name.startswith(lm_prefix) or name == "lm_head"):
                names.append(name)
        missing = [s for s in suffixes if not any(n.rsplit(".", 1)[-1] == s for n in names)]
        if missing:
            raise ValueError(f"LoRA targets {missing} match no Linear layer of the LLaVA-OV language model")
        return names

    def vision_modules(self) -> dict[str, nn.Module]:
        return {
            "vision_tower": self.model.model.vision_tower,
            "projector": self.model.model.multi_modal_projector,
        }

    # ---- forward pieces ------------------------------------------------------------------------------------
    def _vision_grad(self) -> bool:
        return torch.is_grad_enabled() and any(
            p.requires_grad for m in self.vision_modules().values() for p in m.parameters()
        )

    def merge_vision(
        self, ids: torch.Tensor, embeds: torch.Tensor, vision: Mapping[str, torch.Tensor]
    ) -> torch.Tensor:
        core = self.model.model
        cfg = self.model.config
        # A frozen visual side runs without autograd: same numbers, no activations kept.
        grad = self._vision_grad()
        if vision.get("pixel_values") is not None:
            with torch.set_grad_enabled(grad):
                feats = core.get_image_features(vision["pixel_values"], vision["image_sizes"]).pooler_output
            embeds = _scatter(ids, embeds, cfg.image_token_id, torch.cat(list(feats), 0), "image")
        if vision.get("pixel_values_videos") is not None:
            with torch.set_grad_enabled(grad):
                feats = core.get_video_features(vision["pixel_values_videos"]).pooler_output
            embeds = _scatter(ids, embeds, cfg.video_token_id, feats.flatten(0, 1), "video")
        return embeds

    def language_forward(
        self,
        embeds: torch.Tensor,
        attention_mask: Optional[torch.Tensor] = None,
        cache: Any = None,
        use_cache: bool = False,
    ) -> tuple[torch.Tensor, Any]:
        out = self.model.model.language_model(
            inputs_embeds=embeds, attention_mask=attention_mask, cache=cache, use_cache=use_cache
        )
        return out.last_hidden_state, out.cache

    # ---- text and visual inputs ---------------------------------------------------------------------------
    def _messages(self, system: str, user: str, video: Any, image: Any) -> list[dict[str, Any]]:
        content: list[dict[str, Any]] = []
        if video is not None:
            content.append({"type": "video"})
        if image is not None:
            content.append({"type": "image"})
        content.append({"type": "text", "text": user})
        messages = [{"role": "system", "content": [{"type": "text", "text": system}]}] if system else []
        messages.append({"role": "user", "content": content})
        return messages

    def _render(self, messages: list[dict[str, Any]], generation_prompt: bool) -> str:
        return self.processor.apply_chat_template(
            messages, add_generation_prompt=generation_prompt, tokenize=False
        )

    def _process_fully(
        self, prompt: str, video: Any, image: Any
    ) -> tuple[list[int], dict[str, torch.Tensor]]:
        kwargs: dict[str, Any] = {}
        if video is not None:
            kwargs["videos"] = [np.asarray(video)]
        if image is not None:
            kwargs["images"] = [np.asarray(image)]
        out = self.processor(text=prompt, return_tensors="pt", **kwargs)
        return out["input_ids"][0].tolist(), {k: out[k] for k in _VISION_KEYS if k in out}

    def _answer_ids(self, answer: str) -> list[int]:
        # tokenised apart from the prompt: generation also starts right after the prompt tokens
        return self.tokenizer(answer, add_special_tokens=False)["input_ids"] + [self.eos_id]

    def encode(
        self,
        system: str,
        user: str,
        assistant_prefix: str = "",
        answer: Optional[str] = None,
        video: Any = None,
        image: Any = None,
    ) -> EncodedExample:
        prompt = self._render(self._messages(system, user, video, image), True) + assistant_prefix
        ids, vision = self._process(prompt, video, image)
        labels = [-100] * len(ids)
        if answer is not None:
            ans = self._answer_ids(answer)
            ids, labels = ids + ans, labels + ans
        return EncodedExample(tuple(ids), tuple(labels), vision)

    def encode_turns(
        self, system: str, turns: Sequence[tuple[str, str]], video: Any = None, image: Any = None
    ) -> EncodedExample:
        """Each turn is laid out as generation would see it: the prompt so far, then ``answer`` + end-of-turn.

        The text between answer k's end-of-turn token and answer k+1 is what the chat template adds for
        user message k+1 (the difference of its renderings with and without that message, plus whatever
        the template writes after an end-of-turn token, e.g. ChatML's newline), so templates that
        format past assistant messages differently from a generation (LLaVA-OV's ``assistant \n``)
        still give exact boundaries.
        """
        if not turns:
            raise ValueError("encode_turns: a conversation needs at least one (user, answer) turn")
        messages = self._messages(system, turns[0][0], video, image)
        ids, vision = self._process(self._render(messages, True), video, image)
        labels = [-100] * len(ids)
        eos_text = self.tokenizer.convert_ids_to_tokens(self.eos_id)
        for k, (user, answer) in enumerate(turns):
            if k:
                before = self._render(messages, False)
                messages.append({"role": "user", "content": [{"type": "text", "text": user}]})
                after = self._render(messages, True)
                if not after.startswith(before):
                    raise ValueError(
                        f"encode_turns: the chat template rewrites earlier messages when turn {k + 1} "
                        f"is added; multi-turn labels need an append-only template"
                    )
                cut = before.rfind(eos_text)
                tail = before[cut + len(eos_text) :] if cut >= 0 else ""
                cont = self.tokenizer(tail + after[len(before) :], add_special_tokens=False)["input_ids"]
                ids, labels = ids + cont, labels + [-100] * len(cont)
            ans = self._answer_ids(answer)
            ids, labels = ids + ans, labels + ans
            messages.append({"role": "assistant", "content": [{"type": "text", "text": answer}]})
        return EncodedExample(tuple(ids), tuple(labels), vision)

    def frame_features(self, vision: Mapping[str, torch.Tensor]) -> torch.Tensor:
        pv = vision["pixel_values_videos"].to(self.device)
        if pv.shape[0] != 1:
            raise ValueError(f"frame_features takes one video, got a batch of {pv.shape[0]}")
        with torch.no_grad():
            feats = self.model.model.get_video_features(pv).pooler_output[0, :-1]  # drop the newline token
        return feats.reshape(pv.shape[1], -1, feats.shape[-1]).mean(1)

    @property
    def eos_id(self) -> int:
        eos = self.model.generation_config.eos_token_id
        eos = eos[0] if isinstance(eos, (list, tuple)) else eos
        return int(eos if eos is not None else self.tokenizer.eos_token_id)

    @property
    def pad_id(self) -> int:
        pad = self.tokenizer.pad_token_id
        return int(pad if pad is not None else self.eos_id)


def _scatter(
    ids: torch.Tensor, embeds: torch.Tensor, token_id: int, feats: torch.Tensor, what: str
) -> torch.Tensor:
    mask = ids == token_id
    n = int(mask.sum())
    if n != feats.shape[0]:
        raise ValueError(
            f"{what} features do not match the {what} tokens: {feats.shape[0]} features, {n} tokens "
            f"(was the prompt encoded with the same processor and number of frames?)"
        )
    return embeds.masked_scatter(mask.unsqueeze(-1), feats.to(embeds.dtype))
