"""`tpo-eval regress`: McNemar / bootstrap gate on synthetic per-sample outcomes, fallbacks and refusals."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from tests.eval._synthetic_runs import write_run
from tpo_eval.cli import main
from tpo_eval.regress import (
    RegressInputError,
    binomial_two_sided_half,
    bootstrap_p,
    compare,
    holm,
    mcnemar_exact,
)


def _acc(correct: list[int], tasks: tuple[str, ...] = ("a", "b")) -> dict[str, dict[str, list[float]]]:
    """200 items split over ``tasks``; ``correct`` holds the indices (0..199) answered right."""
    per = 200 // len(tasks)
    hits = set(correct)
    return {
        "official/acc": {t: [float(k * per + i in hits) for i in range(per)] for k, t in enumerate(tasks)}
    }


BASE = list(range(0, 200, 2)) + list(range(1, 41, 2))  # 120 of 200 right: 60.0 %


def _regress(tmp: Path, cand: Path, base: Path, *extra: str) -> tuple[int, str]:
    res = CliRunner().invoke(main, ["regress", str(cand), "--baseline", str(base), *extra])
    return res.exit_code, res.output


def test_identical_runs_pass(tmp_path: Path) -> None:
    base = write_run(tmp_path / "base", _acc(BASE))
    cand = write_run(tmp_path / "cand", _acc(BASE))
    code, out = _regress(tmp_path, cand, base)
    assert code == 0 and out.startswith("# tpo-eval regress: PASS")
    assert (
        "| overall (micro) | official/acc | 60.00 | 60.00 | +0.00 | 200 | mcnemar (b=0, c=0) | 1 |  | ok |"
        in out
    )


def test_one_point_drop_is_not_significant_and_passes(tmp_path: Path) -> None:
    base = write_run(tmp_path / "base", _acc(BASE))
    cand = write_run(tmp_path / "cand", _acc(BASE[2:]))  # items 0 and 2 (task a) now wrong: 59.0 %
    code, out = _regress(tmp_path, cand, base)
    assert code == 0, out
    row = next(x for x in out.splitlines() if x.startswith("| overall (micro)"))
    assert row == (
        "| overall (micro) | official/acc | 60.00 | 59.00 | -1.00 | 200 | mcnemar (b=2, c=0) | 0.5 |  | "
        "drop, not significant |"
    )


def test_ten_point_drop_fails_with_exit_code_1(tmp_path: Path) -> None:
    base = write_run(tmp_path / "base", _acc(BASE))
    cand = write_run(tmp_path / "cand", _acc(BASE[20:]))  # 20 fewer right, all in task a: 50.0 %
    report = tmp_path / "out" / "regress.md"
    code, out = _regress(tmp_path, cand, base, "--report", str(report))
    assert code == 1 and out.startswith("# tpo-eval regress: REGRESSION")
    assert report.read_text() == out
    micro = next(x for x in out.splitlines() if x.startswith("| overall (micro)"))
    assert "| -10.00 | 200 | mcnemar (b=20, c=0) | 1.9e-06 |  | **REGRESSION** |" in micro
    task_a = next(x for x in out.splitlines() if x.startswith("| a |"))
    # Task a drops 20 points on 100 items; Holm over 2 tasks doubles its p-value.
    assert "| -20.00 | 100 | mcnemar (b=20, c=0) | 1.9e-06 | 3.8e-06 | **REGRESSION** |" in task_a
    assert "Regressed: overall (micro) official/acc -10.00 points" in out


def test_mismatched_sample_sets_exit_2(tmp_path: Path) -> None:
    base = write_run(tmp_path / "base", _acc(BASE))
    other_ids = {"a": [f"a/{i}" for i in range(1, 101)], "b": [f"b/{i}" for i in range(100)]}
    cand = write_run(tmp_path / "cand", _acc(BASE), ids=other_ids)  # same counts, one id differs
    code, out = _regress(tmp_path, cand, base)
    assert code == 2 and "different sample sets: 1 id(s) only in the candidate (e.g. ['a/100'])" in out
    # Without predictions the stored digests still tell the sets apart.
    for d in (base, cand):
        (d / "predictions.jsonl").unlink()
    code, out = _regress(tmp_path, cand, base)
    assert code == 2 and "different sample sets: sample_ids_sha256" in out
    # A different subset size is caught by the per-task counts even without digests.
    small = write_run(
        tmp_path / "small", {"official/acc": {"a": [1.0] * 50, "b": [1.0] * 100}}, predictions=False
    )
    doc = json.loads((small / "results.json").read_text())
    del doc["sample_ids_sha256"]
    (small / "results.json").write_text(json.dumps(doc))
    code, out = _regress(tmp_path, small, base)
    assert code == 2 and "per-task counts differ for a (candidate [50], baseline [100])" in out


def test_other_input_errors_exit_2(tmp_path: Path) -> None:
    base = write_run(tmp_path / "base", _acc(BASE))
    other = write_run(tmp_path / "other", _acc(BASE), benchmark="mmiu")
    assert _regress(tmp_path, other, base)[1].count("benchmarks differ") == 1
    assert _regress(tmp_path, tmp_path / "nowhere", base)[0] == 2
    code, out = _regress(tmp_path, base, base, "--metric", "official/iou")
    assert code == 2 and "metric 'official/iou' is not reported per task by both runs" in out
    assert CliRunner().invoke(main, ["regress", str(base)]).exit_code == 2  # --baseline is required


def test_without_per_sample_outcomes_the_tolerance_alone_decides(tmp_path: Path) -> None:
    base = write_run(tmp_path / "base", _acc(BASE))
    lone = tmp_path / "pinned" / "mvbench_baseline.json"  # a results.json kept as the CI baseline
    lone.parent.mkdir()
    shutil.copy(base / "results.json", lone)
    cand = write_run(tmp_path / "cand", _acc(BASE[2:]))
    code, out = _regress(tmp_path, cand, lone)
    assert code == 1  # the same 1-point drop McNemar passed above
    assert "no per-sample outcomes on both sides" in out and "tolerance only" in out
    assert "| 60.00 | 59.00 | -1.00 | 200 | tolerance |  |  | **REGRESSION** |" in out
    assert _regress(tmp_path, cand, lone, "--tolerance", "1.5")[0] == 1  # task a itself lost 2 points
    assert _regress(tmp_path, cand, lone, "--tolerance", "2")[0] == 0


def test_outcomes_that_do_not_reproduce_results_are_not_trusted(tmp_path: Path) -> None:
    base = write_run(tmp_path / "base", _acc(BASE))
    cand = write_run(tmp_path / "cand", _acc(BASE))
    doc = json.loads((cand / "results.json").read_text())
    doc["tasks"]["a"]["official/acc"] = 40.0  # results.json no longer matches its predictions
    (cand / "results.json").write_text(json.dumps(doc))
    r = compare(cand, base)
    assert any("per-sample official/acc of a averages 70.000, results.json says 40.0" in n for n in r.notes)
    task_a = next(c for c in r.comparisons if c.scope == "a")
    assert task_a.test == "tolerance" and task_a.regression
    # Predictions missing a whole task (baseline given as a bare results.json) are not trusted either.
    lone = tmp_path / "pinned.json"
    shutil.copy(base / "results.json", lone)
    rows = (base / "predictions.jsonl").read_text().splitlines()
    (base / "predictions.jsonl").write_text("\n".join(x for x in rows if '"task": "b"' not in x) + "\n")
    assert any("predictions hold no sample of task b" in n for n in compare(base, lone).notes)


def test_continuous_outcomes_use_a_seeded_paired_bootstrap(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    iou = rng.uniform(0, 1, 200)
    base = write_run(tmp_path / "base", {"official/mIoU": {"test": iou.tolist()}})
    noise = rng.normal(0, 0.2, 200)
    small = write_run(
        tmp_path / "small", {"official/mIoU": {"test": (iou - 0.01 + noise - noise.mean()).tolist()}}
    )
    big = write_run(tmp_path / "big", {"official/mIoU": {"test": (iou * 0.8).tolist()}})
    r_small, r_big = compare(small, base), compare(big, base)
    s, b = r_small.comparisons[0], r_big.comparisons[0]
    assert s.test == b.test == "bootstrap" and s.delta == pytest.approx(-1.0)
    assert not s.regression and s.p > 0.3
    assert b.regression and b.p == pytest.approx(1 / 2001) and b.delta == pytest.approx(-20 * iou.mean())
    assert compare(small, base).comparisons[0].p == s.p  # the same seed gives the same p-value
    assert compare(small, base, seed=1).comparisons[0].p != s.p


def test_statistics_helpers() -> None:
    p, b, c = mcnemar_exact(
        np.array([1.0] * 12 + [0.0] * 8), np.array([0.0] * 10 + [1.0] * 2 + [1.0] * 3 + [0.0] * 5)
    )
    assert (b, c) == (10, 3) and p == pytest.approx(0.09228515625)  # 2 × P(X ≤ 3), X ~ Bin(13, 1/2)
    from scipy.stats import binomtest  # the reference the exact-integer tail must reproduce

    for n, c in [(m, k) for m in range(31) for k in range(m + 1)] + [
        (1000, 430),
        (4000, 1950),
        (20001, 9000),
    ]:
        ref = binomtest(c, n, 0.5).pvalue if n else 1.0
        assert binomial_two_sided_half(min(c, n - c), n) == pytest.approx(ref, rel=1e-12, abs=0), (n, c)
    assert holm([0.01, None, 0.04, 0.03]) == [0.03, None, pytest.approx(0.06), pytest.approx(0.06)]
    same = [np.zeros(50)]
    assert bootstrap_p(same, 500, 0) == 1.0
    with pytest.raises(RegressInputError, match="at least 100 bootstrap"):
        compare(".", ".", n_boot=10)


def test_4000_samples_regress(tmp_path: Path) -> None:
    """MVBench size: 20 tasks × 200 binary outcomes, all compared; the time is printed, never asserted (a
    loaded machine would fail a wall-clock bound)."""
    rng = np.random.default_rng(0)
    tasks = {f"t{k:02d}": (rng.random(200) < 0.6).astype(float) for k in range(20)}
    flip = {t: np.where(rng.random(200) < 0.05, 1 - v, v) for t, v in tasks.items()}
    base = write_run(tmp_path / "base", {"official/acc": {t: v.tolist() for t, v in tasks.items()}})
    cand = write_run(tmp_path / "cand", {"official/acc": {t: v.tolist() for t, v in flip.items()}})
    start = time.perf_counter()
    result = compare(cand, base)
    elapsed = time.perf_counter() - start
    print(f"regress over 4000 samples: {elapsed:.3f} s")
    assert len(result.comparisons) == 22 and result.comparisons[0].n == 4000  # timing: scripts/, not a test
