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

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Optional

import numpy as np
import torch

from .temporal_extractors import TEXT_EXTRACTORS, VIDEO_EXTRACTORS, TextExtractor, VideoExtractor  # noqa: F401

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


def kinds() -> tuple[str, ...]:
    return BUILTIN_KINDS + tuple(VIDEO_EXTRACTORS)


def text_kinds() -> tuple[str, ...]:
    return BUILTIN_KINDS + tuple(TEXT_EXTRACTORS)


def extract_video(name: str, frames: np.ndarray) -> torch.Tensor:
    if name not in VIDEO_EXTRACTORS:
        raise ValueError(
            f"unknown temporal video feature extractor {name!r}; known: {', '.join(VIDEO_EXTRACTORS)}"
        )
    return torch.from_numpy(np.ascontiguousarray(VIDEO_EXTRACTORS[name].fn(frames), dtype=np.float32))


def extract_text(name: str, sentence: str) -> torch.Tensor:
    if name not in TEXT_EXTRACTORS:
        raise ValueError(
            f"unknown temporal text feature extractor {name!r}; known: {', '.join(TEXT_EXTRACTORS)}"
        )
    return torch.from_numpy(np.ascontiguousarray(TEXT_EXTRACTORS[name].fn(sentence), dtype=np.float32))


def check_dims(spec: Any, llm_hidden: Optional[int]) -> Optional[str]:
    """One line describing why ``spec``'s feature dims cannot be fed as declared, or None when consistent."""
    v, t = spec.video_features, spec.text_features
    if v not in kinds():
        return f"video_features {v!r} is not one of {', '.join(kinds())}"
    if t not in text_kinds():
        return f"text_features {t!r} is not one of {', '.join(text_kinds())}"
    if v in VIDEO_EXTRACTORS and spec.v_feat_dim not in (None, VIDEO_EXTRACTORS[v].dim):
        return (
            f"v_feat_dim {spec.v_feat_dim} but the {v!r} extractor gives {VIDEO_EXTRACTORS[v].dim}-d features"
        )
    if t in TEXT_EXTRACTORS and spec.t_feat_dim not in (None, TEXT_EXTRACTORS[t].dim):
        return (
            f"t_feat_dim {spec.t_feat_dim} but the {t!r} extractor gives {TEXT_EXTRACTORS[t].dim}-d features"
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


def text_dim(spec: Any, llm_hidden: int) -> int:
    if spec.text_features in TEXT_EXTRACTORS:
        return TEXT_EXTRACTORS[spec.text_features].dim
    return spec.t_feat_dim or llm_hidden


def describe(spec: Any, llm_hidden: Optional[int] = None) -> str:
    """E.g. ``video 'precomputed' 768-d, text 'model' 64-d`` (for error messages and logs)."""
    vd = (
        VIDEO_EXTRACTORS[spec.video_features].dim
        if spec.video_features in VIDEO_EXTRACTORS
        else spec.v_feat_dim or llm_hidden
    )
    td = text_dim(spec, llm_hidden) if llm_hidden else spec.t_feat_dim
    return f"video {spec.video_features!r} {vd}-d, text {spec.text_features!r} {td}-d"
