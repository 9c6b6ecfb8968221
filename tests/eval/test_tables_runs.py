"""End to end with real run directories from `tpo-eval run` (mock models on stand-in MVBench videos):
the table maps their per-task scores onto the paper's columns, regress gates on their predictions."""
from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from tpo_eval.api import RunConfig, evaluate
from tpo_eval.cli import main
from tpo_eval.tables import load_table, run_row

from tests.helpers.videos import standin_root


@pytest.fixture(scope="module")
def runs(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    ann = shared_data / "mvbench"
    root = standin_root(tmp_path_factory.mktemp("mvbench"), "mvbench", ann, limit=2)
    out = tmp_path_factory.mktemp("runs")
    for name, model, limit in (("oracle", "mock:oracle", 2), ("random", "mock:random", 2), ("small", "mock:oracle", 1)):
        evaluate(RunConfig("mvbench", model=model, data_root=root, annotations=ann, out_dir=out / name,
                           limit=limit, progress=False))
    return {n: out / n for n in ("oracle", "random", "small")}


def test_a_real_run_fills_every_mvbench_column(runs: dict[str, Path]) -> None:
    t = load_table("mvbench")
    row = run_row(t, [runs["oracle"]], "oracle")
    assert row.notes == "" and all(row.value(c.id) == 100.0 for c in t.score_columns)
    res = CliRunner().invoke(main, ["table", "mvbench", "--run", str(runs["random"]), "--format", "markdown"])
    assert res.exit_code == 0, res.output
    # --limit 2 makes it a partial run: the row is marked and a footnote says why.
    line = next(x for x in res.output.splitlines() if x.startswith("| random"))
    assert line.startswith("| random† ") and line.count("|") == 23
    assert res.output.splitlines()[-1] == ("† random: partial run (first 2 samples per task); "
                                           "not comparable with full-benchmark numbers")
    assert run_row(t, [runs["oracle"]], "oracle").partial == "first 2 samples per task"


def test_regress_on_real_runs(runs: dict[str, Path], tmp_path: Path) -> None:
    same = CliRunner().invoke(main, ["regress", str(runs["oracle"]), "--baseline", str(runs["oracle"])])
    assert same.exit_code == 0 and "mcnemar (b=0, c=0)" in same.output and "sample_ids_sha256" in same.output
    worse = CliRunner().invoke(main, ["regress", str(runs["random"]), "--baseline", str(runs["oracle"])])
    assert worse.exit_code == 1 and "| overall (micro) | official/acc | 100.00 |" in worse.output
    other = CliRunner().invoke(main, ["regress", str(runs["small"]), "--baseline", str(runs["oracle"])])
    assert other.exit_code == 2 and "different sample sets" in other.output
