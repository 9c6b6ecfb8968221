"""Base-model presets: the published architecture numbers of a base MLLM, with no weights.

``model.base`` may name a preset instead of a checkpoint folder. ``tpo-train plan`` builds a preset on the meta
device (no memory) so the real-size structure — trainable parameters per Table-5 group — can be checked offline.
``tiny`` is the only preset with weights: a random tiny LLaVA-OneVision built by :mod:`tpo_train.tiny` into a
cache folder (``$TPO_TRAIN_CACHE``, default ``~/.cache/tpo_train``) so CPU tests can run the whole recipe.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

# llava-hf/llava-onevision-qwen2-7b-ov-hf: SigLIP-so400m/14 at 384 px (the last encoder layer is dropped by the
# conversion, hence 26 layers with vision_feature_layer -1), a 2-layer GELU MLP projector, and Qwen2-7B-Instruct
# (hidden 3584, 28 layers, 28 query / 4 KV heads, MLP 18944, vocab padded to 152128 rows).
LLAVA_OV_7B: dict[str, Any] = {
    "vision": {"hidden_size": 1152, "intermediate_size": 4304, "num_hidden_layers": 26, "num_attention_heads": 16,
               "image_size": 384, "patch_size": 14, "vision_use_head": False},
    "text": {"vocab_size": 152128, "hidden_size": 3584, "intermediate_size": 18944, "num_hidden_layers": 28,
             "num_attention_heads": 28, "num_key_value_heads": 4, "max_position_embeddings": 32768,
             "rope_theta": 1000000.0, "rms_norm_eps": 1e-6, "tie_word_embeddings": False},
    "image_token_index": 151646,
    "video_token_index": 151647,
    "tokenizer_size": 151648,  # Qwen2 tokenizer + <image> + <video>; TPO's 7 tokens land in the padding rows
}

PRESETS: dict[str, dict[str, Any]] = {"llava-ov-7b": LLAVA_OV_7B}
BUILDABLE: dict[str, Callable[[Path, int], Path]] = {}


def _build_tiny(out: Path, seed: int) -> Path:
    from .tiny import build_tiny_llava_ov

    return build_tiny_llava_ov(out, seed=seed)


BUILDABLE["tiny"] = _build_tiny


def is_preset(name: str) -> bool:
    return name in PRESETS or name in BUILDABLE


def cache_dir() -> Path:
    return Path(os.environ.get("TPO_TRAIN_CACHE", Path.home() / ".cache" / "tpo_train"))


def materialize(base: str, seed: int = 0) -> Path:
    """A folder ``from_pretrained`` can load: ``base`` itself, or a built ``tiny`` checkpoint (cached).

    Raises:
        ValueError: for a weights-less preset (``llava-ov-7b``): point ``model.base`` at a local checkpoint.
    """
    if base in BUILDABLE:
        out = cache_dir() / f"{base}-seed{seed}"
        if not (out / "model.safetensors").is_file():
            # build beside the target and rename: concurrent ranks or tests never see a half-written folder
            tmp = out.with_name(f"{out.name}.tmp{os.getpid()}")
            BUILDABLE[base](tmp, seed)
            try:
                tmp.rename(out)
            except OSError:  # another process won the race; its folder is identical (seeded build)
                import shutil

                shutil.rmtree(tmp, ignore_errors=True)
        return out
    if base in PRESETS:
        raise ValueError(f"model.base={base!r} is an architecture preset without weights (good for `tpo-train plan`); "
                         f"to train, set model.base to a local checkpoint folder, e.g. a download of "
                         f"llava-hf/llava-onevision-qwen2-7b-ov-hf")
    return Path(base)


def llava_ov_config(preset: dict[str, Any]) -> Any:
    """The transformers ``LlavaOnevisionConfig`` of a preset."""
    from transformers import LlavaOnevisionConfig, Qwen2Config, SiglipVisionConfig

    return LlavaOnevisionConfig(
        vision_config=SiglipVisionConfig(**preset["vision"]), text_config=Qwen2Config(**preset["text"]),
        image_token_index=preset["image_token_index"], video_token_index=preset["video_token_index"],
        vision_feature_select_strategy="full", vision_feature_layer=-1, vision_aspect_ratio="anyres_max_9",
        tie_word_embeddings=False)
