"""Stand-in for the checkpoint's ``third_party/internvideo2/models/internvideo2_clip.py`` (the temporal head's
feature encoder): the same entry points the authors' demo calls, tiny random layers loaded from
``vision_ckpt_path``. Test fixture only.
"""

from types import SimpleNamespace

import torch
from torch import nn


class _Text(nn.Module):
    def __init__(self, vocab, width):
        super().__init__()
        self.embed = nn.Embedding(vocab, width)
        self.mix = nn.Linear(width, width)

    def forward(self, input_ids=None, attention_mask=None):
        h = self.embed(input_ids)
        return SimpleNamespace(last_hidden_state=torch.tanh(self.mix(h)))


class InternVideo2_CLIP(nn.Module):
    """``encode_vision(clips[N, T, C, H, W]) -> [N, clip_embed_dim]``; ``tokenizer(texts) -> ids`` (0 = pad);
    ``text_encoder.transformer(input_ids, attention_mask).last_hidden_state``."""

    VOCAB = 97

    def __init__(self, config):
        super().__init__()
        m = config.model
        ve, width = m.vision_encoder, m.text_encoder.transformer_width
        self.patch = nn.Linear(3 * ve.img_size * ve.img_size, ve.clip_embed_dim)
        self.text_encoder = SimpleNamespace(transformer=_Text(self.VOCAB, width))
        self._text = self.text_encoder.transformer  # registered, so its weights load with the rest
        from safetensors.torch import load_file

        self.load_state_dict(load_file(m.vision_ckpt_path))

    def encode_vision(self, image):
        n, t = image.shape[:2]
        return self.patch(image.reshape(n, t, -1)).mean(1)

    def tokenizer(self, texts):
        rows = [[1 + (ord(c) % (self.VOCAB - 1)) for c in t] for t in texts]
        width = max(len(r) for r in rows)
        return torch.tensor([r + [0] * (width - len(r)) for r in rows], dtype=torch.long)
