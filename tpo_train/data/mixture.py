"""Weighted, seeded data mixtures and the step plan built on them.

A stage mixes its sources by *weight* (passes over a source per epoch; 25 = 25 passes, 0.5 = a seeded half)
or by an exact *samples* count (cycled through fresh permutations when it exceeds the source). Everything is a
pure function of ``(seed, epoch, source names, sizes)``: the same config gives the same batches on any
machine, and a resumed run finds batch *k* without replaying batches 0…k-1.

The step plan cuts each epoch's mixture into global batches of ``batch_size`` (an incomplete last batch is
dropped and counted: every optimiser step then sees the same number of examples, which keeps the gradient
accumulation identical between one process and many). A batch is cut into micro-batches of
``micro_batch_size`` in order, and rank ``r`` of ``W`` takes micro-batches ``r, r + W, …``.

An epoch's mixture is held as two arrays of 8-byte ints (each source's drawn indices, and the shuffled order
of all of them), not as a list of ``(source, index)`` tuples: 16 bytes per example instead of ~100, so two
million examples cost 32 MB per rank; a batch's refs are made when it is asked for. ``random.shuffle`` swaps
by position only, so shuffling positions in an array gives the order a list of refs would get.
"""

from __future__ import annotations

import math
import random
from array import array
from bisect import bisect_right
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


def _permutation(n: int, rng: random.Random) -> array:
    perm = array("q", range(n))
    rng.shuffle(perm)
    return perm


def _source_array(share: SourceShare, seed: int, epoch: int) -> array:
    out = array("q")
    rep = 0
    while len(out) < share.count:
        perm = _permutation(share.size, _rng(seed, epoch, share.name, rep))
        out.extend(perm[: share.count - len(out)])
        rep += 1
    return out


def source_indices(share: SourceShare, seed: int, epoch: int) -> list[int]:
    """The indices of one source used in ``epoch``: whole seeded permutations, the last one truncated."""
    return list(_source_array(share, seed, epoch))


@dataclass(frozen=True)
class Mixture:
    """One epoch's shuffled refs, compactly: ref ``k`` is ``(names[s], indices[p])`` with ``p = order[k]``
    and ``s`` the source whose block of ``indices`` (from ``starts[s]``) holds ``p``."""

    names: tuple[str, ...]
    starts: tuple[int, ...]
    indices: array
    order: array

    def __len__(self) -> int:
        return len(self.order)

    def refs(self, start: int, stop: int) -> list[Ref]:
        out = []
        for p in self.order[start:stop]:
            out.append((self.names[bisect_right(self.starts, p) - 1], self.indices[p]))
        return out


def mixture(shares: Sequence[SourceShare], seed: int, epoch: int) -> Mixture:
    indices, starts = array("q"), []
    for s in shares:
        starts.append(len(indices))
        indices.extend(_source_array(s, seed, epoch))
    order = _permutation(len(indices), _rng(seed, epoch, "mix"))
    return Mixture(tuple(s.name for s in shares), tuple(starts), indices, order)


def epoch_mixture(shares: Sequence[SourceShare], seed: int, epoch: int) -> list[Ref]:
    """All (source, index) refs of one epoch, shuffled together."""
    m = mixture(shares, seed, epoch)
    return m.refs(0, len(m))


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
        return _cached_mixture(self, epoch).refs(k * self.batch_size, (k + 1) * self.batch_size)

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


_MIX_CACHE: dict[tuple, Mixture] = {}


def _cached_mixture(plan: StepPlan, epoch: int) -> Mixture:
    key = (plan.shares, plan.seed, epoch)
    if key not in _MIX_CACHE:
        if len(_MIX_CACHE) > 4:
            _MIX_CACHE.clear()
        _MIX_CACHE[key] = mixture(plan.shares, plan.seed, epoch)
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
