"""From candidate questions to four-option MCQs that no text-only reader can beat.

:func:`select` works per type and split: it (1) balances the answer *values* (each direction / count /
colour / quadrant / anomaly kind is the answer equally often), (2) draws distractors from the candidate's
pool — the same vocabulary as the answers, so no option reads as the odd one out — and (3) lists the four
options in alphabetical order. The order is a function of the option *set*, which is symmetric in the answer,
so it tells a text-only reader nothing, and with balanced values every position is the answer about equally
often; but a fixed order means a value read from the video maps to one letter (``down`` is always before
``up``), which a tiny model can learn, where a shuffled order asks it to find the value among the options
first (docs/SYNTH.md, "Multiple choice"). Kept apart from :mod:`.questions` (what each clip can be asked)
because the balancing is what makes chance 25 %, and ``scripts/synth_text_baseline.py`` checks exactly that.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .world import ANOMALIES, COLOURS, DIRECTIONS

TASKS = (
    "action_sequence",
    "moving_direction",
    "object_existence",
    "moving_count",
    "state_change",
    "object_shuffle",
    "unexpected_action",
    "counterfactual_inference",
    "moving_attribute",
)
NO_CHANGE = "it does not change colour"
QUADRANTS = ("top left", "top right", "bottom left", "bottom right")
_BALANCED: dict[str, tuple[tuple[str, ...], ...]] = {  # per task, families of values balanced in these ratios
    "moving_direction": (tuple(DIRECTIONS),),
    "moving_count": (("0", "1", "2", "3"),),
    "state_change": ((*COLOURS, NO_CHANGE),),
    "object_shuffle": (QUADRANTS,),
    "unexpected_action": (ANOMALIES,),
    "moving_attribute": (tuple(COLOURS),),
    "action_sequence": (
        ("move:M", "move:M", "move:T", "move:D"),
        ("recolour:M", "recolour:M", "recolour:M", "recolour:D"),
    ),
}
_PER_CLIP = {"object_existence": 1}  # at most this many questions of one type per clip (default 2)


@dataclass(frozen=True)
class Candidate:
    """``pool``: the options to draw three distractors from (it may hold the answer: fixed four-value sets);
    ``value``: what answers are balanced on (default: the answer)."""

    task: str
    vid: str
    question: str
    answer: str
    pool: tuple[str, ...] = ()
    value: str = ""


@dataclass(frozen=True)
class MCQ:
    task: str
    vid: str
    question: str
    candidates: tuple[str, ...]
    answer: str


def select(cands: Sequence[Candidate], rng: np.random.Generator) -> dict[str, list[MCQ]]:
    """Value-balanced four-option questions per task, options in alphabetical order (module docstring)."""
    by_task: dict[str, list[Candidate]] = defaultdict(list)
    for c in cands:
        by_task[c.task].append(c)
    out: dict[str, list[MCQ]] = {}
    for task in TASKS:
        pool = [by_task[task][k] for k in rng.permutation(len(by_task[task]))]
        groups: dict[str, list[Candidate]] = defaultdict(list)
        for c in pool:
            groups[(c.value or c.answer) if task in _BALANCED else ""].append(c)
        kept = sorted(
            (
                c
                for family in _BALANCED.get(task, [("",)])
                for c in _rounds([groups[v] for v in family], _PER_CLIP.get(task, 2))
            ),
            key=lambda c: c.vid,
        )
        out[task] = [_options(c, rng) for c in kept]
    return out


def _rounds(groups: list[list[Candidate]], cap: int) -> list[Candidate]:
    """Take one candidate of every group per round, at most ``cap`` per clip, until a group runs out: every
    group (answer value) ends up equally often (a group listed k times, k times as often)."""
    groups = [g for g in groups if g]  # a value no clip offers (small worlds) is left out, not all the others
    if not groups:
        return []
    per_clip: dict[str, int] = defaultdict(int)
    at: dict[int, int] = defaultdict(int)  # a group listed twice (ratio 2) shares its position
    kept: list[Candidate] = []
    while True:
        round_ = []
        for group in groups:
            g = id(group)
            while at[g] < len(group) and per_clip[group[at[g]].vid] >= cap:
                at[g] += 1
            if at[g] == len(group):
                return kept
            round_.append(group[at[g]])
            per_clip[group[at[g]].vid] += 1
            at[g] += 1
        kept += round_


def _options(c: Candidate, rng: np.random.Generator) -> MCQ:
    """The answer and three distractors drawn at random from the candidate's pool, in alphabetical order."""
    others = [o for o in dict.fromkeys(c.pool) if o != c.answer]
    distractors = [others[k] for k in rng.permutation(len(others))[:3]]
    assert len(distractors) == 3, f"{c.task} {c.vid}: only {len(distractors)} distractors"
    return MCQ(c.task, c.vid, c.question, tuple(sorted([c.answer, *distractors])), c.answer)
