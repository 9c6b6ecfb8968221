"""Whole-benchmark synthetic Charades-STA answer sets (one text per query), shared by the tests and
``scripts/tg_compare_extractors.py``. ``jittered`` is seeded: the same texts on every machine."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from tpo_eval.types import Sample

# Phrasings of the jittered model; the comment says what TimeChat's extraction makes of each.
JITTER_TEMPLATES = (
    "The event happens in the {a} - {b} seconds.",     # a range: read as written
    "From {a} to {b} seconds.",                         # "to" is no range, no keyword: a miss
    "The action starts at {a} s and ends at {b} s.",    # one sentence, so one keyword number: a miss
    "It starts at {a}s.\nIt ends at {b}s.",             # two keyword sentences, "24.3s" read as 24
    "[{a}, {b}]",                                       # no range, no keyword: a miss
    "{a}-{b}",                                          # a range
)
JITTER_SD = 3.0
CASES = ("oracle", "constant", "overshoot", "jittered")


def jittered_spans(samples: Sequence[Sample], seed: int = 0) -> list[tuple[float, float, int]]:
    """(start, end, template index) per query: the gold span plus N(0, 3 s) noise on each end, at 0.1 s."""
    rng = np.random.default_rng(seed)
    noise = rng.normal(0.0, JITTER_SD, size=(len(samples), 2))
    which = rng.integers(0, len(JITTER_TEMPLATES), size=len(samples))
    out = []
    for s, (da, db), k in zip(samples, noise, which):
        a, b = (round(max(0.0, float(t) + float(d)), 1) for t, d in zip(s.target, (da, db)))
        out.append((a, b, int(k)))
    return out


def texts(case: str, samples: Sequence[Sample], seed: int = 0) -> list[str]:
    if case == "oracle":
        return [f"The event happens in the {s.target[0]} - {s.target[1]} seconds." for s in samples]
    if case == "constant":
        return ["0 - 999 seconds"] * len(samples)
    if case == "overshoot":
        return [f"{s.target[0]} - {round(s.target[0] + 60, 1)} seconds" for s in samples]
    if case == "jittered":
        return [JITTER_TEMPLATES[k].format(a=a, b=b) for a, b, k in jittered_spans(samples, seed)]
    raise ValueError(f"unknown case {case!r}; known: {', '.join(CASES)}")
