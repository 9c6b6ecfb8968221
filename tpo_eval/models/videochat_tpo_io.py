"""What the released VideoChat-TPO code expects around it and does not ship: its tokenizer interface, the
frame transform of the authors' demo, the temporal head's feature encoder and the span post-processing.

Written from the public OpenGVLab/TPO code (``tokenizer.py``, ``app.py``; see ../shared/reference/tpo.md §2.3,
§2.4); nothing is copied. Used by :mod:`tpo_eval.models.videochat_tpo`. The loading patches (``on_sys_path``,
``legacy_*``) are ``videochat_tpo_compat.py`` and are importable from here too.
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .videochat_tpo_compat import legacy_model_classes, legacy_transformers_names, on_sys_path

__all__ = [
    "IMAGENET",
    "IMG_TOKEN",
    "TASK_TOKENS",
    "VID_TOKEN",
    "AttrDict",
    "ClipFeatures",
    "SegmentTokenizer",
    "frames_tensor",
    "legacy_model_classes",
    "legacy_transformers_names",
    "midpoints",
    "on_sys_path",
    "span_windows",
    "timestamps_msg",
]

IMG_TOKEN, VID_TOKEN = "[<IMG_PLH>]", "[<VID_PLH>]"
TASK_TOKENS = (
    "<box_begin>",
    "<time_begin>",
    "<temp>",
    "<boxes>",
    "<track_begin>",
    "<tracking>",
    "<track_box>",
)
IMAGENET = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))  # app.py get_transform, every head
_PLACEHOLDER = re.compile(f"({re.escape(IMG_TOKEN)}|{re.escape(VID_TOKEN)})")


class SegmentTokenizer:
    """The tokenizer the released code calls. Its ``MultimodalLlamaTokenizer`` lives in the authors' GitHub
    repo (``tokenizer.py``), not in the checkpoint, and ``tokenizer_config.json`` names it without an
    ``auto_map``, so ``AutoTokenizer`` cannot load it: this wraps the checkpoint's own Llama tokenizer and
    adds
    what the model code reads (task-token ids as attributes, ``build_input_ids``); the rest is the wrapped
    tokenizer's."""

    def __init__(self, tok: Any, n_query: int) -> None:
        self.__dict__["_tok"] = tok
        missing = [t for t in TASK_TOKENS if t not in tok.get_vocab()]
        if missing:
            tok.add_tokens(missing)
        ids = dict(zip(TASK_TOKENS, tok.convert_tokens_to_ids(list(TASK_TOKENS))))
        self.n_query = n_query
        self.box_start_token, self.time_start_token = ids["<box_begin>"], ids["<time_begin>"]
        self.temp_token, self.box_token = ids["<temp>"], ids["<boxes>"]
        self.track_start_token, self.track_token = ids["<track_begin>"], ids["<tracking>"]
        self.track_box_token = ids["<track_box>"]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.__dict__["_tok"], name)

    def __len__(self) -> int:
        return len(self._tok)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._tok(*args, **kwargs)

    def build_input_ids(
        self,
        text: Sequence[str],
        max_length: Any = None,
        add_special_tokens: Any = True,
        truncation: Any = False,
        padding: Any = False,
        return_tensors: Any = "pt",
        image: Any = None,
        video: Any = None,
        require_image: bool = False,
        require_video: bool = False,
    ) -> dict[str, Any]:
        """Text split at the visual placeholders; each piece tokenized on its own and each placeholder
        replaced by ``n_query`` slots (id 0, index 1). The release passes its non-empty special-token list as
        ``add_special_tokens``, so every piece, even an empty one, starts with its own BOS: kept, because the
        released weights were trained on exactly these ids."""
        import torch

        ids: list[int] = []
        index: list[int] = []
        for part in _PLACEHOLDER.split(text[0]):
            if part in (IMG_TOKEN, VID_TOKEN):
                ids += [0] * self.n_query
                index += [1] * self.n_query
            else:
                piece = self._tok(part, add_special_tokens=True)["input_ids"]
                ids += piece
                index += [0] * len(piece)
        idx = torch.tensor(index, dtype=torch.bool)
        return {
            "input_ids": torch.tensor(ids, dtype=torch.long),
            "attention_mask": torch.ones(len(ids), dtype=torch.long),
            "image_index": idx if image is not None or require_image else None,
            "video_index": idx if video is not None or require_video else None,
            "image": image,
            "video": video,
        }


