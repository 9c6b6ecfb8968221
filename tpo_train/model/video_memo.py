"""The per-clip memo of processor pixels, for an adapter whose processor expands one ``<video>`` placeholder
into one token per visual feature (LLaVA-OneVision, tpo_train/model/llava_ov.py).

Why it exists: the batch builder's media memo (tpo_train/data/memo.py) hands back the same read-only frames
object each time a clip comes back, yet the HF processor would still resize and normalise those frames on
every example. Here the processed pixels and the clip's token count are kept by object identity, and a later
example of that clip gets its ids by expanding the placeholder and tokenising the text alone. That shortcut is
taken only after checking, on the clip's first example, that it gives the processor's own ids; losses and
weights are bit-identical with the memo on or off (tests/synth/test_media_memo.py).

Why a module of its own: it was added to the adapter late and for speed alone; it knows the processor's
placeholder convention, not LLaVA-OV's module layout.
"""

from __future__ import annotations

from typing import Any

import torch


class VideoPixelMemo:
    """Mixin for an :class:`~tpo_train.model.base.MLLMAdapter` with ``processor`` and ``tokenizer``: its
    ``_process`` serves a memoised clip and otherwise calls the adapter's ``_process_fully`` (the processor
    run on the prompt and the media), remembering the result when the shortcut is safe."""

    def _process(self, prompt: str, video: Any, image: Any) -> tuple[list[int], dict[str, torch.Tensor]]:
        """Token ids of ``prompt`` with its visual placeholders expanded, and the processor's visual
        tensors."""
        if video is not None and image is None and prompt.count(self.processor.video_token) == 1:
            hit = self._video_memo().get(id(video))
            if hit is not None and hit[0] is video:  # the same frames object: its pixels and token count
                n_tokens, vision = hit[1], hit[2]
                text = prompt.replace(self.processor.video_token, self.processor.video_token * n_tokens)
                return self.tokenizer(text, add_special_tokens=False)["input_ids"], dict(vision)
        ids, vision = self._process_fully(prompt, video, image)
        if video is not None and image is None and prompt.count(self.processor.video_token) == 1:
            self._remember_video(prompt, video, ids, vision)
        return ids, vision

    def _video_memo(self) -> Any:
        if getattr(self, "_vmemo", None) is None:
            from cachetools import LRUCache

            from ..data.memo import budget_mb, nbytes

            # decoded clips are the batch builder's (data/memo.py): the same array object comes back for the
            # same clip, so its processed pixels are kept by object (the entry holds the array: no id reuse)
            size = int(budget_mb() * 2**20)
            self._vmemo = LRUCache(maxsize=max(size, 1), getsizeof=lambda v: nbytes(v[2]) + 64)
        return self._vmemo

    def _remember_video(self, prompt: str, video: Any, ids: list[int], vision: dict[str, Any]) -> None:
        """Keep ``video``'s processed pixels and its token count — only after checking, on this very call,
        that expanding the placeholder and tokenising the text gives the processor's own ids (a processor
        that does more than that is never short-cut)."""
        from ..data.memo import budget_mb, nbytes

        if getattr(self, "_vshortcut", None) is False or getattr(video, "flags", None) is None:
            return
        if video.flags.writeable:  # a caller's array that may change in place: not keyed by identity
            return
        n_tokens = sum(1 for t in ids if t == self.processor.video_token_id)
        text = prompt.replace(self.processor.video_token, self.processor.video_token * n_tokens)
        if self.tokenizer(text, add_special_tokens=False)["input_ids"] != ids:
            self._vshortcut = False
            return
        memo = self._video_memo()
        if nbytes(vision) + 64 <= memo.maxsize and budget_mb() > 0:
            memo[id(video)] = (video, n_tokens, dict(vision))
