"""The temporal-grounding task: ``<time_begin><temp>`` → spans (the DETR-style head, or the MLP of paper
Table 11), fed video/query features and trained on windows and highlight scores."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from ..data.batches import MediaError
from ..data.examples import TemporalExample
from ..data.templates import TEMPORAL_TEMPLATES
from ..heads.temporal import TemporalHead, make_temporal_inputs, make_temporal_targets
from ..heads.temporal_features import ModelFeatures
from ..heads.temporal_mlp import MLPTemporalHead
from ..model.spec import TemporalHeadSpec
from .base import Task


class TemporalTask(Task):
    """temporal grounding (QVHighlights, Charades-STA, … in the CG-DETR layout)"""

    name = "temporal"
    trigger, placeholder = "<time_begin>", "<temp>"
    spec_type = TemporalHeadSpec
    example_type = TemporalExample
    formats = ("cgdetr_jsonl",)
    needs_inputs = True  # video/query features: without them the head cannot run

    def instruction(self, example: Any, rng: random.Random, textualize: bool = False) -> tuple[int, str]:
        k = rng.randrange(len(TEMPORAL_TEMPLATES))
        return k, TEMPORAL_TEMPLATES[k].format(query=example.query)

    def text_answer(self, example: Any) -> str:
        st, ed = example.windows[0]
        return f"The given query happens in {st:.1f} - {ed:.1f} seconds."

    def media(self, builder: Any, example: Any) -> tuple[Any, Any]:
        return builder.video(example.media), None

    def payload(self, builder: Any, example: Any, encoded: Any, video: Any) -> dict[str, Any]:
        store = builder.features.get(example.source)
        # the base model's own frozen features, computed on its device and handed back as fp32 CPU tensors
        if "temporal.model_features" not in builder.cache:
            builder.cache["temporal.model_features"] = ModelFeatures(builder.adapter)
        mf = builder.cache["temporal.model_features"]
        if store is not None:
            # an extractor's rows depend on the sampled frames alone: the memo keys them by the decoded clip
            if store.extractor and video is not None:
                key = (store.extractor, builder.video_key(example.media))
                v = builder.memo.get(key, lambda: store.video(example.vid, video))
            else:
                v = store.video(example.vid, video)
            q = store.text(example.qid, example.query)
        else:
            v = mf.video(encoded.vision) if "pixel_values_videos" in encoded.vision else None
            q = None
        if v is None:
            raise MediaError(
                f"{example.origin} ({example.uid}): the temporal head needs video features: give the source "
                f"features: or media:"
            )
        if q is None:
            q = mf.query(example.query)
        # highlight scores (QVHighlights) are per clip of the source's clip_len seconds (CG-DETR: 2 s); the
        # targets map them onto the feature rows by time, so model features of fewer frames read them too
        return {
            "video": v,
            "query": q,
            "duration": example.duration,
            "windows": list(example.windows),
            "vid": example.vid,
            "saliency": dict(example.saliency),
            "clip_len": store.clip_len if store else 2.0,
            "tef": store.tef if store else True,
            "normalize": store.normalize if store else True,
        }

    def collate(self, builder: Any, payloads: Sequence[Any], step: int, offset: int) -> tuple[Any, Any]:
        tp = payloads
        inputs = make_temporal_inputs(
            [p["video"] for p in tp],
            [p["query"] for p in tp],
            [p["duration"] for p in tp],
            tef=tp[0]["tef"],
            normalize=tp[0]["normalize"],
            vids=[p["vid"] for p in tp],
        )
        # the hinge's easy clip pairs are drawn from their own seeded stream: a resumed run draws the same
        targets = make_temporal_targets(
            [p["windows"] for p in tp],
            [p["duration"] for p in tp],
            [p["video"].shape[0] for p in tp],
            scores=[p["saliency"] for p in tp],
            clip_len=[p["clip_len"] for p in tp],
            rng=random.Random(f"{builder.seed}/{step}/{offset}/saliency"),
            pairs=builder.model.heads["temporal"].spec.saliency_pairs,
        )
        return inputs, targets

    def build_head(self, spec: TemporalHeadSpec, llm_hidden: int) -> Any:
        # the kind is a spec field, so a saved spec alone says which class to rebuild
        return (MLPTemporalHead if spec.kind == "mlp" else TemporalHead)(spec, llm_hidden)


TASK = TemporalTask()
