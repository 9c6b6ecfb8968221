"""``hf``: a transformers video/multi-image LLM loaded from a local checkpoint directory.

Uses the checkpoint's own processor and chat template (``AutoProcessor``) and ``AutoModelForImageTextToText``
(LLaVA-OneVision, Qwen2-VL, … — whatever the checkpoint's config names). Decoding is greedy. Nothing is
downloaded
(``local_files_only``) and remote code runs only when the user passes ``--model-arg trust_remote_code=true``.

The assistant prefix of the benchmark prompt (MVBench: ``Best option:(``) is appended after the generation
prompt, so the model continues it exactly as the reference pipeline forces it to.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Optional

from ..types import RawOutput, Request
from .base import ModelError, VideoModel

_DTYPES = {"float32": "float32", "bfloat16": "bfloat16", "float16": "float16"}


class HFVideoModel(VideoModel):
    name = "hf"
    supports = frozenset({"mcq", "multi_image", "generate", "span"})
    generation_keys = {
        "max_new_tokens": int,
        "do_sample": bool,
        "temperature": float,
        "top_p": float,
        "top_k": int,
        "num_beams": int,
        "repetition_penalty": float,
    }
    model_args = frozenset({"trust_remote_code", "max_new_tokens"})

    def __init__(self, variant: Optional[str] = None, ckpt: Optional[str] = None, **kwargs: Any) -> None:
        super().__init__(variant=variant, ckpt=ckpt, **kwargs)
        if not ckpt:
            raise ModelError(
                "--model hf needs --ckpt DIR (a local transformers checkpoint; nothing is downloaded)"
            )
        p = Path(ckpt)
        if not (p / "config.json").is_file():
            found = sorted(x.name for x in p.iterdir())[:10] if p.is_dir() else []
            raise ModelError(
                f"{p} is not a transformers checkpoint directory (no config.json; found: {found})"
            )
        import torch
        from transformers import AutoModelForImageTextToText, AutoProcessor

        trust = str(self.kwargs.get("trust_remote_code", "false")).lower() == "true"
        self.max_new_tokens = self._max_new_tokens_arg = int(self.kwargs.get("max_new_tokens", 0)) or None
        self.gen_kwargs: dict[str, Any] = {}  # the benchmark's, from set_generation
        self.processor = AutoProcessor.from_pretrained(p, local_files_only=True, trust_remote_code=trust)
        tok = getattr(self.processor, "tokenizer", None)
        if tok is not None:
            tok.padding_side = "left"  # batched generation needs left padding
        self.torch_dtype = getattr(torch, _DTYPES[self.dtype])
        # weights go straight to the device (device_map), shard by shard: a 7B checkpoint never needs twice
        # its size in host RAM
        self.model = AutoModelForImageTextToText.from_pretrained(
            p,
            dtype=self.torch_dtype,
            local_files_only=True,
            trust_remote_code=trust,
            use_safetensors=True,
            device_map=self.device,
            low_cpu_mem_usage=True,
        ).eval()

    def set_generation(self, generation: dict[str, Any]) -> None:
        # --model-arg max_new_tokens wins; else each benchmark's own (an adapter may serve several)
        self.max_new_tokens = self._max_new_tokens_arg or int(generation.get("max_new_tokens", 0)) or None
        # the rest go to generate() as given (greedy unless do_sample=true is asked for)
        self.gen_kwargs = {
            k: v for k, v in generation.items() if k in self.generation_keys and k != "max_new_tokens"
        }

    def predict(self, requests: Sequence[Request]) -> list[RawOutput]:
        import torch

        texts, videos, images = [], [], []
        for r in requests:
            content: list[dict[str, Any]] = []
            if r.kind == "multi_image":
                content += [{"type": "image"} for _ in r.frames]
                images.append(list(r.frames))
            elif r.frames is not None:
                content.append({"type": "video"})
                videos.append(r.frames)
            content.append({"type": "text", "text": r.prompt.user})
            conv = (
                [{"role": "system", "content": [{"type": "text", "text": r.prompt.system}]}]
                if r.prompt.system
                else []
            ) + [{"role": "user", "content": content}]
            prompt = self.processor.apply_chat_template(conv, add_generation_prompt=True, tokenize=False)
            texts.append(prompt + r.prompt.assistant_prefix)
        kw: dict[str, Any] = {"text": texts, "return_tensors": "pt", "padding": True}
        if videos:
            kw["videos"] = videos
        if images:
            kw["images"] = images
        inputs = self.processor(**kw).to(self.device)
        for k, v in inputs.items():
            if torch.is_floating_point(v):
                inputs[k] = v.to(self.torch_dtype)
        with torch.inference_mode():
            gen = {"do_sample": False, **self.gen_kwargs}
            out = self.model.generate(**inputs, max_new_tokens=self.max_new_tokens or 100, **gen)
        new = out[:, inputs["input_ids"].shape[1] :]
        decoded = self.processor.batch_decode(new, skip_special_tokens=True)
        return [RawOutput(r.sample_id, text=t) for r, t in zip(requests, decoded)]

    def fingerprint(self) -> dict[str, Any]:
        fp = super().fingerprint()
        fp.update(
            {
                "dtype": self.dtype,
                "max_new_tokens": self.max_new_tokens,
                "architecture": type(self.model).__name__,
            }
        )
        return fp
