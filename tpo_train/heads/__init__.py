"""Task heads (region; temporal: DETR-style, or the MLP of the Table-11 ablation; mask).

``tpo_train.heads.mask`` is the only module that imports sam2."""

from .base import BoxOutput, MaskOutput, SpanOutput, TaskHead, build_head, head_key

__all__ = ["BoxOutput", "MaskOutput", "SpanOutput", "TaskHead", "build_head", "head_key"]
