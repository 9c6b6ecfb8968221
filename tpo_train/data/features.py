"""Precomputed temporal-head features in the CG-DETR layout, and the clip-level targets built on them.

Files: ``<video dir>/<vid>.{pt,npz,npy}`` → ``(L, Dv)`` one row per clip of ``clip_len`` seconds, and
``<text dir>/qid<qid>.{pt,npz,npy}`` → ``(Lq, Dt)`` one row per query token. A ``.pt`` may hold a tensor or a
dict with ``features``; an ``.npz`` the key ``features`` (video) or ``last_hidden_state`` (text), or a single
array. As in CG-DETR training, rows are L2-normalised (``normalize``) and the video gets the temporal
endpoint feature ``[t/L, (t+1)/L]`` appended (``tef``), giving ``Dv + 2`` columns — both done by the temporal
head's ``make_temporal_inputs``; this module returns the raw rows.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import torch

from .examples import TemporalExample

_EXTS = (".pt", ".npz", ".npy")
_KEYS = ("features", "last_hidden_state")


class FeatureError(ValueError):
    """A feature file is missing or malformed; the message names the file."""


def find_feature(folder: Path, stem: str) -> Optional[Path]:
    for ext in _EXTS:
        p = folder / f"{stem}{ext}"
        if p.is_file():
            return p
    return None


def load_array(path: Path) -> torch.Tensor:
    """One feature file → float32 ``(rows, dim)`` tensor."""
    try:
        if path.suffix == ".pt":
            obj = torch.load(path, map_location="cpu", weights_only=True)
            if isinstance(obj, dict):
                obj = next((obj[k] for k in _KEYS if k in obj), None)
            arr = torch.as_tensor(obj) if obj is not None else None
        elif path.suffix == ".npz":
            with np.load(path) as z:
                key = next((k for k in _KEYS if k in z.files), z.files[0] if len(z.files) == 1 else None)
                arr = torch.from_numpy(z[key]) if key else None
        else:
            arr = torch.from_numpy(np.load(path))
    except Exception as e:  # torch/numpy raise many types for corrupt files; report them all the same way
        raise FeatureError(f"{path}: cannot load ({type(e).__name__}: {e})") from None
    if arr is None or arr.ndim != 2 or arr.shape[0] == 0:
        shape = None if arr is None else tuple(arr.shape)
        raise FeatureError(f"{path}: expected a (rows, dim) array under {list(_KEYS)}, got {shape}")
    return arr.float()


@dataclass(frozen=True)
class FeatureStore:
    """Reads the features of one source (see module docstring)."""

    video_dir: Path
    text_dir: Optional[Path] = None
    clip_len: float = 1.0
    normalize: bool = True
    tef: bool = True

    def video(self, vid: str) -> torch.Tensor:
        p = find_feature(self.video_dir, vid)
        if p is None:
            raise FeatureError(f"no video features for {vid!r} in {self.video_dir} ({'/'.join(_EXTS)})")
        return load_array(p)

    def text(self, qid: str) -> Optional[torch.Tensor]:
        if self.text_dir is None:
            return None
        p = find_feature(self.text_dir, f"qid{qid}")
        if p is None:
            raise FeatureError(f"no text features for qid {qid!r} in {self.text_dir} (qid{qid}.pt|npz|npy)")
        return load_array(p)

    def missing(self, examples: list[TemporalExample]) -> list[str]:
        """Names of the feature files these examples need but that do not exist (checked before training)."""
        out = []
        for ex in examples:
            if find_feature(self.video_dir, ex.vid) is None:
                out.append(f"{self.video_dir}/{ex.vid}.*")
            if self.text_dir is not None and find_feature(self.text_dir, f"qid{ex.qid}") is None:
                out.append(f"{self.text_dir}/qid{ex.qid}.*")
        return out
