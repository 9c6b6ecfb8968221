"""What :meth:`TPOModel.forward` consumes: a padded batch plus per-task head inputs and targets.

Occurrence order: the k-th ``<track_box>`` / placeholder of a task in the batch, counted batch-major then by
position, gets the k-th row of ``input_boxes`` / of that task's head inputs and targets. Vision tensors follow
the
same rule for ``<video>``/``<image>`` (they are concatenated in example order, as the processor emits them).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Optional

import torch
import torch.nn.functional as F

from .base import EncodedExample

_EMPTY: Mapping[str, Any] = {}


@dataclass(frozen=True, eq=False)
class TPOBatch:
    """``input_ids``/``attention_mask``/``labels`` (B, L) int64 (right-padded; labels -100 where unlabelled);
    ``vision``: the adapter's visual tensors; ``input_boxes`` (N_box, 4) normalised xyxy for ``<track_box>``;
    ``head_inputs``/``targets``: task name → that head's inputs/targets (e.g. ``TemporalInputs``,
    ``RegionTargets``)."""

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    labels: Optional[torch.Tensor] = None
    vision: Mapping[str, torch.Tensor] = field(default_factory=dict)
    input_boxes: Optional[torch.Tensor] = None
    head_inputs: Mapping[str, Any] = field(default_factory=dict)
    targets: Mapping[str, Any] = field(default_factory=dict)

    def to(self, device: Any) -> TPOBatch:
        mv = lambda x: x.to(device) if hasattr(x, "to") else x  # noqa: E731  (head records implement .to too)
        return TPOBatch(
            self.input_ids.to(device),
            self.attention_mask.to(device),
            None if self.labels is None else self.labels.to(device),
            {k: v.to(device) for k, v in self.vision.items()},
            None if self.input_boxes is None else self.input_boxes.to(device),
            {k: mv(v) for k, v in self.head_inputs.items()},
            {k: mv(v) for k, v in self.targets.items()},
        )


def collate(
    examples: Sequence[EncodedExample],
    pad_id: int,
    input_boxes: Optional[torch.Tensor] = None,
    head_inputs: Mapping[str, Any] = _EMPTY,
    targets: Mapping[str, Any] = _EMPTY,
) -> TPOBatch:
    """Right-pad token ids (``pad_id``) and labels (-100); concatenate vision tensors in example order.

    Image pixel tensors of different patch counts (anyres) are zero-padded on the patch axis; videos in one
    batch must have the same number of frames.
    """
    if not examples:
        raise ValueError("collate: empty batch")
    n = max(len(e.input_ids) for e in examples)
    ids = torch.full((len(examples), n), pad_id, dtype=torch.long)
    labels = torch.full((len(examples), n), -100, dtype=torch.long)
    mask = torch.zeros((len(examples), n), dtype=torch.long)
    for i, e in enumerate(examples):
        ids[i, : len(e.input_ids)] = torch.tensor(e.input_ids)
        labels[i, : len(e.labels)] = torch.tensor(e.labels)
        mask[i, : len(e.input_ids)] = 1
    vision: dict[str, torch.Tensor] = {}
    for key in sorted({k for e in examples for k in e.vision}):
        parts = [e.vision[key] for e in examples if key in e.vision]
        if key == "pixel_values":
            most = max(p.shape[1] for p in parts)
            parts = [F.pad(p, (0, 0, 0, 0, 0, 0, 0, most - p.shape[1])) for p in parts]
        elif key == "pixel_values_videos" and len({p.shape[1:] for p in parts}) > 1:
            raise ValueError(
                f"collate: videos of different shapes in one batch: {[tuple(p.shape) for p in parts]}"
            )
        vision[key] = torch.cat(parts, 0)
    return TPOBatch(ids, mask, labels, vision, input_boxes, dict(head_inputs), dict(targets))
