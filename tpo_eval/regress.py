"""CI regression gate: is a candidate run worse than a baseline run, by more than a tolerance *and* by more
than sampling noise?

A drop larger than ``tolerance`` points counts only if it is also significant on paired per-sample outcomes:
exact McNemar (two-sided binomial test on the discordant pairs) for 0/1 outcomes, a seeded paired bootstrap
for continuous ones (IoU) and for macro averages (resampled within each task). Per-task p-values are
Holm-adjusted over the tasks, so 20 MVBench tasks do not make 20 chances of a false alarm. Without per-sample
outcomes on both sides the tolerance alone decides, and the report says so. Runs over different sample sets
are refused (:class:`RegressInputError`, exit code 2).

Reading runs and checking their sample sets is ``regress_runs.py``, the tests themselves ``regress_stats.py``;
this module pairs the outcomes, applies the rule and writes the report. Their names import from here too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from .regress_runs import RegressInputError, RunData, check_same_samples, load_run
from .regress_stats import binomial_two_sided_half, bootstrap_p, holm, mcnemar_exact

__all__ = [
    "Comparison",
    "RegressInputError",
    "RegressResult",
    "RunData",
    "binomial_two_sided_half",
    "bootstrap_p",
    "check_same_samples",
    "compare",
    "holm",
    "load_run",
    "markdown_report",
    "mcnemar_exact",
]


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