def frames_tensor(frames: Any, size: int, norm: tuple = IMAGENET) -> Any:
    """uint8 RGB frames (T, H, W, 3) or a list of images → float (T, 3, size, size): bicubic resize on the
    uint8 values (rounded back, as torchvision does for uint8), ``/255``, ImageNet mean/std (app.py)."""
    import torch
    import torch.nn.functional as F

    out = []
    for f in frames:
        x = torch.from_numpy(np.array(f, dtype=np.float32)).permute(2, 0, 1)[None]  # a copy: input untouched
        x = F.interpolate(x, size=(size, size), mode="bicubic", align_corners=False, antialias=True)
        out.append(x.round().clamp(0, 255)[0])
    x = torch.stack(out) / 255.0
    mean, std = (torch.tensor(v).view(1, 3, 1, 1) for v in norm)
    return (x - mean) / std


def midpoints(n_have: int, n_want: int) -> list[int]:
    """Segment-midpoint indices of ``n_want`` items among ``n_have`` (repeats when there are fewer)."""
    return [min(n_have - 1, int((i + 0.5) * n_have / n_want)) for i in range(n_want)]


def timestamps_msg(timestamps: Sequence[float]) -> str:
    """The demo's frame-time message, added only when the user text mentions "timestamp" (app.py run)."""
    times = ", ".join(str(round(t, 1)) for t in timestamps)
    return f" The video contains {len(timestamps)} frames sampled at {times} seconds. "


class AttrDict(dict):
    """Nested dict with attribute access: what the release's configs (EasyDict) look like to its code."""

    def __init__(self, d: Mapping[str, Any]) -> None:
        super().__init__({k: AttrDict(v) if isinstance(v, Mapping) else v for k, v in d.items()})

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


class ClipFeatures:
    """The temporal head's inputs as the authors' demo makes them (app.py ``extract_video`` /
    ``extract_text``), through the checkpoint's own ``third_party.internvideo2`` InternVideo2-CLIP. Its weight
    paths are internal (/mnt/petrelfs/…) in the release, so they come from a JSON file: the ``model`` mapping
    of app.py."""

    def __init__(self, ckpt: Path, config_path: str, device: str, dtype: Any) -> None:
        cfg = json.loads(Path(config_path).read_text(encoding="utf-8"))
        with on_sys_path(ckpt):
            mod = importlib.import_module("third_party.internvideo2.models.internvideo2_clip")
            self.model = mod.InternVideo2_CLIP(AttrDict({"model": cfg})).to(device=device, dtype=dtype).eval()
        self.clip_frames = int(cfg["vision_encoder"]["num_frames"])
        self.size = int(cfg["vision_encoder"]["img_size"])
        self.device, self.dtype = device, dtype

    def video(self, frames: Any) -> Any:
        """One feature per ``clip_frames`` consecutive frames (8 at 8 fps: one a second in the demo) + TEF."""
        import torch

        x = frames_tensor(frames, self.size)
        n = -(-len(x) // self.clip_frames) * self.clip_frames
        x = torch.cat([x, x[-1:].expand(n - len(x), -1, -1, -1)]) if n > len(x) else x
        clips = x.reshape(n // self.clip_frames, self.clip_frames, *x.shape[1:]).to(self.device, self.dtype)
        with torch.no_grad():  # the demo encodes at most 100 clips at a time
            feat = torch.cat(
                [self.model.encode_vision(clips[i : i + 100]) for i in range(0, len(clips), 100)]
            )
        st = torch.arange(len(feat), dtype=torch.float32) / len(feat)
        tef = torch.stack([st, st + 1.0 / len(feat)], 1).to(feat.device, feat.dtype)
        return torch.cat([feat, tef], 1)

    def query(self, text: str) -> Any:
        """Per-token last hidden states of the text encoder for the whole user text, at most 100 tokens."""
        import torch

        ids = self.model.tokenizer([text]).to(self.device)
        mask = ids > 0
        with torch.no_grad():
            h = self.model.text_encoder.transformer(input_ids=ids, attention_mask=mask).last_hidden_state
        return h[0][: int(mask[0].sum())][:100].to(self.dtype)


def span_windows(
    logits: Any, spans: Any, duration: float, clip_len: float
) -> tuple[tuple[float, float, float], ...]:
    """CG-DETR output of one query → ``(start s, end s, score)`` best first: foreground probability (class 0),
    (centre, width) → (start, end) × duration clamped to the video, then rounded to whole clips as
    ``PostProcessorDETR(round_multiple)`` does (clip_len 1 s for Charades in the demo)."""
    import torch

    score = torch.softmax(logits.float(), -1)[:, 0]
    cx, w = spans.float().unbind(-1)
    se = (torch.stack([cx - w / 2, cx + w / 2], -1) * duration).clamp(0, duration)
    rows = sorted(zip(se.tolist(), score.tolist()), key=lambda r: -r[1])
    out = []
    for (s, e), p in rows:
        s, e = round(s / clip_len) * clip_len, round(e / clip_len) * clip_len
        out.append((round(float(s), 4), round(float(e), 4), round(float(p), 4)))
    return tuple(out)
