"""CI regression gate: is a candidate run worse than a baseline run, by more than a tolerance *and* by more
than sampling noise?

A drop larger than ``tolerance`` points counts only if it is also significant on paired per-sample outcomes:
exact McNemar (two-sided binomial test on the discordant pairs) for 0/1 outcomes, a seeded paired bootstrap
for continuous ones (IoU) and for macro averages (resampled within each task). Per-task p-values are
Holm-adjusted over the tasks, so 20 MVBench tasks do not make 20 chances of a false alarm. Without per-sample
outcomes on both sides the tolerance alone decides, and the report says so. Runs over different sample sets
are refused (:class:`RegressInputError`, exit code 2).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np

from .records import PRED_GLOB, read_run_predictions


class RegressInputError(ValueError):
    """The two runs cannot be compared (missing files, other benchmark, different samples): exit code 2."""


@dataclass(frozen=True)
class RunData:
    """A run's results.json and, when present, its per-sample outcomes ``{metric key: {sample id:
    value}}``."""

    path: str
    results: dict[str, Any]
    task_of: Optional[dict[str, str]] = None
    outcomes: dict[str, dict[str, float]] = field(default_factory=dict)


@dataclass(frozen=True)
class Comparison:
    scope: str  # "overall (micro)", "overall (macro)" or a task name
    metric: str
    baseline: float
    candidate: float
    test: str  # "mcnemar", "bootstrap" or "tolerance"
    n: int
    p: Optional[float] = None
    p_adj: Optional[float] = None
    regression: bool = False
    detail: str = ""

    @property
    def delta(self) -> float:
        return self.candidate - self.baseline


@dataclass(frozen=True)
class RegressResult:
    candidate: RunData
    baseline: RunData
    comparisons: tuple[Comparison, ...]
    notes: tuple[str, ...]
    tolerance: float
    alpha: float
    seed: int
    n_boot: int

    @property
    def regressed(self) -> bool:
        return any(c.regression for c in self.comparisons)

    def markdown(self) -> str:
        return markdown_report(self)


def load_run(path: str | Path) -> RunData:
    """A run directory (results.json + predictions*.jsonl) or a results.json file (prediction files beside it
    are used when present)."""
    p = Path(path)
    res = p / "results.json" if p.is_dir() else p
    if not res.is_file():
        raise RegressInputError(f"{path}: no results.json (pass a run directory or a results.json file)")
    try:
        results = json.loads(res.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise RegressInputError(f"{res}: not valid JSON ({e})") from e
    for k in ("benchmark", "tasks", "overall"):
        if k not in results:
            raise RegressInputError(
                f"{res}: results.json lacks {k!r} (see docs/ARCHITECTURE.md, Run directory)"
            )
    if not any(res.parent.glob(PRED_GLOB)):
        return RunData(str(path), results)
    try:
        rows = read_run_predictions(res.parent)  # every shard's file; a torn last line is dropped
    except ValueError as e:
        raise RegressInputError(str(e)) from e
    task_of: dict[str, str] = {}
    outcomes: dict[str, dict[str, float]] = {}
    for n, row in enumerate(rows, start=1):
        if not isinstance(row, dict) or "id" not in row or "task" not in row:
            raise RegressInputError(f"{res.parent}: prediction row {n} has no id/task: {str(row)[:80]}")
        sid = str(row["id"])
        task_of[sid] = str(row["task"])  # a repeated id: the last row wins, as in the run itself
        for label, metrics in (row.get("scores") or {}).items():
            for m, v in (metrics or {}).items():
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    outcomes.setdefault(f"{label}/{m}", {})[sid] = float(v)
    return RunData(str(path), results, task_of, outcomes)


def check_same_samples(cand: RunData, base: RunData) -> str:
    """Refuse different benchmarks or sample sets; return a one-line description of what was checked."""
    cr, br = cand.results, base.results
    if cr["benchmark"] != br["benchmark"]:
        raise RegressInputError(
            f"benchmarks differ: candidate is {cr['benchmark']!r}, baseline {br['benchmark']!r}"
        )
    if cand.task_of is not None and base.task_of is not None and set(cand.task_of) != set(base.task_of):
        only_c, only_b = set(cand.task_of) - set(base.task_of), set(base.task_of) - set(cand.task_of)
        raise RegressInputError(
            f"different sample sets: {len(only_c)} id(s) only in the candidate (e.g. {sorted(only_c)[:3]}), "
            f"{len(only_b)} only in the baseline (e.g. {sorted(only_b)[:3]}); run both with the same "
            "--subset N"
        )
    hc, hb = cr.get("sample_ids_sha256"), br.get("sample_ids_sha256")
    if hc and hb and hc != hb:
        raise RegressInputError(
            f"different sample sets: sample_ids_sha256 {hc[:12]}… ({cr['overall'].get('n_total')} samples) "
            f"vs {hb[:12]}… ({br['overall'].get('n_total')} samples); run both with the same --subset N"
        )
    counts_c = {t: v.get("n_total") for t, v in cr["tasks"].items()}
    counts_b = {t: v.get("n_total") for t, v in br["tasks"].items()}
    if counts_c != counts_b:
        diff = sorted(t for t in set(counts_c) | set(counts_b) if counts_c.get(t) != counts_b.get(t))
        raise RegressInputError(
            f"different sample sets: per-task counts differ for {', '.join(diff[:5])} (candidate "
            f"{[counts_c.get(t) for t in diff[:5]]}, baseline {[counts_b.get(t) for t in diff[:5]]})"
        )
    if hc and hb:
        return f"identical (sample_ids_sha256 {hc[:12]}…)"
    if cand.task_of is not None and base.task_of is not None:
        return f"identical ids in both predictions.jsonl ({len(cand.task_of)} samples)"
    return "same per-task counts (ids not verifiable: a sample_ids_sha256 or predictions.jsonl is missing)"


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


def _per_sample(run: RunData, key: str, ids: list[str]) -> Optional[np.ndarray]:
    vals = run.outcomes.get(key)
    if run.task_of is None or vals is None or any(i not in vals for i in ids):
        return None
    return np.fromiter((vals[i] for i in ids), dtype=float, count=len(ids))


def _consistent(
    run: RunData, key: str, by_task: dict[str, list[str]], arr: np.ndarray, pos: dict[str, int]
) -> str:
    """'' if the per-sample outcomes reproduce results.json per task, else why not (they are then not
    used)."""
    for task, ids in by_task.items():
        if not ids:
            return f"{run.path}: predictions hold no sample of task {task}"
        want = run.results["tasks"].get(task, {}).get(key)
        got = 100.0 * float(arr[[pos[i] for i in ids]].mean())
        if want is None or abs(got - float(want)) > 1e-3:
            return f"{run.path}: per-sample {key} of {task} averages {got:.3f}, results.json says {want}"
    return ""


def compare(
    candidate: str | Path,
    baseline: str | Path,
    tolerance: float = 0.5,
    alpha: float = 0.05,
    metrics: Optional[Sequence[str]] = None,
    seed: int = 0,
    n_boot: int = 2000,
) -> RegressResult:
    """Compare ``candidate`` with ``baseline`` on overall (micro/macro) and per-task scores of each metric."""
    if tolerance < 0 or not 0 < alpha < 1 or n_boot < 100:
        raise RegressInputError("need tolerance >= 0, 0 < alpha < 1 and at least 100 bootstrap resamples")
    cand, base = load_run(candidate), load_run(baseline)
    notes = [f"sample set: {check_same_samples(cand, base)}"]
    keys = list(metrics or [cand.results.get("primary") or ""])
    comps: list[Comparison] = []
    for key in keys:
        comps += _compare_metric(cand, base, key, tolerance, alpha, seed, n_boot, notes)
    return RegressResult(cand, base, tuple(comps), tuple(notes), tolerance, alpha, seed, n_boot)


def _compare_metric(
    cand: RunData, base: RunData, key: str, tol: float, alpha: float, seed: int, n_boot: int, notes: list[str]
) -> list[Comparison]:
    tasks = [t for t in cand.results["tasks"] if key in cand.results["tasks"][t]]
    if not tasks or any(key not in base.results["tasks"].get(t, {}) for t in tasks):
        raise RegressInputError(
            f"metric {key!r} is not reported per task by both runs (candidate tasks: "
            f"{', '.join(cand.results['tasks'])})"
        )
    by_task: dict[str, list[str]] = {t: [] for t in tasks}
    for i in sorted(cand.task_of or ()):
        if cand.task_of[i] in by_task:  # type: ignore[index]
            by_task[cand.task_of[i]].append(i)  # type: ignore[index]
    ids = [i for t in tasks for i in by_task[t]]
    pos = {i: n for n, i in enumerate(ids)}
    a, b = _per_sample(cand, key, ids), _per_sample(base, key, ids)
    for run, arr in ((cand, a), (base, b)):
        why = _consistent(run, key, by_task, arr, pos) if arr is not None else ""
        if why:
            notes.append(f"not using per-sample outcomes: {why}")
            a = b = None
    if a is None or b is None:
        notes.append(
            f"{key}: no per-sample outcomes on both sides: a drop beyond {tol:g} points counts as a "
            "regression without a significance test (tolerance only)"
        )
    binary = (
        a is not None
        and b is not None
        and bool(np.isin(a, (0.0, 1.0)).all() and np.isin(b, (0.0, 1.0)).all())
    )

    def unit(scope: str, cv: float, bv: float, groups: list[list[str]], micro: bool) -> Comparison:
        n = sum(len(g) for g in groups) or int(cand.results["overall"].get("n_total") or 0)
        if a is None or b is None:
            return Comparison(scope, key, bv, cv, "tolerance", n)
        if binary and (micro or len(groups) == 1):
            sel = [pos[i] for g in groups for i in g]
            p, nb, nc = mcnemar_exact(b[sel], a[sel])
            return Comparison(scope, key, bv, cv, "mcnemar", n, p, detail=f"b={nb}, c={nc}")
        diffs = [a[[pos[i] for i in g]] - b[[pos[i] for i in g]] for g in groups]
        return Comparison(scope, key, bv, cv, "bootstrap", n, bootstrap_p(diffs, n_boot, seed))

    out = []
    for agg in ("micro", "macro"):
        cv, bv = (r["overall"].get(agg, {}).get(key) for r in (cand.results, base.results))
        if cv is not None and bv is not None:
            groups = [sum(by_task.values(), [])] if agg == "micro" else list(by_task.values())
            out.append(unit(f"overall ({agg})", float(cv), float(bv), groups, agg == "micro"))
    per_task = [
        unit(
            t, float(cand.results["tasks"][t][key]), float(base.results["tasks"][t][key]), [by_task[t]], True
        )
        for t in tasks
    ]
    adjusted = holm([c.p for c in per_task])
    per_task = [
        Comparison(c.scope, c.metric, c.baseline, c.candidate, c.test, c.n, c.p, p_adj, False, c.detail)
        for c, p_adj in zip(per_task, adjusted)
    ]
    final = []
    for c in out + per_task:
        p = c.p_adj if c.p_adj is not None else c.p
        drop = c.baseline - c.candidate > tol + 1e-9
        reg = drop and (c.test == "tolerance" or (p is not None and p < alpha))
        final.append(
            Comparison(c.scope, c.metric, c.baseline, c.candidate, c.test, c.n, c.p, c.p_adj, reg, c.detail)
        )
    return final


def markdown_report(r: RegressResult) -> str:
    """The gate's verdict, its rule, and one table row per comparison (every row, not only failures)."""
    res = r.candidate.results
    bad = [c for c in r.comparisons if c.regression]
    tests = sorted({c.test for c in r.comparisons})
    rule = {
        "mcnemar": "exact McNemar test on paired 0/1 outcomes",
        "bootstrap": f"paired bootstrap, {r.n_boot} resamples, seed {r.seed}",
        "tolerance": "tolerance only (no per-sample outcomes)",
    }
    lines = [
        f"# tpo-eval regress: {'REGRESSION' if bad else 'PASS'}",
        "",
        f"- candidate: `{r.candidate.path}` ({res['benchmark']} {res.get('benchmark_version', '')}, "
        f"{res['overall'].get('n_total', '?')} samples)".replace(" ,", ","),
        f"- baseline: `{r.baseline.path}`",
        f"- rule: a drop of more than {r.tolerance:g} points that is also significant at alpha = "
        f"{r.alpha:g}; "
        f"tests used: {'; '.join(rule[t] for t in tests)}; per-task p-values Holm-adjusted over the tasks",
    ]
    lines += [f"- {n}" for n in r.notes]
    lines += [
        "",
        "| scope | metric | baseline | candidate | Δ | n | test | p | p (Holm) | verdict |",
        "|---|---|---:|---:|---:|---:|---|---:|---:|---|",
    ]
    for c in r.comparisons:
        verdict = (
            "**REGRESSION**"
            if c.regression
            else ("drop, not significant" if c.delta < -r.tolerance else "ok")
        )
        test = c.test + (f" ({c.detail})" if c.detail else "")
        lines.append(
            f"| {c.scope} | {c.metric} | {c.baseline:.2f} | {c.candidate:.2f} | {c.delta:+.2f} | {c.n} | "
            f"{test} | {_fmt_p(c.p)} | {_fmt_p(c.p_adj)} | {verdict} |"
        )
    if bad:
        lines += [
            "",
            "Regressed: " + "; ".join(f"{c.scope} {c.metric} {c.delta:+.2f} points" for c in bad) + ".",
        ]
    return "\n".join(lines) + "\n"


def _fmt_p(p: Optional[float]) -> str:
    return "" if p is None else (f"{p:.3g}" if p >= 1e-4 else f"{p:.1e}")
