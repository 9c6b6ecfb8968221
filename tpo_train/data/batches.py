"""Turn mixture refs into the TPO model's batches: instruction + answer text, media, head inputs and targets.

For each example: draw an instruction template (seeded by ``(data.seed, step, position)``, so a resumed run
draws
the same ones), load its media (``model.frames`` frames of a video, a still image, or nothing when the source
has
no ``media`` folder — then the LM sees the text only), tokenise with the adapter's chat format, and collect
what its task's head needs, in occurrence order (one placeholder per example):

- temporal: video/query features (precomputed files when the source names ``features``, else the base
  model's own frozen frame and token features) and the windows → ``TemporalInputs`` / ``TemporalTargets``;
- region: the normalised xyxy box → ``RegionTargets``;
- mask: the box prompt at ``<track_box>`` for tracking examples, and the mask head's targets (see
  :meth:`BatchBuilder._mask`).

Heads the model does not have (stage 1) get no targets: their examples train the task-assignment loss only.
Conversations (VideoChat2-IT) are encoded with all their turns (``adapter.encode_turns``): every assistant
answer is a target, the instruction, the questions and the chat scaffolding are not.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Optional

import numpy as np
import torch

from .examples import ConversationExample, Example, MaskExample, RegionExample, TemporalExample
from .features import FeatureStore
from .mixture import Ref
from .templates import instruction, target_text

_VIDEO_EXTS = (".mp4", ".webm", ".mkv", ".avi", ".mov")


class MediaError(RuntimeError):
    """An example's media file is missing or unreadable (names the file and the record)."""


def find_video(stem: str) -> Path:
    p = Path(stem)
    if p.is_file() or p.is_dir():
        return p
    for ext in _VIDEO_EXTS:
        if p.with_name(p.name + ext).is_file():
            return p.with_name(p.name + ext)
    raise MediaError(f"no video for {stem} ({'/'.join(_VIDEO_EXTS)} or a frame folder)")


