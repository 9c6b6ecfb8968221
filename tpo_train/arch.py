"""Published architecture numbers of the base MLLMs (no weights, no builders): what ``tpo-train plan`` builds
on the meta device and what the random real-size model of the device check is drawn from. Kept apart from
:mod:`tpo_train.presets` (which also builds the tiny model) so that the tiny builder can use these numbers
without an import cycle."""

from __future__ import annotations

from typing import Any

# llava-hf/llava-onevision-qwen2-7b-ov-hf: SigLIP-so400m/14 at 384 px (the last encoder layer is dropped by
# the
# conversion, hence 26 layers with vision_feature_layer -1), a 2-layer GELU MLP projector, and
# Qwen2-7B-Instruct
# (hidden 3584, 28 layers, 28 query / 4 KV heads, MLP 18944, vocab padded to 152128 rows).
LLAVA_OV_7B: dict[str, Any] = {
    "vision": {
        "hidden_size": 1152,
        "intermediate_size": 4304,
        "num_hidden_layers": 26,
        "num_attention_heads": 16,
        "image_size": 384,
        "patch_size": 14,
        "vision_use_head": False,
    },
    "text": {
        "vocab_size": 152128,
        "hidden_size": 3584,
        "intermediate_size": 18944,
        "num_hidden_layers": 28,
        "num_attention_heads": 28,
        "num_key_value_heads": 4,
        "max_position_embeddings": 32768,
        "rope_theta": 1000000.0,
        "rms_norm_eps": 1e-6,
        "tie_word_embeddings": False,
    },
    "image_token_index": 151646,
    "video_token_index": 151647,
    "tokenizer_size": 151648,  # Qwen2 tokenizer + <image> + <video>; TPO's 7 tokens land in the padding rows
}

PRESETS: dict[str, dict[str, Any]] = {"llava-ov-7b": LLAVA_OV_7B}


def llava_ov_config(preset: dict[str, Any]) -> Any:
    """The transformers ``LlavaOnevisionConfig`` of a preset."""
    from transformers import LlavaOnevisionConfig, Qwen2Config, SiglipVisionConfig

    return LlavaOnevisionConfig(
        vision_config=SiglipVisionConfig(**preset["vision"]),
        text_config=Qwen2Config(**preset["text"]),
        image_token_index=preset["image_token_index"],
        video_token_index=preset["video_token_index"],
        vision_feature_select_strategy="full",
        vision_feature_layer=-1,
        vision_aspect_ratio="anyres_max_9",
        tie_word_embeddings=False,
    )
