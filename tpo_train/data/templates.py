"""Instruction templates of the TPO supplement (seed Tables 8–11) and the answer each example is trained on.

An instruction is drawn per example with a seeded RNG, so a stage's data is reproducible; each task module
(``tpo_train.tasks``) draws from its tables here. The answer is the *task-assignment target*: the task's
trigger followed by its placeholder (``<time_begin><temp>``), the only text the LM must produce for a head to
be called; the head's own target travels beside it. With ``textualize=True`` (the "textualized task data"
ablation, seed Table 1 / Table 11) the answer is the target written as text instead.

The templates are as printed in the supplement; where the text extraction of Table 10 is ambiguous about the
final punctuation we follow the arXiv v2 appendix (``../shared/reference/tpo.md`` §3).
"""

from __future__ import annotations

import random

from ..tasks.base import get_task
from .examples import ConversationExample, Example

#: Table 8, temporal grounding ({query})
TEMPORAL_TEMPLATES = (
    "Localize the visual content described by the given textual query {query} in the video, and output the "
    "start and end timestamps in seconds.",
    "Detect and report the start and end timestamps of the video segment that semantically matches the given "
    "textual query {query}.",
    "Locate and describe the visual content mentioned in the text query {query} within the video, including "
    "timestamps.",
    "The given natural language query {query} is semantically aligned with a video moment, please give the "
    "start time and end time of the video moment.",
    "Find the video segment that corresponds to the given textual query {query} and determine its start and "
    "end seconds.",
)
#: Table 9, tracking ({box}: the first-frame box)
TRACKING_TEMPLATES = (
    "Track the object in the video using a box with initial coordinates {box}.",
    "Use a bounding box with coordinates {box} to follow the movement of the moving object in the visual "
    "input.",
    "Given an initial bounding box with coordinates {box}, track the motion of the target object in the "
    "sequence of frames.",
    "Starting from the box defined by the coordinates {box}, monitor the movement of the object in the "
    "video.",
    "Utilizing the initial box specified by the coordinates {box}, continuously track and update the "
    "location of the object in the video stream.",
    "Given a video with an object of interest enclosed in a bounding box with coordinates {box}, generate a "
    "sequence of bounding boxes that track the object's movement.",
    "With an initial box defined by {box}, trace the object's trajectory by generating a sequence of "
    "bounding boxes that follow the object's movement in the visual input.",
    "Apply an object tracking algorithm to a video, starting with a bounding box defined by {box}.",
    "Given a video and an initial bounding box defined by {box}, track the movement of the object within the "
    "video.",
    "Starting from an initial box defined by {box}, track the movement of the object in the visual input.",
)
#: Table 10, spatial grounding ({expr})
REGION_TEMPLATES = (
    "Where is {expr}?",
    "Can you find {expr}?",
    "Can you detect {expr}?",
    "Can you locate {expr}?",
    "Please find {expr}.",
    "Please detect {expr}?",
    "Please locate {expr}?",
    "Find {expr}.",
    "Detect {expr}?",
    "Locate {expr}?",
)
#: Table 11, referring segmentation ({obj})
SEGMENTATION_TEMPLATES = (
    "Please give the motion path of {obj} in the video over time.",
    "Show the tracking trajectory of {obj}'s movement through the scene in the video.",
    "Please generate a motion path of {obj}'s movement in the video, highlighting its tracking trajectory.",
    "Show the tracking trajectory of {obj}.",
    "Generate {obj}'s tracking trajectory.",
    "Visualize the tracking trajectory of {obj} in the video.",
    "Please generate a visual representation of {obj}'s movement in the video, highlighting its tracking "
    "trajectory.",
)

TEMPLATE_SETS = {
    "temporal": TEMPORAL_TEMPLATES,
    "tracking": TRACKING_TEMPLATES,
    "region": REGION_TEMPLATES,
    "segmentation": SEGMENTATION_TEMPLATES,
}


def box_text(box: tuple[float, float, float, float]) -> str:
    """A normalised xyxy box as text, 3 decimals (used for textualized targets and textual box prompts)."""
    return "[" + ", ".join(f"{v:.3f}" for v in box) + "]"


def instruction(example: Example, rng: random.Random, *, textualize: bool = False) -> tuple[int, str]:
    """Draw a template for ``example`` (its task's tables); return ``(template index, instruction text)``.

    For tracking the box is the ``<track_box>`` placeholder (its embedding comes from the box encoder), or the
    box as text when ``textualize``.
    """
    if isinstance(example, ConversationExample):
        raise ValueError(f"{type(example).__name__} has no instruction templates (conversation data)")
    return get_task(example.task).instruction(example, rng, textualize)


def target_text(example: Example, *, textualize: bool = False) -> str:
    """The answer an example is trained on: trigger + placeholder, or the target as text when
    ``textualize``."""
    if isinstance(example, ConversationExample):
        raise ValueError("conversation examples carry their own answers")
    return get_task(example.task).target_text(example, textualize)
