"""A tiny, randomly initialised LLaVA-OneVision checkpoint for CPU tests (no hub download).

API::

    from tpo_train.tiny import build_tiny_llava_ov
    ckpt = build_tiny_llava_ov(tmp_path / "tiny", seed=0)   # -> Path (the same folder)
    model = LlavaOnevisionForConditionalGeneration.from_pretrained(ckpt)
    processor = AutoProcessor.from_pretrained(ckpt)

What lands in ``out_dir``: ``config.json`` + ``model.safetensors`` (the model), ``generation_config.json``
(greedy, eos = ``<|im_end|>``), the processor files (image + video processor, tokenizer, chat template).

Sizes (all tiny, chosen so a generate call on 4 frames takes well under a second on CPU):

- vision: SigLIP, 32×32 px images, patch 8 → 4×4 = 16 patches per frame, hidden 32, 2 layers;
- video: frames resized to 32×32; the model pools each frame to 2×2 → a 4-frame video is 4·4 + 1 = 17
``<video>``
  tokens (the processor expands the single ``<video>`` of the chat template itself);
- LM: Qwen2, hidden 64, 2 layers, 4 heads (2 KV heads), vocab = the tokenizer's (a few hundred tokens);
- tokenizer: byte-level BPE trained here with ``tokenizers`` on a small built-in corpus, so *any* text encodes
  (unknown words fall back to bytes). Special tokens: ``<|endoftext|>`` (pad), ``<|im_start|>``,
  ``<|im_end|>`` (eos), ``<image>``, ``<video>``;
- chat template: Qwen/ChatML as LLaVA-OV uses it; message ``content`` is either a string or a list of
  ``{"type": "text"|"image"|"video", ...}`` items, and ``add_generation_prompt`` opens the assistant turn.

The build is deterministic for a given ``seed`` (weights via ``torch.manual_seed``; the tokenizer trainer is
deterministic), so two builds with the same seed give bit-identical ``model.safetensors``.
"""

from __future__ import annotations

from pathlib import Path

SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>", "<image>", "<video>")
IMAGE_SIZE = 32
LM_HIDDEN = 64  # the LM hidden size of the ``tiny`` preset (temporal features from the model have this size)
PATCH_SIZE = 8

# Jinja ChatML template; a list content renders visual items as their placeholder token followed by a newline.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' }}"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for item in message['content'] %}"
    "{% if item['type'] == 'image' %}{{ '<image>\n' }}"
    "{% elif item['type'] == 'video' %}{{ '<video>\n' }}"
    "{% elif item['type'] == 'text' %}{{ item['text'] }}{% endif %}"
    "{% endfor %}{% endif %}"
    "{{ '<|im_end|>\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

# Enough text for BPE merges that cover the words our tests and templates use; anything else falls back to
# bytes.
_CORPUS = [
    "Carefully watch the video and pay attention to the cause and sequence of events, the detail and "
    "movement of objects, and the action and pose of persons.",
    "Based on your observations, select the best option that accurately addresses the question.",
    "Question: What is the person doing? Options: (A) walking (B) running (C) sitting (D) jumping",
    "Only give the best option. Best option:(A) Best option:(B) Best option:(C) Best option:(D)",
    "Localize the visual content described by the given textual query in the video, and output the start and "
    "end timestamps in seconds.",
    "Detect and report the start and end timestamps of the video segment that semantically matches the "
    "query.",
    "Find the video segment that corresponds to the given textual query and determine its start and end "
    "seconds.",
    "Where is the red square? Can you find the ball? Please locate the cat. Detect the dog? Locate the box?",
    "Track the object in the video using a box with initial coordinates. Show the tracking trajectory.",
    "Please give the motion path of the person in the video over time.",
    "The given query happens in 23.0-27.0 seconds. 0 1 2 3 4 5 6 7 8 9 . , : ; ( ) [ ] - ?",
    "a person opens the door. a person is sitting on a chair. someone turns on the light. the man holds a "
    "cup.",
    "system user assistant You are a helpful assistant.",
]


