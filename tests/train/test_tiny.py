"""The tiny LLaVA-OneVision builder: saved files load offline and generate from a chat prompt with a video."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from tpo_train.tiny import build_tiny_llava_ov  # noqa: E402


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    return build_tiny_llava_ov(tmp_path_factory.mktemp("tiny_ov"), seed=0)


def _video(t: int = 4) -> np.ndarray:
    return np.random.RandomState(0).randint(0, 256, (t, 32, 32, 3), dtype=np.uint8)


def test_files_and_offline_load(tiny_dir, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    for name in (
        "config.json",
        "model.safetensors",
        "generation_config.json",
        "tokenizer.json",
        "processor_config.json",
    ):
        assert (tiny_dir / name).is_file(), name
    model = transformers.LlavaOnevisionForConditionalGeneration.from_pretrained(tiny_dir)
    proc = transformers.AutoProcessor.from_pretrained(tiny_dir)
    assert isinstance(proc, transformers.LlavaOnevisionProcessor)
    tok = proc.tokenizer
    assert model.config.text_config.vocab_size == len(tok)
    assert model.config.video_token_index == tok.convert_tokens_to_ids("<video>")
    assert model.config.image_token_index == tok.convert_tokens_to_ids("<image>")
    assert model.generation_config.eos_token_id == tok.convert_tokens_to_ids("<|im_end|>")
    # byte-level BPE: arbitrary text round-trips
    text = "Zebra 12.5-13 seconds (Q) ünïcode"
    assert tok.decode(tok(text)["input_ids"]) == text


def test_generate_from_chat_prompt_with_video(tiny_dir):
    model = transformers.LlavaOnevisionForConditionalGeneration.from_pretrained(tiny_dir).eval()
    proc = transformers.AutoProcessor.from_pretrained(tiny_dir)
    msgs = [{"role": "user", "content": [{"type": "video"}, {"type": "text", "text": "What happens?"}]}]
    prompt = proc.apply_chat_template(msgs, add_generation_prompt=True)
    assert prompt == "<|im_start|>user\n<video>\nWhat happens?<|im_end|>\n<|im_start|>assistant\n"
    inputs = proc(text=prompt, videos=[_video(4)], return_tensors="pt")
    # 4 frames × (2×2 pooled patches) + 1 newline token
    assert int((inputs["input_ids"] == model.config.video_token_index).sum()) == 17
    with torch.no_grad():
        out = model.generate(**inputs, max_new_tokens=6, do_sample=False)
    assert out.shape[1] > inputs["input_ids"].shape[1]
    with torch.no_grad():  # greedy decoding is deterministic
        again = model.generate(**inputs, max_new_tokens=6, do_sample=False)
    assert torch.equal(out, again)


def test_generate_with_image(tiny_dir):
    model = transformers.LlavaOnevisionForConditionalGeneration.from_pretrained(tiny_dir).eval()
    proc = transformers.AutoProcessor.from_pretrained(tiny_dir)
    msgs = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Where is the ball?"}]}]
    prompt = proc.apply_chat_template(msgs, add_generation_prompt=True)
    inputs = proc(text=prompt, images=[_video(1)[0]], return_tensors="pt")
    with torch.no_grad():
        out = model.generate(**inputs, max_new_tokens=4, do_sample=False)
    assert out.shape[1] > inputs["input_ids"].shape[1]


def test_same_seed_same_weights(tiny_dir, tmp_path):
    other = build_tiny_llava_ov(tmp_path / "again", seed=0)
    digest = lambda p: hashlib.sha256((p / "model.safetensors").read_bytes()).hexdigest()  # noqa: E731
    assert digest(other) == digest(tiny_dir)
    assert digest(build_tiny_llava_ov(tmp_path / "seed1", seed=1)) != digest(tiny_dir)
