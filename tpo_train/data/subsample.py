"""A fixed, seeded subset of a task's examples drawn across its sources (``data.subsample: {task: N}``).

Why: the paper trains stage 3 on 400K spatial-grounding samples (seed Table 6) out of the 540K of stage 2
(AS-V2, Visual Genome, RefCOCO/+/g). The subset is drawn once, uniformly over the union of the task's sources
(so each source keeps about its share), from ``data.seed`` and the task name only: every epoch, every rank and
every resumed run sees the same examples, and the same config draws the same subset on any machine. A source's
``weight`` / ``samples`` then apply to what is left of it, as to any source.

``per_source_counts`` gives the exact kept counts without the examples (``tpo-train plan`` prints them);
``subsample_examples`` applies the draw to loaded examples and says what it did, for the checkpoint manifest.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["kept_indices", "per_source_counts", "subsample_examples"]


def kept_indices(sizes: Mapping[str, int], total: int, seed: int, task: str) -> dict[str, list[int]]:
    """Per source (sorted by name), the sorted indices kept when ``total`` examples are drawn from the union.

    All of them when the union holds ``total`` or fewer."""
    names = sorted(sizes)
    n = sum(sizes[s] for s in names)
    if total >= n:
        return {s: list(range(sizes[s])) for s in names}
    # a str seed is hashed with SHA-512 by random.Random: the same draw in every process and Python run
    picked = sorted(random.Random(f"subsample/{seed}/{task}").sample(range(n), total))
    out: dict[str, list[int]] = {s: [] for s in names}
    start, k = 0, 0
    for s in names:
        end = start + sizes[s]
        while k < len(picked) and picked[k] < end:
            out[s].append(picked[k] - start)
            k += 1
        start = end
    return out


def per_source_counts(sizes: Mapping[str, int], total: int, seed: int, task: str) -> dict[str, int]:
    return {s: len(ix) for s, ix in kept_indices(sizes, total, seed, task).items()}


def subsample_examples(
    examples: Mapping[str, Sequence[Any]],
    tasks: Mapping[str, str],
    subsample: Mapping[str, int],
    seed: int,
) -> tuple[dict[str, Sequence[Any]], dict[str, str]]:
    """(examples with each subsampled task's sources cut to the drawn subset, a note per cut source).

    ``tasks`` maps a source to its task (``tasks.base.reader_tasks()`` of its format)."""
    out = dict(examples)
    notes: dict[str, str] = {}
    for task, total in sorted(subsample.items()):
        names = [s for s in sorted(examples) if tasks.get(s) == task]
        sizes = {s: len(examples[s]) for s in names}
        kept = kept_indices(sizes, total, seed, task)
        n_all = sum(sizes.values())
        for s in names:
            # an Arrow-backed source keeps its rows mapped: only the kept row numbers are held
            ex = examples[s]
            out[s] = ex.subset(kept[s]) if hasattr(ex, "subset") else tuple(ex[i] for i in kept[s])
            notes[s] = (
                f"data.subsample.{task}={total} (seed {seed}): kept {len(kept[s])} of {sizes[s]} "
                f"({min(total, n_all)} of {n_all} {task} examples over {len(names)} source(s))"
            )
    return out, notes