class BatchBuilder:
    """Builds :class:`TPOBatch` objects for one stage (see module docstring)."""

    def __init__(
        self,
        model: Any,
        examples: Mapping[str, Sequence[Example]],
        features: Mapping[str, FeatureStore],
        *,
        seed: int,
        frames: int,
        textualize: bool = False,
        max_text_len: int = 512,
    ) -> None:
        self.model = model
        self.adapter = model.adapter
        self.examples = examples
        self.features = features
        self.seed = seed
        self.frames = frames
        self.textualize = textualize
        self.max_text_len = max_text_len
        self.heads = set(model.heads.keys())
        from ..heads.temporal_features import ModelFeatures

        # the base model's own frozen features, computed on its device and handed back as fp32 CPU tensors
        self._model_features = ModelFeatures(self.adapter)
        self.truncated_turns = 0  # conversation turns cut by max_text_len (see _conversation)

    # ---- media
    # -------------------------------------------------------------------------------------------------
    def _video(self, stem: Optional[str]) -> Optional[np.ndarray]:
        if not stem:
            return None
        from tpo_eval.video.decode import decode
        from tpo_eval.video.sampling import segment_midpoints

        path = find_video(stem)
        sampler = lambda a, b, fps: segment_midpoints(a, b, fps, self.frames)  # noqa: E731
        return decode(path, "frames" if path.is_dir() else "video", sampler, fps=1.0).frames

    def _frames(self, ex: MaskExample) -> np.ndarray:
        from tpo_eval.video.decode import load_images

        idx = np.linspace(0, len(ex.frames) - 1, min(self.frames, len(ex.frames))).round().astype(int)
        return np.stack(load_images([Path(ex.video) / f"{ex.frames[i]}.jpg" for i in idx]))

    # ---- one example
    # -------------------------------------------------------------------------------------------
    def encode(self, ex: Example, rng: random.Random) -> tuple[Any, dict[str, Any]]:
        """(EncodedExample, payload) where payload has the head's per-occurrence pieces for ``ex.task``."""
        video = image = None
        payload: dict[str, Any] = {}
        try:
            if isinstance(ex, ConversationExample):
                if ex.media_kind == "video":
                    video = self._video(ex.media)
                elif ex.media_kind == "image":
                    from tpo_eval.video.decode import load_images

                    image = load_images([ex.media])[0]
                return self._conversation(ex, video, image), payload
            _, user = instruction(ex, rng, textualize=self.textualize)
            if isinstance(ex, TemporalExample):
                video = self._video(ex.media)
            elif isinstance(ex, RegionExample):
                from tpo_eval.video.decode import load_images

                image = load_images([ex.image])[0]
            elif isinstance(ex, MaskExample):
                video = self._frames(ex)
        except (OSError, RuntimeError) as e:
            raise MediaError(f"{ex.origin} ({ex.uid}): {e}") from None
        enc = self.adapter.encode(
            "", user, answer=target_text(ex, textualize=self.textualize), video=video, image=image
        )
        if len(enc.input_ids) > self.max_text_len + self._n_visual(enc):
            raise MediaError(f"{ex.origin} ({ex.uid}): {len(enc.input_ids)} tokens exceed data.max_text_len")
        if self.textualize:
            return enc, payload
        if isinstance(ex, MaskExample) and not ex.expression:
            payload["input_box"] = ex.box
        if ex.task in self.heads:
            payload[ex.task] = getattr(self, f"_{ex.task}")(ex, enc, video)
        return enc, payload

    def _conversation(self, ex: ConversationExample, video: Any, image: Any) -> Any:
        """All turns, every answer a target. The first turn's instruction is the system prompt (as VideoChat2
        uses ``QA[0].i``); a later turn with its own, different instruction asks it before its question.

        A conversation longer than ``data.max_text_len`` text tokens keeps its leading whole turns that fit
        (at least the first); the dropped turns are counted in ``truncated_turns``."""
        system = ex.turns[0].instruction
        turns = []
        for k, t in enumerate(ex.turns):
            user = t.question
            if k and t.instruction and t.instruction != system:
                user = f"{t.instruction}\n{t.question}" if t.question else t.instruction
            elif k and not user:
                user = t.instruction
            turns.append((user, t.answer))
        enc = self.adapter.encode_turns(system, turns, video=video, image=image)
        n_visual = self._n_visual(enc)
        if len(enc.input_ids) - n_visual <= self.max_text_len or len(turns) == 1:
            return enc
        lab = enc.labels
        ends = [
            i + 1 for i in range(len(lab)) if lab[i] != -100 and (i + 1 == len(lab) or lab[i + 1] == -100)
        ]
        keep = max([k + 1 for k, e in enumerate(ends) if e - n_visual <= self.max_text_len] or [1])
        self.truncated_turns += len(ends) - keep
        cut = ends[keep - 1]
        return dataclasses.replace(enc, input_ids=enc.input_ids[:cut], labels=enc.labels[:cut])

    def _n_visual(self, enc: Any) -> int:
        cfg = self.adapter.model.config
        ids = set(int(getattr(cfg, k)) for k in ("video_token_id", "image_token_id") if hasattr(cfg, k))
        return sum(1 for t in enc.input_ids if t in ids)

    def _temporal(self, ex: TemporalExample, enc: Any, frames: Optional[np.ndarray]) -> dict[str, Any]:
        store = self.features.get(ex.source)
        if store is not None:
            v, q = store.video(ex.vid, frames), store.text(ex.qid, ex.query)
        else:
            v = self._model_features.video(enc.vision) if "pixel_values_videos" in enc.vision else None
            q = None
        if v is None:
            raise MediaError(
                f"{ex.origin} ({ex.uid}): the temporal head needs video features: give the source "
                f"features: or media:"
            )
        if q is None:
            q = self._model_features.query(ex.query)
        # highlight scores (QVHighlights) are per clip of the source's clip_len seconds (CG-DETR: 2 s); the
        # targets map them onto the feature rows by time, so model features of fewer frames read them too
        return {
            "video": v,
            "query": q,
            "duration": ex.duration,
            "windows": list(ex.windows),
            "vid": ex.vid,
            "saliency": dict(ex.saliency),
            "clip_len": store.clip_len if store else 2.0,
            "tef": store.tef if store else True,
            "normalize": store.normalize if store else True,
        }

    def _region(self, ex: RegionExample, enc: Any, media: Any) -> tuple[float, float, float, float]:
        return ex.box

    def _mask(self, ex: MaskExample, enc: Any, media: Any) -> dict[str, Any]:
        out: dict[str, Any] = {"box": ex.box}
        if getattr(self.model.heads["mask"].spec, "mask_loss", False):
            from tpo_eval.video.decode import load_images

            from . import rle

            out["image"] = load_images([Path(ex.video) / f"{ex.frames[ex.box_frame]}.jpg"])[0]
            m = None
            for r in ex.masks[ex.box_frame]:
                d = rle.decode(r)
                m = d if m is None else m | d
            out["mask"] = m
        return out

    # ---- a micro-batch
    # -----------------------------------------------------------------------------------------
    def build(self, refs: Sequence[Ref], step: int, offset: int = 0) -> Any:
        from ..heads.region import RegionTargets
        from ..heads.temporal import make_temporal_inputs, make_temporal_targets
        from ..model.batch import collate

        encoded, per_task, boxes = [], {t: [] for t in ("temporal", "region", "mask")}, []
        for k, (src, idx) in enumerate(refs):
            ex = self.examples[src][idx]
            rng = random.Random(f"{self.seed}/{step}/{offset + k}")
            enc, payload = self.encode(ex, rng)
            encoded.append(enc)
            if "input_box" in payload:
                boxes.append(payload["input_box"])
            for t in per_task:
                if t in payload:
                    per_task[t].append(payload[t])
        head_inputs: dict[str, Any] = {}
        targets: dict[str, Any] = {}
        tp = per_task["temporal"]
        if tp:
            head_inputs["temporal"] = make_temporal_inputs(
                [p["video"] for p in tp],
                [p["query"] for p in tp],
                [p["duration"] for p in tp],
                tef=tp[0]["tef"],
                normalize=tp[0]["normalize"],
                vids=[p["vid"] for p in tp],
            )
            # the hinge's easy clip pairs are drawn from their own seeded stream: a resumed run draws the same
            targets["temporal"] = make_temporal_targets(
                [p["windows"] for p in tp],
                [p["duration"] for p in tp],
                [p["video"].shape[0] for p in tp],
                scores=[p["saliency"] for p in tp],
                clip_len=[p["clip_len"] for p in tp],
                rng=random.Random(f"{self.seed}/{step}/{offset}/saliency"),
                pairs=self.model.heads["temporal"].spec.saliency_pairs,
            )
        if per_task["region"]:
            targets["region"] = RegionTargets(torch.tensor(per_task["region"], dtype=torch.float32))
        if per_task["mask"]:
            inputs, targets["mask"] = self.mask_inputs_targets(per_task["mask"])
            if inputs is not None:
                head_inputs["mask"] = inputs
        input_boxes = torch.tensor(boxes, dtype=torch.float32) if boxes else None
        return collate(encoded, self.adapter.pad_id, input_boxes, head_inputs, targets)

    def mask_inputs_targets(self, items: list[dict[str, Any]]) -> tuple[Any, Any]:
        """Mask-head inputs/targets: boxes always; with ``mask_loss`` also the conditioning frames (SAM2 input
        size) and their masks, resized to that size so they stack."""
        import torch.nn.functional as F

        from ..heads.mask import MaskInputs, MaskTargets, sam_images

        boxes = torch.tensor([it["box"] for it in items], dtype=torch.float32)
        if "image" not in items[0]:
            return None, MaskTargets(boxes)
        size = self.model.heads["mask"].image_size
        images = torch.cat([sam_images(it["image"][None], size) for it in items])
        masks = torch.cat(
            [
                F.interpolate(
                    torch.from_numpy(it["mask"]).float()[None, None], size=(size, size), mode="nearest"
                )[0]
                for it in items
            ]
        )
        return MaskInputs(images=images), MaskTargets(boxes, masks)