def _train_tokenizer(extra_corpus: tuple[str, ...] = ()):
    """Byte-level BPE over ``_CORPUS`` (+ ``extra_corpus``) with the special tokens at ids 0..4 (transformers
    fast tokenizer)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=512,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator((_CORPUS + list(extra_corpus)) * 4, trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        pad_token="<|endoftext|>",
        eos_token="<|im_end|>",
        additional_special_tokens=["<|im_start|>", "<image>", "<video>"],
        model_max_length=4096,
        padding_side="left",  # batched generation pads on the left
    )
    fast.chat_template = CHAT_TEMPLATE
    return fast


def _pinpoints(size: int) -> list[list[int]]:
    return [[size, size], [size, 2 * size], [2 * size, size], [2 * size, 2 * size]]


def _build_processor(tokenizer, image_size: int = IMAGE_SIZE, patch_size: int = PATCH_SIZE):
    from transformers import (
        LlavaOnevisionImageProcessor,
        LlavaOnevisionProcessor,
        LlavaOnevisionVideoProcessor,
    )

    size = {"height": image_size, "width": image_size}
    return LlavaOnevisionProcessor(
        image_processor=LlavaOnevisionImageProcessor(size=size, image_grid_pinpoints=_pinpoints(image_size)),
        video_processor=LlavaOnevisionVideoProcessor(size=size),
        tokenizer=tokenizer,
        num_image_tokens=(image_size // patch_size) ** 2,
        vision_feature_select_strategy="full",
        chat_template=CHAT_TEMPLATE,
    )


def tiny_config(
    vocab_size: int, image_token_id: int, video_token_id: int, *, text_hidden: int = 64, text_layers: int = 2
):
    """The :class:`LlavaOnevisionConfig` of the tiny model (exposed for tests that need a model without
    files)."""
    from transformers import LlavaOnevisionConfig, Qwen2Config, SiglipVisionConfig

    vision = SiglipVisionConfig(
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        image_size=IMAGE_SIZE,
        patch_size=PATCH_SIZE,
        vision_use_head=False,
    )
    text = Qwen2Config(
        vocab_size=vocab_size,
        hidden_size=text_hidden,
        intermediate_size=2 * text_hidden,
        num_hidden_layers=text_layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=1024,
        tie_word_embeddings=False,
    )
    pinpoints = [
        [IMAGE_SIZE, IMAGE_SIZE],
        [IMAGE_SIZE, 2 * IMAGE_SIZE],
        [2 * IMAGE_SIZE, IMAGE_SIZE],
        [2 * IMAGE_SIZE, 2 * IMAGE_SIZE],
    ]
    return LlavaOnevisionConfig(
        vision_config=vision,
        text_config=text,
        image_token_index=image_token_id,
        video_token_index=video_token_id,
        image_grid_pinpoints=pinpoints,
        vision_feature_select_strategy="full",
        vision_feature_layer=-1,
        vision_aspect_ratio="anyres_max_9",
        tie_word_embeddings=False,
    )


def build_tiny_llava_ov(
    out_dir: Path,
    seed: int = 0,
    *,
    text_hidden: int = LM_HIDDEN,
    text_layers: int = 2,
    extra_corpus: tuple[str, ...] = (),
) -> Path:
    """Build, save and return ``out_dir`` holding a tiny random LLaVA-OneVision model + processor.

    Args:
        out_dir: folder to create (or overwrite files in).
        seed: torch seed for the random weights.
        text_hidden, text_layers: LM width and depth (defaults: the tiny test model; larger values for
        benches).
        extra_corpus: more text for the tokenizer's BPE merges (the demo's base gives its world's words, so
        that "red" or "square" is one token, as in a real LLM's vocabulary); empty = the test model.

    Returns:
        ``out_dir`` as a :class:`Path`, loadable offline with ``from_pretrained``.
    """
    import torch
    from transformers import GenerationConfig, LlavaOnevisionForConditionalGeneration

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tokenizer = _train_tokenizer(tuple(extra_corpus))
    image_id, video_id = tokenizer.convert_tokens_to_ids(["<image>", "<video>"])
    config = tiny_config(len(tokenizer), image_id, video_id, text_hidden=text_hidden, text_layers=text_layers)
    torch.manual_seed(seed)
    model = LlavaOnevisionForConditionalGeneration(config).eval()
    eos, pad = tokenizer.convert_tokens_to_ids(["<|im_end|>", "<|endoftext|>"])
    model.generation_config = GenerationConfig(
        do_sample=False, eos_token_id=eos, pad_token_id=pad, max_new_tokens=16
    )
    model.config.pad_token_id = pad
    model.save_pretrained(out_dir, safe_serialization=True)
    _build_processor(tokenizer).save_pretrained(out_dir)
    return out_dir


def build_random_llava_ov(
    out_dir: Path, preset: dict, *, device: str = "cpu", dtype: str = "bfloat16", seed: int = 0
) -> Path:
    """Save a LLaVA-OneVision of ``preset``'s architecture (``tpo_train.presets``, e.g. the real-size
    ``LLAVA_OV_7B``) with random weights — nothing is downloaded — plus this module's tokenizer and a
    processor sized to the preset's vision tower. For device checks: the real structure, shapes and FLOPs, no
    real weights.

    The weights are drawn on ``device`` in ``dtype`` (a 7B model in bf16 on a GPU takes seconds; on a CPU,
    minutes) and written as safetensors shards. The image/video token ids follow the small tokenizer (its ids
    fall inside the preset's padded vocabulary)."""
    import torch
    from transformers import GenerationConfig, LlavaOnevisionForConditionalGeneration

    from .arch import llava_ov_config

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tokenizer = _train_tokenizer()
    image_id, video_id = tokenizer.convert_tokens_to_ids(["<image>", "<video>"])
    config = llava_ov_config({**preset, "image_token_index": image_id, "video_token_index": video_id})
    vision = preset["vision"]
    config.image_grid_pinpoints = _pinpoints(vision["image_size"])
    torch.manual_seed(seed)
    default = torch.get_default_dtype()
    torch.set_default_dtype(getattr(torch, dtype))
    try:
        with torch.device(device):
            model = LlavaOnevisionForConditionalGeneration(config).eval()
    finally:
        torch.set_default_dtype(default)
    eos, pad = tokenizer.convert_tokens_to_ids(["<|im_end|>", "<|endoftext|>"])
    model.generation_config = GenerationConfig(
        do_sample=False, eos_token_id=eos, pad_token_id=pad, max_new_tokens=16
    )
    model.config.pad_token_id = pad
    model.save_pretrained(out_dir, safe_serialization=True)
    _build_processor(tokenizer, vision["image_size"], vision["patch_size"]).save_pretrained(out_dir)
    del model
    return out_dir
