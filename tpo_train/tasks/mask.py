"""The segmentation/tracking task: ``<track_begin><tracking>`` → a frozen SAM2 prompted by the mask adapter.

Referring examples (MeViS) name the object in words; tracking examples (SA-V) give its first box at
``<track_box>``. Nothing here imports sam2 (``tpo_train.heads.mask`` does, when a head is built).
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ..data import rle
from ..data.examples import MaskExample
from ..data.templates import SEGMENTATION_TEMPLATES, TRACKING_TEMPLATES, box_text
from ..heads.mask import MaskHead, MaskInputs, MaskTargets, sam_images
from ..model.spec import MaskHeadSpec
from .base import BOX_INPUT_TOKEN, Task


class MaskTask(Task):
    """referring segmentation and box-prompted tracking in videos (SAM2)"""

    name = "mask"
    trigger, placeholder = "<track_begin>", "<tracking>"
    spec_type = MaskHeadSpec
    example_type = MaskExample
    formats = ("mevis", "sav", "asv2_video")

    def instruction(self, example: Any, rng: random.Random, textualize: bool = False) -> tuple[int, str]:
        # the tracking prompt's box is the <track_box> placeholder (the box encoder embeds it), or text
        table = SEGMENTATION_TEMPLATES if example.expression else TRACKING_TEMPLATES
        k = rng.randrange(len(table))
        if example.expression:
            return k, table[k].format(obj=example.expression)
        return k, table[k].format(box=box_text(example.box) if textualize else BOX_INPUT_TOKEN)

    def text_answer(self, example: Any) -> str:
        return f"In the first frame the object is at {box_text(example.box)}."

    def media(self, builder: Any, example: Any) -> tuple[Any, Any]:
        n = len(example.frames)
        idx = np.linspace(0, n - 1, min(builder.frames, n)).round().astype(int)
        return np.stack(builder.images([Path(example.video) / f"{example.frames[i]}.jpg" for i in idx])), None

    def input_box(self, example: Any) -> Any:
        return None if example.expression else example.box

    def payload(self, builder: Any, example: Any, encoded: Any, video: Any) -> dict[str, Any]:
        out: dict[str, Any] = {"box": example.box}
        if getattr(builder.model.heads["mask"].spec, "mask_loss", False):
            out["image"] = builder.image(Path(example.video) / f"{example.frames[example.box_frame]}.jpg")
            m = None
            for r in example.masks[example.box_frame]:
                d = rle.decode(r)
                m = d if m is None else m | d
            out["mask"] = m
        return out

    def collate(self, builder: Any, payloads: Sequence[Any], step: int, offset: int) -> tuple[Any, Any]:
        """Boxes always; with ``mask_loss`` also the conditioning frames (SAM2 input size) and their masks,
        resized to that size so they stack."""
        boxes = torch.tensor([it["box"] for it in payloads], dtype=torch.float32)
        if "image" not in payloads[0]:
            return None, MaskTargets(boxes)
        size = builder.model.heads["mask"].image_size
        images = torch.cat([sam_images(it["image"][None], size) for it in payloads])
        masks = torch.cat(
            [
                F.interpolate(
                    torch.from_numpy(it["mask"]).float()[None, None], size=(size, size), mode="nearest"
                )[0]
                for it in payloads
            ]
        )
        return MaskInputs(images=images), MaskTargets(boxes, masks)

    def build_head(self, spec: MaskHeadSpec, llm_hidden: int) -> Any:
        return MaskHead(spec, llm_hidden)

    def meta_head(self, spec: MaskHeadSpec, llm_hidden: int) -> Any:
        # SAM2's builder moves the model to a real device: build it on the CPU with random weights (a few
        # seconds, ~1 GB for hiera-L), then drop its storage to meta
        return MaskHead(dataclasses.replace(spec, sam2_checkpoint=None), llm_hidden).to("meta")


TASK = MaskTask()
