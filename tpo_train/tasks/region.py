"""The referring-box task: ``<box_begin><boxes>`` → a normalised xyxy box (RefCOCO/+/g style data)."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

import torch

from ..data.examples import RegionExample
from ..data.templates import REGION_TEMPLATES, box_text
from ..heads.region import RegionHead, RegionTargets
from ..model.spec import RegionHeadSpec
from .base import Task


class RegionTask(Task):
    """spatial grounding: a referring expression → one box"""

    name = "region"
    trigger, placeholder = "<box_begin>", "<boxes>"
    spec_type = RegionHeadSpec
    example_type = RegionExample
    formats = ("refcoco_jsonl",)

    def instruction(self, example: Any, rng: random.Random, textualize: bool = False) -> tuple[int, str]:
        k = rng.randrange(len(REGION_TEMPLATES))
        return k, REGION_TEMPLATES[k].format(expr=example.expression)

    def text_answer(self, example: Any) -> str:
        return f"The box is {box_text(example.box)}."

    def media(self, builder: Any, example: Any) -> tuple[Any, Any]:
        return None, builder.image(example.image)

    def payload(self, builder: Any, example: Any, encoded: Any, video: Any) -> Any:
        return example.box

    def collate(self, builder: Any, payloads: Sequence[Any], step: int, offset: int) -> tuple[Any, Any]:
        return None, RegionTargets(torch.tensor(list(payloads), dtype=torch.float32))

    def build_head(self, spec: RegionHeadSpec, llm_hidden: int) -> Any:
        return RegionHead(spec, llm_hidden)


TASK = RegionTask()
