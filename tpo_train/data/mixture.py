"""Weighted, seeded data mixtures and the step plan built on them.

A stage mixes its sources by *weight* (passes over a source per epoch; 25 = 25 passes, 0.5 = a seeded half)
or by an exact *samples* count (cycled through fresh permutations when it exceeds the source). Everything is a
pure function of ``(seed, epoch, source names, sizes)``: the same config gives the same batches on any
machine, and a resumed run finds batch *k* without replaying batches 0…k-1.

The step plan cuts each epoch's mixture into global batches of ``batch_size`` (an incomplete last batch is
dropped and counted: every optimiser step then sees the same number of examples, which keeps the gradient
accumulation identical between one process and many). A batch is cut into micro-batches of
``micro_batch_size`` in order, and rank ``r`` of ``W`` takes micro-batches ``r, r + W, …``.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Optional

Ref = tuple[str, int]  # (source name, index into that source's examples)


@dataclass(frozen=True)
class SourceShare:
    name: str
    size: int
    weight: float = 1.0
    samples: Optional[int] = None

    @property
    def count(self) -> int:
        """Examples this source contributes per epoch."""
        if self.size == 0:
            return 0
        return self.samples if self.samples is not None else int(round(self.weight * self.size))


def _rng(*parts: object) -> random.Random:
    # A str seed is hashed with SHA-512 by random.Random: stable across processes and Python runs.
    return random.Random("/".join(map(str, parts)))


def source_indices(share: SourceShare, seed: int, epoch: int) -> list[int]:
    """The indices of one source used in ``epoch``: whole seeded permutations, the last one truncated."""
    out: list[int] = []
    rep = 0
    while len(out) < share.count:
        perm = list(range(share.size))
        _rng(seed, epoch, share.name, rep).shuffle(perm)
        out.extend(perm[: share.count - len(out)])
        rep += 1
    return out


def epoch_mixture(shares: Sequence[SourceShare], seed: int, epoch: int) -> list[Ref]:
    """All (source, index) refs of one epoch, shuffled together."""
    refs = [(s.name, i) for s in shares for i in source_indices(s, seed, epoch)]
    _rng(seed, epoch, "mix").shuffle(refs)
    return refs


@dataclass(frozen=True)
class StepPlan:
    """Global batches for a whole stage; ``batch(step)`` is cheap and needs no earlier steps."""

    shares: tuple[SourceShare, ...]
    seed: int
    batch_size: int
    micro_batch_size: int
    epochs: int
    max_steps: Optional[int] = None

    @property
    def examples_per_epoch(self) -> int:
        return sum(s.count for s in self.shares)

    @property
    def steps_per_epoch(self) -> int:
        return self.examples_per_epoch // self.batch_size

    @property
    def dropped_per_epoch(self) -> int:
        return self.examples_per_epoch - self.steps_per_epoch * self.batch_size

    @property
    def total_steps(self) -> int:
        n = self.steps_per_epoch * self.epochs
        return min(n, self.max_steps) if self.max_steps is not None else n

    def batch(self, step: int) -> list[Ref]:
        if not 0 <= step < self.total_steps:
            raise IndexError(f"step {step} outside the plan's {self.total_steps} steps")
        epoch, k = divmod(step, self.steps_per_epoch)
        refs = _cached_mixture(self, epoch)
        return refs[k * self.batch_size : (k + 1) * self.batch_size]

    def micro_batches(self, step: int, rank: int = 0, world: int = 1) -> list[list[Ref]]:
        """This rank's micro-batches of global batch ``step``."""
        refs = self.batch(step)
        micro = [refs[i : i + self.micro_batch_size] for i in range(0, len(refs), self.micro_batch_size)]
        return micro[rank::world]

    def accumulation_steps(self, world: int = 1) -> int:
        return math.ceil(self.batch_size / (self.micro_batch_size * world))

    def describe(self) -> dict[str, object]:
        return {
            "examples_per_epoch": self.examples_per_epoch,
            "steps_per_epoch": self.steps_per_epoch,
            "dropped_per_epoch": self.dropped_per_epoch,
            "total_steps": self.total_steps,
            "sources": {s.name: {"size": s.size, "per_epoch": s.count} for s in self.shares},
        }


_MIX_CACHE: dict[tuple, list[Ref]] = {}


def _cached_mixture(plan: StepPlan, epoch: int) -> list[Ref]:
    key = (plan.shares, plan.seed, epoch)
    if key not in _MIX_CACHE:
        if len(_MIX_CACHE) > 4:
            _MIX_CACHE.clear()
        _MIX_CACHE[key] = epoch_mixture(plan.shares, plan.seed, epoch)
    return _MIX_CACHE[key]


def make_plan(
    sizes: Mapping[str, int],
    weights: Mapping[str, float],
    samples: Mapping[str, Optional[int]],
    *,
    seed: int,
    batch_size: int,
    micro_batch_size: int,
    epochs: int,
    max_steps: Optional[int] = None,
) -> StepPlan:
    shares = tuple(
        SourceShare(n, sizes[n], float(weights.get(n, 1.0)), samples.get(n)) for n in sorted(sizes)
    )
    return StepPlan(shares, seed, batch_size, micro_batch_size, epochs, max_steps)
