"""Where the temporal head's inputs come from — one definition used by training *and* evaluation.

A temporal head is trained on one kind of video feature and one kind of query feature, and must be fed the
same kind when it is scored. The kind is part of the head's spec (``TemporalHeadSpec.video_features`` /
``text_features``) and so of every checkpoint:

- ``model``: the base model's own frozen encoders through its adapter — one feature per sampled frame (mean of
the
  frame's projected visual tokens) and the query tokens' input embeddings (dims = the LM hidden size);
- ``precomputed``: CG-DETR-layout files, ``{video_dir}/{vid}.(pt|npz|npy)`` → (T, Dv) and
  ``{text_dir}/qid{qid}.(pt|npz|npy)`` → (L, Dt) (e.g. InternVideo2 768-d clips and LLaMA 4096-d tokens, as
  the
  paper); ``.npz`` arrays are read from ``features`` (video) or ``last_hidden_state`` (query), else from the
  single array stored; ``.pt`` may hold a tensor or a dict with ``features``;
- a registered *extractor* name (video side only, :data:`VIDEO_EXTRACTORS`): a deterministic function of the
  sampled RGB frames, so the same features are computed from the same frames at training and at evaluation.

:func:`check_dims` is what config validation and the ``tpo`` eval adapter use to refuse a mismatch in one
line.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import numpy as np
import torch

_EXTS = (".pt", ".npz", ".npy")
BUILTIN_KINDS = ("model", "precomputed")


def _read(path_base: Path, keys: tuple[str, ...]) -> torch.Tensor:
    for ext in _EXTS:
        p = path_base.with_name(path_base.name + ext)
        if not p.is_file():
            continue
        if ext == ".pt":
            obj = torch.load(p, map_location="cpu", weights_only=True)
            if isinstance(obj, Mapping):
                key = next((k for k in keys if k in obj), None)
                if key is None:
                    raise ValueError(f"{p}: dict without any of the keys {list(keys)} (has {sorted(obj)})")
                obj = obj[key]
            t = torch.as_tensor(obj)
        elif ext == ".npz":
            with np.load(p) as z:
                key = next((k for k in keys if k in z.files), z.files[0] if len(z.files) == 1 else None)
                if key is None:
                    raise ValueError(f"{p}: none of the arrays {list(keys)} (has {z.files})")
                t = torch.from_numpy(np.asarray(z[key]))
        else:
            t = torch.from_numpy(np.load(p))
        if t.ndim != 2:
            raise ValueError(f"{p}: expected a 2-d (length, dim) array, got shape {tuple(t.shape)}")
        return t.float()
    raise FileNotFoundError(f"no feature file {path_base}{{{','.join(_EXTS)}}}")


def find_feature_file(folder: Path) -> Optional[tuple[Path, int]]:
    """(first feature file in ``folder``, its feature size), or None when the folder has none."""
    for p in sorted(Path(folder).iterdir()) if Path(folder).is_dir() else []:
        if p.suffix in _EXTS:
            stem = p.with_suffix("")
            return p, int(_read(stem, ("features", "last_hidden_state")).shape[1])
    return None


class PrecomputedFeatures:
    def __init__(self, video_dir: str | Path, query_dir: str | Path) -> None:
        self.video_dir, self.query_dir = Path(video_dir), Path(query_dir)

    def video(self, vid: str) -> torch.Tensor:
        return _read(self.video_dir / str(vid), ("features",))

    def query(self, qid: Any) -> torch.Tensor:
        return _read(self.query_dir / f"qid{qid}", ("last_hidden_state", "features"))


class ModelFeatures:
    def __init__(self, adapter: Any, max_query_tokens: int = 100) -> None:
        self.adapter, self.max_query_tokens = adapter, max_query_tokens

    def video(self, vision: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """(T, D) for one encoded video (``EncodedExample.vision``)."""
        dev = self.adapter.device
        return self.adapter.frame_features({k: v.to(dev) for k, v in vision.items()}).float().cpu()

    def query(self, text: str) -> torch.Tensor:
        return self.adapter.text_features(text, self.max_query_tokens).float().cpu()


# ---- registered video extractors
# -----------------------------------------------------------------------------
@dataclass(frozen=True)
class VideoExtractor:
    """``fn(frames)`` maps (T, H, W, 3) uint8 RGB frames to (T, dim) float32 features, one row per frame."""

    name: str
    dim: int
    fn: Callable[[np.ndarray], np.ndarray]
    about: str


def _rgb_hist(frames: np.ndarray, bins: int = 4, grid: int = 2) -> np.ndarray:
    """Per frame: a ``bins``³ joint RGB histogram (fractions of pixels) and the mean RGB of each cell of a
    ``grid``×``grid`` split — colour content and a coarse layout, cheap and exactly reproducible."""
    f = np.asarray(frames)
    if f.ndim != 4 or f.shape[-1] != 3:
        raise ValueError(f"rgb_hist: frames must be (T, H, W, 3), got {f.shape}")
    t, h, w, _ = f.shape
    q = (f.astype(np.int64) * bins) // 256
    code = (q[..., 0] * bins + q[..., 1]) * bins + q[..., 2]
    hist = np.stack([np.bincount(c.ravel(), minlength=bins**3) for c in code]).astype(np.float32) / (h * w)
    cells = [
        f[:, i * h // grid : (i + 1) * h // grid, j * w // grid : (j + 1) * w // grid]
        .reshape(t, -1, 3)
        .mean(1)
        for i in range(grid)
        for j in range(grid)
    ]
    return np.concatenate([hist, np.concatenate(cells, 1).astype(np.float32) / 255.0], 1)


def _color_moments(frames: np.ndarray, bins: int = 4) -> np.ndarray:
    """Per frame and per cell of a ``bins``³ RGB quantisation: the cell's pixel share (×4) and the mean x and
    y of
    its pixels in [0, 1] (0 when absent) — what colour is where: objects appearing, moving and changing colour
    move mass and centroids between cells."""
    f = np.asarray(frames)
    if f.ndim != 4 or f.shape[-1] != 3:
        raise ValueError(f"color_moments: frames must be (T, H, W, 3), got {f.shape}")
    t, h, w, _ = f.shape
    q = (f.astype(np.int64) * bins) // 256
    k = bins**3
    code = ((q[..., 0] * bins + q[..., 1]) * bins + q[..., 2]).reshape(t, -1) + np.arange(t)[:, None] * k
    ys, xs = np.divmod(np.arange(h * w), w)
    flat = code.ravel()
    mass = np.bincount(flat, minlength=t * k).reshape(t, k)
    sx = np.bincount(flat, weights=np.tile(xs / max(1, w - 1), t), minlength=t * k).reshape(t, k)
    sy = np.bincount(flat, weights=np.tile(ys / max(1, h - 1), t), minlength=t * k).reshape(t, k)
    m = np.maximum(mass, 1)
    return np.concatenate([mass / (h * w) * 4, sx / m, sy / m], 1).astype(np.float32)


def _with_change(
    fn: Callable[[np.ndarray], np.ndarray], scale: float = 4.0
) -> Callable[[np.ndarray], np.ndarray]:
    """``fn``'s features followed by their change since the previous sampled frame (×``scale``; 0 for the
    first): events are changes, and a per-clip head sees them directly."""

    def with_change(frames: np.ndarray) -> np.ndarray:
        f = fn(frames)
        d = np.concatenate([np.zeros_like(f[:1]), f[1:] - f[:-1]]) * scale
        return np.concatenate([f, d], 1).astype(np.float32)

    return with_change


VIDEO_EXTRACTORS: dict[str, VideoExtractor] = {
    "rgb_hist": VideoExtractor(
        "rgb_hist",
        4**3 + 3 * 2 * 2,
        _rgb_hist,
        "64-bin joint RGB histogram + mean RGB of a 2x2 grid, per sampled frame",
    ),
    "color_moments": VideoExtractor(
        "color_moments",
        3 * 4**3,
        _color_moments,
        "per 64-bin RGB cell: pixel share and the mean x, y of its pixels",
    ),
    "color_moments_delta": VideoExtractor(
        "color_moments_delta",
        2 * 3 * 4**3,
        _with_change(_color_moments),
        "color_moments and their change since the previous sampled frame",
    ),
}


def kinds() -> tuple[str, ...]:
    return BUILTIN_KINDS + tuple(VIDEO_EXTRACTORS)


def extract_video(name: str, frames: np.ndarray) -> torch.Tensor:
    if name not in VIDEO_EXTRACTORS:
        raise ValueError(
            f"unknown temporal video feature extractor {name!r}; known: {', '.join(VIDEO_EXTRACTORS)}"
        )
    return torch.from_numpy(np.ascontiguousarray(VIDEO_EXTRACTORS[name].fn(frames), dtype=np.float32))


def check_dims(spec: Any, llm_hidden: Optional[int]) -> Optional[str]:
    """One line describing why ``spec``'s feature dims cannot be fed as declared, or None when consistent."""
    v, t = spec.video_features, spec.text_features
    if v not in kinds():
        return f"video_features {v!r} is not one of {', '.join(kinds())}"
    if t not in BUILTIN_KINDS:
        return f"text_features {t!r} is not one of {', '.join(BUILTIN_KINDS)}"
    if v in VIDEO_EXTRACTORS and spec.v_feat_dim not in (None, VIDEO_EXTRACTORS[v].dim):
        return (
            f"v_feat_dim {spec.v_feat_dim} but the {v!r} extractor gives {VIDEO_EXTRACTORS[v].dim}-d features"
        )
    if v == "precomputed" and spec.v_feat_dim is None:
        return "video_features 'precomputed' needs v_feat_dim (the files' feature size)"
    if t == "precomputed" and spec.t_feat_dim is None:
        return "text_features 'precomputed' needs t_feat_dim (the files' feature size)"
    for side, kind, dim in (("v_feat_dim", v, spec.v_feat_dim), ("t_feat_dim", t, spec.t_feat_dim)):
        if kind == "model" and dim is not None and llm_hidden is not None and dim != llm_hidden:
            return f"{side} {dim} but '{kind}' features are the LM hidden size {llm_hidden}"
    return None


def video_dim(spec: Any, llm_hidden: int) -> int:
    if spec.video_features in VIDEO_EXTRACTORS:
        return VIDEO_EXTRACTORS[spec.video_features].dim
    return spec.v_feat_dim or llm_hidden


def describe(spec: Any, llm_hidden: Optional[int] = None) -> str:
    """E.g. ``video 'precomputed' 768-d, text 'model' 64-d`` (for error messages and logs)."""
    vd = (
        VIDEO_EXTRACTORS[spec.video_features].dim
        if spec.video_features in VIDEO_EXTRACTORS
        else spec.v_feat_dim or llm_hidden
    )
    return (
        f"video {spec.video_features!r} {vd}-d, text {spec.text_features!r} {spec.t_feat_dim or llm_hidden}-d"
    )
