"""What flows in and out of the mask head: targets, inputs, predictions, and SAM2's image preprocessing.

Kept out of :mod:`.mask` so that data code (``tpo_train/tasks/mask.py``, collators, tests) can build these
records and conditioning frames with torch alone; this module must not import ``sam2`` (only :mod:`.mask`
does). :mod:`.mask` re-exports every name here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np
import torch
import torch.nn.functional as F

_MEAN = torch.tensor([0.485, 0.456, 0.406])[:, None, None]  # SAM2's ImageNet normalisation
_STD = torch.tensor([0.229, 0.224, 0.225])[:, None, None]


@dataclass(frozen=True, eq=False)
class MaskTargets:
    """``boxes`` (N, 4) normalised xyxy on the conditioning frame; ``masks`` (N, H, W) {0, 1} (mask loss
    only)."""

    boxes: torch.Tensor
    masks: Optional[torch.Tensor] = None


@dataclass(frozen=True, eq=False)
class MaskInputs:
    """``images`` (N, 3, S, S) conditioning frames from :func:`sam_images` (mask loss); ``videos`` per
    occurrence (T, H, W, 3) uint8 frames to propagate through (decode)."""

    images: Optional[torch.Tensor] = None
    videos: Optional[Sequence[np.ndarray]] = None

    def to(self, device: Any) -> MaskInputs:
        return MaskInputs(None if self.images is None else self.images.to(device), self.videos)


@dataclass(frozen=True, eq=False)
class MaskPred:
    """``sparse`` (N, 3, 256) prompt tokens; ``box`` (N, 4) normalised xyxy; ``mask_logits`` (N, 1, S/4,
    S/4)."""

    sparse: torch.Tensor
    box: torch.Tensor
    mask_logits: Optional[torch.Tensor] = None


def sam_images(frames: np.ndarray, image_size: int) -> torch.Tensor:
    """uint8 (N, H, W, 3) → (N, 3, S, S) float, resized and ImageNet-normalised as SAM2's loader does."""
    x = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float() / 255.0
    x = F.interpolate(x, size=(image_size, image_size), mode="bilinear", align_corners=False)
    return (x - _MEAN) / _STD
