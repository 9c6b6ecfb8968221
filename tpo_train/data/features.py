"""Precomputed temporal-head features for a training source (CG-DETR layout), checked before training starts.

Files: ``<video dir>/<vid>.{pt,npz,npy}`` → ``(L, Dv)`` one row per clip of ``clip_len`` seconds, and
``<text dir>/qid<qid>.{pt,npz,npy}`` → ``(Lq, Dt)`` one row per query token. Reading is the temporal head's
own
:class:`tpo_train.heads.temporal_features.PrecomputedFeatures` (one reader for training and evaluation); this
module adds what a training run needs on top: the list of files a source's examples need but that are absent
(so they become bad records with the file named, before the first step), and the per-source settings.
L2 normalisation (``normalize``) and the temporal endpoint feature (``tef``) are applied by the head's
``make_temporal_inputs``; rows are returned raw.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import torch

from .examples import TemporalExample

_EXTS = (".pt", ".npz", ".npy")


class FeatureError(ValueError):
    """A feature file is missing or malformed; the message names the file."""


def find_feature(folder: Path, stem: str) -> Optional[Path]:
    for ext in _EXTS:
        p = folder / f"{stem}{ext}"
        if p.is_file():
            return p
    return None


@dataclass(frozen=True)
class FeatureStore:
    """The features of one source. ``text_dir=None``: query features come from the base model instead."""

    video_dir: Optional[Path]
    text_dir: Optional[Path] = None
    clip_len: float = 1.0
    normalize: bool = True
    tef: bool = True
    extractor: Optional[str] = None  # computed from the sampled frames instead of read from files
    text_extractor: Optional[str] = None  # query features computed from the sentence instead

    def _reader(self):  # noqa: ANN202 - the head's reader class
        from ..heads.temporal_features import PrecomputedFeatures

        return PrecomputedFeatures(self.video_dir, self.text_dir or self.video_dir)

    def video(self, vid: str, frames: Optional[np.ndarray] = None) -> torch.Tensor:
        """``(L, Dv)`` float32 rows of video ``vid`` (from ``frames`` when the store is an extractor)."""
        if self.extractor:
            from ..heads.temporal_features import extract_video

            if frames is None:
                raise FeatureError(
                    f"the {self.extractor!r} extractor needs the video's frames (source media:)"
                )
            return extract_video(self.extractor, frames)
        try:
            return self._reader().video(vid)
        except (OSError, ValueError) as e:
            raise FeatureError(f"video features of {vid!r}: {e}") from None

    def text(self, qid: str, sentence: str = "") -> Optional[torch.Tensor]:
        """``(Lq, Dt)`` float32 rows of query ``qid`` (of ``sentence`` with a text extractor), or None without
        either."""
        if self.text_extractor:
            from ..heads.temporal_features import extract_text

            return extract_text(self.text_extractor, sentence)
        if self.text_dir is None:
            return None
        try:
            return self._reader().query(qid)
        except (OSError, ValueError) as e:
            raise FeatureError(f"query features of qid {qid!r}: {e}") from None

    def missing(self, examples: list[TemporalExample]) -> list[str]:
        """The feature files these examples need that do not exist."""
        out = []
        for ex in examples:
            if self.extractor:
                continue  # computed from the media, which the batch builder checks
            if find_feature(self.video_dir, ex.vid) is None:
                out.append(f"{self.video_dir}/{ex.vid}.*")
            if self.text_dir is not None and find_feature(self.text_dir, f"qid{ex.qid}") is None:
                out.append(f"{self.text_dir}/qid{ex.qid}.*")
        return out
