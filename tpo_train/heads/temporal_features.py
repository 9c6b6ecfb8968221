"""Pluggable feature extractors for the temporal head: per-clip video features and per-token query features.

- :class:`PrecomputedFeatures` reads CG-DETR-layout files: ``{video_dir}/{vid}.(pt|npz|npy)`` → (T, Dv) and
  ``{query_dir}/qid{qid}.(pt|npz|npy)`` → (L, Dt). ``.npz`` arrays are read from ``features`` (video) or
  ``last_hidden_state`` (query), else from the single array stored; ``.pt`` may hold a tensor or a dict with
  ``features``.
- :class:`ModelFeatures` uses the base model's own frozen encoders through its adapter: one feature per sampled
  frame (mean of the frame's projected visual tokens) and the query tokens' input embeddings.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import numpy as np
import torch

_EXTS = (".pt", ".npz", ".npy")


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
