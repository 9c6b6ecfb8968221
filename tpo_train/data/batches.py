"""Turn mixture refs into the TPO model's batches: instruction + answer text, media, head inputs and targets.

For each example: draw an instruction template (seeded by ``(data.seed, step, position)``, so a resumed run
draws the same ones), load its media (``model.frames`` frames of a video, a still image, or nothing when the
source has no ``media`` folder — then the LM sees the text only), tokenise with the adapter's chat format, and
collect what its task's head needs, in occurrence order (one placeholder per example). What each of these is
for a task — templates, media, the per-example payload and its collation into head inputs and targets — is the
task's (``tpo_train.tasks``); this module only runs the steps.

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

from ..tasks.base import get_task
from .examples import ConversationExample, Example
from .features import FeatureStore
from .memo import MediaMemo, file_key
from .mixture import Ref

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
        self.heads = tuple(model.heads.keys())
        self.cache: dict[str, Any] = {}  # what a task keeps per builder (e.g. the temporal feature reader)
        self.memo = MediaMemo()  # decoded clips and what is computed from them alone (data/memo.py)
        self.truncated_turns = 0  # conversation turns cut by max_text_len (see _conversation)

    # ---- media (the tasks' ``media`` hooks call these)
    # ------------------------------------------------------------------
    def video(self, stem: Optional[str]) -> Optional[np.ndarray]:
        """``frames`` frames (segment midpoints) of the video or frame folder ``stem``; None without one."""
        if not stem:
            return None
        from tpo_eval.video.decode import decode
        from tpo_eval.video.sampling import segment_midpoints

        path = find_video(stem)
        sampler = lambda a, b, fps: segment_midpoints(a, b, fps, self.frames)  # noqa: E731
        kind = "frames" if path.is_dir() else "video"
        return self.memo.get(self.video_key(stem), lambda: decode(path, kind, sampler, fps=1.0).frames)

    def video_key(self, stem: str) -> tuple:
        """The memo key of ``video(stem)``: the file (a frame folder's mtime changes when a frame is added or
        removed; a frame rewritten in place is not seen) and the frame count."""
        return ("video", file_key(find_video(stem)), self.frames)

    @staticmethod
    def images(paths: Sequence[Any]) -> list[np.ndarray]:
        from tpo_eval.video.decode import load_images

        return load_images(list(paths))

    def image(self, path: Any) -> np.ndarray:
        return self.images([path])[0]

    # ---- one example
    # -------------------------------------------------------------------------------------------
    def encode(self, ex: Example, rng: random.Random) -> tuple[Any, dict[str, Any]]:
        """(EncodedExample, payload): ``payload[ex.task]`` the head's piece (when the model has the head),
        ``payload["input_box"]`` a user box given at ``<track_box>``."""
        video = image = None
        payload: dict[str, Any] = {}
        try:
            if isinstance(ex, ConversationExample):
                if ex.media_kind == "video":
                    video = self.video(ex.media)
                elif ex.media_kind == "image":
                    image = self.image(ex.media)
                return self._conversation(ex, video, image), payload
            task = get_task(ex.task)
            _, user = task.instruction(ex, rng, textualize=self.textualize)
            video, image = task.media(self, ex)
        except (OSError, RuntimeError) as e:
            raise MediaError(f"{ex.origin} ({ex.uid}): {e}") from None
        enc = self.adapter.encode(
            "", user, answer=task.target_text(ex, textualize=self.textualize), video=video, image=image
        )
        if len(enc.input_ids) > self.max_text_len + self._n_visual(enc):
            raise MediaError(f"{ex.origin} ({ex.uid}): {len(enc.input_ids)} tokens exceed data.max_text_len")
        if self.textualize:
            return enc, payload
        box = task.input_box(ex)
        if box is not None:
            payload["input_box"] = box
        if ex.task in self.heads:
            payload[ex.task] = task.payload(self, ex, enc, video)
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

    # ---- a micro-batch
    # -----------------------------------------------------------------------------------------
    def build(self, refs: Sequence[Ref], step: int, offset: int = 0) -> Any:
        from ..model.batch import collate

        encoded, per_task, boxes = [], {}, []
        for k, (src, idx) in enumerate(refs):
            ex = self.examples[src][idx]
            rng = random.Random(f"{self.seed}/{step}/{offset + k}")
            enc, payload = self.encode(ex, rng)
            encoded.append(enc)
            if "input_box" in payload:
                boxes.append(payload["input_box"])
            if ex.task in payload:
                per_task.setdefault(ex.task, []).append(payload[ex.task])
        head_inputs: dict[str, Any] = {}
        targets: dict[str, Any] = {}
        for task in self.heads:  # the model's head order: a fixed order on every rank
            if per_task.get(task):
                inputs, targets[task] = get_task(task).collate(self, per_task[task], step, offset)
                if inputs is not None:
                    head_inputs[task] = inputs
        input_boxes = torch.tensor(boxes, dtype=torch.float32) if boxes else None
        return collate(encoded, self.adapter.pad_id, input_boxes, head_inputs, targets)
