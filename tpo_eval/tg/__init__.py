"""Temporal grounding building blocks: span extraction from text (TimeChat's reference rules and the lenient
parser), IoU, Charades-STA / QVHighlights loaders and metrics, prediction-file readers. The task family that
uses them is :mod:`tpo_eval.families.temporal_grounding`."""
from __future__ import annotations

from .iou import cross_iou, hull_iou, paired_iou
from .spans import parse_span
from .timechat import extract_span

__all__ = ["cross_iou", "extract_span", "hull_iou", "paired_iou", "parse_span"]
