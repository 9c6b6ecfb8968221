"""The gate's significance tests: exact McNemar, the paired bootstrap and Holm's adjustment.

Pure functions of counts and arrays, with no notion of runs or results files: they are checked against scipy
on their own, and ``regress.py`` keeps only the pairing and the rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Optional

import numpy as np


def mcnemar_exact(base: np.ndarray, cand: np.ndarray) -> tuple[float, int, int]:
    """Two-sided exact McNemar p-value and the discordant counts (b: base right & cand wrong, c: the reverse).

    The p-value is scipy.stats.binomtest(c, b + c, 0.5).pvalue (tests check they agree); for p = 1/2 the
    two-sided binomial tail is 2·P(X ≤ min(b, c)), summed here in exact integers because importing
    scipy.stats alone costs a second, more than the whole gate may take.
    """
    b = int(np.sum((base == 1) & (cand == 0)))
    c = int(np.sum((base == 0) & (cand == 1)))
    return binomial_two_sided_half(min(b, c), b + c), b, c


def binomial_two_sided_half(k: int, n: int) -> float:
    """Two-sided p-value of k successes in n trials at p = 1/2 (k ≤ n/2), exactly as binomtest computes it."""
    if n == 0 or 2 * k >= n - 1:  # k in the middle: every outcome is at most as likely as it
        return 1.0
    if n > 20000:  # exact integers get slow; take the reference implementation
        from scipy.stats import binomtest

        return float(binomtest(k, n, 0.5).pvalue)
    term, tail = 1, 1
    for i in range(1, k + 1):
        term = term * (n - i + 1) // i
        tail += term
    return min(1.0, 2 * tail / (1 << n))


def bootstrap_p(diffs: Sequence[np.ndarray], n_boot: int, seed: int) -> float:
    """Two-sided paired-bootstrap p-value that the mean difference (macro over the groups) is zero.

    Each group (a task) is resampled with replacement on its own; the statistic is the mean of the group
    means, so one group is the plain micro case. The null distribution is the bootstrap one, centred.
    """
    rng = np.random.default_rng(seed)
    observed = float(np.mean([d.mean() for d in diffs]))
    boot = np.zeros(n_boot)
    for d in diffs:
        n = len(d)
        step = max(1, 1_000_000 // n)  # resample in blocks so memory stays ~8 MB whatever n is
        for s in range(0, n_boot, step):
            k = min(step, n_boot - s)
            boot[s : s + k] += d[rng.integers(0, n, size=(k, n))].mean(axis=1)
    boot /= len(diffs)
    extreme = np.sum(np.abs(boot - observed) >= abs(observed) - 1e-12)
    return float((extreme + 1) / (n_boot + 1))


def holm(pvals: Sequence[Optional[float]]) -> list[Optional[float]]:
    """Holm–Bonferroni adjusted p-values (None entries are skipped and stay None)."""
    idx = sorted((p, i) for i, p in enumerate(pvals) if p is not None)
    m, out, running = len(idx), [None] * len(pvals), 0.0
    for rank, (p, i) in enumerate(idx):
        running = max(running, min(1.0, (m - rank) * p))
        out[i] = running
    return out  # type: ignore[return-value]
