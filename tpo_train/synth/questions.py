"""Multiple-choice questions in nine MVBench-like types, with near-miss distractors and no text-only shortcut.

Each clip proposes candidate questions (:func:`propose`): every question it can answer exactly, each with the
pool its distractors are drawn from — fixed four-value sets, colour and shape swaps of the named objects,
actions of the same make-up. :func:`select` (in :mod:`.balance`, re-exported here) then balances answer values
and lists the options in alphabetical order, so that chance is 25 % and a model that reads only the question
and the options stays near it (``scripts/synth_text_baseline.py`` measures it).
"""

from __future__ import annotations

import numpy as np

from .balance import MCQ, NO_CHANGE, QUADRANTS, TASKS, Candidate, select
from .render import Rendered
from .world import ANOMALIES, COLOURS, DIRECTIONS, SHAPES, Clip

__all__ = ["ANOMALY_TEXT", "MCQ", "NO_CHANGE", "QUADRANTS", "TASKS", "Candidate", "propose", "select"]

ANOMALY_TEXT = {
    "jump": "the {} suddenly jumps to another place",
    "blink": "the {} vanishes for a moment and comes back",
    "grow": "the {} suddenly grows bigger",
    "shrink": "the {} suddenly shrinks",
}


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
