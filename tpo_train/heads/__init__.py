"""Task heads (region, temporal, mask). ``tpo_train.heads.mask`` is the only module that imports sam2."""
from .base import HEADS, BoxOutput, MaskOutput, SpanOutput, TaskHead, build_head

__all__ = ["HEADS", "BoxOutput", "MaskOutput", "SpanOutput", "TaskHead", "build_head"]
