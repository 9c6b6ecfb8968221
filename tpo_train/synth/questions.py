"""Multiple-choice questions in nine MVBench-like types, with near-miss distractors and no text-only shortcut.

Each clip proposes candidate questions (:func:`propose`); :func:`select` then, per type and split,
(1) balances the answer *values* (each direction / count / colour / quadrant / anomaly kind is the answer
equally often), (2) draws distractors from the same vocabulary as the answers — fixed four-value sets, colour
and shape swaps of the named objects, actions of the same make-up — so no option reads as the odd one out, and
(3) puts the answer at each of the four positions equally often. Chance is 25 % and a model that reads only
the question and the options should stay near it (``scripts/synth_text_baseline.py`` measures it).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .render import Rendered
from .world import ANOMALIES, COLOURS, DIRECTIONS, SHAPES, Clip

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
ANOMALY_TEXT = {
    "jump": "the {} suddenly jumps to another place",
    "blink": "the {} vanishes for a moment and comes back",
    "grow": "the {} suddenly grows bigger",
    "shrink": "the {} suddenly shrinks",
}
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


def _action(e) -> str:  # noqa: ANN001 - a world Event
    return {"move": f"it moves {e.value}", "recolour": f"it turns {e.value}", "disappear": "it disappears"}[
        e.kind
    ]


def _quadrant(x: float, y: float, s: int) -> str:
    return QUADRANTS[2 * int(y >= s / 2) + int(x >= s / 2)]


_CLASS = {"move": "M", "recolour": "T", "disappear": "D"}
#: option classes per question context (the previous action): what the four options always consist of
_SEQ_SLOTS = {"move": "MMTD", "recolour": "MMMD"}


def _sequence(vid: str, t, a, b, rng: np.random.Generator) -> Candidate:  # noqa: ANN001 - Track, Events
    """ "What does X do right after it <a>?" Options always have the same make-up of action classes for the
    context (after a move: two moves, a colour change, disappearing; after a colour change — an object changes
    colour once — three moves and disappearing), each drawn from what the question leaves possible (not the
    same move again, not a change to the colour it has); ``select`` balances the answer classes in the same
    ratio."""
    slots = list(_SEQ_SLOTS[a.kind])
    slots.remove(_CLASS[b.kind])
    allowed = {
        "M": [f"it moves {d}" for d in DIRECTIONS if not (a.kind == "move" and d == a.value)],
        "T": [f"it turns {c}" for c in COLOURS if c != t.names[a.start]],
        "D": ["it disappears"],
    }
    answer = _action(b)
    distractors: list[str] = []
    for cls in slots:
        free = [x for x in allowed[cls] if x != answer and x not in distractors]
        distractors.append(free[int(rng.integers(len(free)))])
    return Candidate(
        "action_sequence",
        vid,
        f"What does the {t.name(a.start)} do right after {_action(a)}?",
        answer.capitalize() + ".",
        tuple(x.capitalize() + "." for x in distractors),
        value=f"{a.kind}:{_CLASS[b.kind]}",
    )


def propose(clip: Clip, r: Rendered, rng: np.random.Generator) -> list[Candidate]:
    """Every question this clip can answer exactly."""
    out: list[Candidate] = []
    tr, ev, s, last = clip.tracks, clip.events, clip.size, clip.frames - 1
    names = {f"{c} {t.shape}" for t in tr for c in set(t.names)}
    combos = [f"{c} {sh}" for sh in SHAPES for c in COLOURS]
    moves = [e for e in ev if e.kind == "move"]
    for i, t in enumerate(tr):
        mine = [e for e in ev if e.obj == i and e.kind in ("move", "recolour", "disappear")]
        out += [_sequence(clip.vid, t, a, b, rng) for a, b in zip(mine, mine[1:])]
        my_moves = [e for e in moves if e.obj == i]
        if len(my_moves) == 1:
            e = my_moves[0]
            out.append(
                Candidate(
                    "moving_direction",
                    clip.vid,
                    f"Which direction does the {t.name(e.start)} move?",
                    e.value,
                    tuple(DIRECTIONS),
                )
            )
        out.append(
            Candidate(
                "object_existence",
                clip.vid,
                "Which of these objects appears in the video?",
                f"the {t.colour0} {t.shape}",
                tuple(f"the {c}" for c in combos if c not in names),
            )
        )
        rec = [e for e in ev if e.obj == i and e.kind == "recolour"]
        if rec or float(t.alpha.mean()) > 0.5:
            others = tuple(c for c in COLOURS if c != t.colour0) + (NO_CHANGE,)
            out.append(
                Candidate(
                    "state_change",
                    clip.vid,
                    f"What colour does the {t.colour0} {t.shape} change to?",
                    rec[0].value if rec else NO_CHANGE,
                    others,
                )
            )
        x, y, half = t.x[last], t.y[last], t.size[last] / 2
        if (
            my_moves
            and t.alpha[last] == 1
            and r.visible_fraction(last, i) > 0.5
            and min(abs(x - s / 2), abs(y - s / 2)) >= half
        ):
            out.append(
                Candidate(
                    "object_shuffle",
                    clip.vid,
                    f"Where is the {t.name(last)} at the end of the video?",
                    _quadrant(x, y, s),
                    QUADRANTS,
                )
            )
    count = len({e.obj for e in moves})
    out.append(
        Candidate(
            "moving_count", clip.vid, "How many objects move in the video?", str(count), ("0", "1", "2", "3")
        )
    )
    for e in ev:
        if e.kind == "anomaly":
            kinds = [k for k in ANOMALIES if k != e.value]
            out.append(
                Candidate(
                    "unexpected_action",
                    clip.vid,
                    "What unexpected thing happens in the video?",
                    ANOMALY_TEXT[e.value].format(tr[e.obj].name(e.start)) + ".",
                    tuple(
                        ANOMALY_TEXT[k].format(tr[int(rng.integers(len(tr)))].name(e.start)) + "."
                        for k in kinds
                    ),
                    value=e.value,
                )
            )
        if e.kind == "move" and e.cause is not None:
            a, b = tr[e.cause], tr[e.obj]
            pool = tuple(
                f"the {c}"
                for c in combos
                if not c.endswith(a.shape) and c not in {f"{n} {b.shape}" for n in b.names}
            )
            out.append(
                Candidate(
                    "counterfactual_inference",
                    clip.vid,
                    f"Which object would have stayed still if the {a.name(e.start)} had not moved?",
                    f"the {b.name(e.start)}",
                    pool,
                )
            )
    for d in DIRECTIONS:
        which = [e for e in moves if e.value == d]
        if len(which) == 1:
            e = which[0]
            out.append(
                Candidate(
                    "moving_attribute",
                    clip.vid,
                    f"What colour is the object that moves {d}?",
                    tr[e.obj].names[e.start],
                    tuple(COLOURS),
                )
            )
    return out


def select(cands: Sequence[Candidate], rng: np.random.Generator) -> dict[str, list[MCQ]]:
    """Balanced, position-balanced four-option questions per task (see module docstring)."""
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
        positions = rng.permutation(np.resize(np.arange(4), len(kept)))
        out[task] = [_options(c, int(p), rng) for c, p in zip(kept, positions)]
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


def _options(c: Candidate, pos: int, rng: np.random.Generator) -> MCQ:
    """The answer at ``pos`` among three distractors drawn at random from the candidate's pool."""
    others = [o for o in dict.fromkeys(c.pool) if o != c.answer]
    distractors = [others[k] for k in rng.permutation(len(others))[:3]]
    assert len(distractors) == 3, f"{c.task} {c.vid}: only {len(distractors)} distractors"
    opts = distractors[:pos] + [c.answer] + distractors[pos:]
    return MCQ(c.task, c.vid, c.question, tuple(opts), c.answer)
