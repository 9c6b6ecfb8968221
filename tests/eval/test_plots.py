"""`tpo-eval plot`: per-task delta bars and the moment-retrieval figure, written as non-empty PNG + PDF."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.eval._synthetic_runs import write_run
from tpo_eval.cli import main
from tpo_eval.plots import PlotInputError, plot_deltas, plot_moment, task_scores

MV_TASKS = ("action_sequence", "action_prediction", "action_antonym", "fine_grained_action")


def _is_png_and_pdf(paths: list[Path]) -> bool:
    png, pdf = paths
    return (
        (png.suffix, pdf.suffix) == (".png", ".pdf")
        and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        and pdf.read_bytes()[:5] == b"%PDF-"
        and png.stat().st_size > 5000
        and pdf.stat().st_size > 1000
    )


def _runs(tmp: Path) -> tuple[Path, Path]:
    a = write_run(
        tmp / "new", {"official/acc": {t: [1.0] * (k + 2) + [0.0] * 2 for k, t in enumerate(MV_TASKS)}}
    )
    b = write_run(
        tmp / "old", {"official/acc": {t: [1.0] * 3 + [0.0] * (k + 1) for k, t in enumerate(MV_TASKS)}}
    )
    return a, b


def test_plot_deltas_between_two_runs_and_against_a_published_row(tmp_path: Path) -> None:
    a, b = _runs(tmp_path)
    bench, key, scores, overall = task_scores(a)
    assert (bench, key, scores["action_sequence"], scores["fine_grained_action"]) == (
        "mvbench",
        "official/acc",
        50.0,
        71.42857142857143,
    )
    res = CliRunner().invoke(main, ["plot", "deltas", str(a), str(b), "-o", str(tmp_path / "fig" / "d")])
    assert res.exit_code == 0, res.output
    assert res.output.splitlines() == [
        f"wrote {tmp_path / 'fig' / 'd.png'}",
        f"wrote {tmp_path / 'fig' / 'd.pdf'}",
    ]
    assert _is_png_and_pdf([tmp_path / "fig" / "d.png", tmp_path / "fig" / "d.pdf"])
    paths = plot_deltas(a, tmp_path / "paper", table="mvbench", row="videochat_tpo")
    assert _is_png_and_pdf(paths)
    res = CliRunner().invoke(main, ["plot", "deltas", str(a)])  # neither RUN_B nor --table/--row
    assert res.exit_code == 2 and "give a second run directory" in res.output
    other = write_run(tmp_path / "mmiu", {"official/acc": {"x": [1.0]}}, benchmark="mmiu")
    with pytest.raises(PlotInputError, match="cannot compare a 'mvbench' run with a 'mmiu' run"):
        plot_deltas(a, tmp_path / "x", other)


def test_plot_deltas_refuses_different_sample_sets_unless_allowed(tmp_path: Path) -> None:
    a, _ = _runs(tmp_path)
    fewer = write_run(tmp_path / "fewer", {"official/acc": {t: [1.0, 0.0] for t in MV_TASKS}})
    res = CliRunner().invoke(main, ["plot", "deltas", str(a), str(fewer), "-o", str(tmp_path / "d")])
    assert res.exit_code == 2 and not (tmp_path / "d.png").exists()
    assert res.output.startswith("error: different sample sets: 14 id(s) only in the candidate")
    assert res.output.rstrip().endswith("(pass --allow-different-samples to plot anyway)")
    res = CliRunner().invoke(
        main, ["plot", "deltas", str(a), str(fewer), "-o", str(tmp_path / "d"), "--allow-different-samples"]
    )
    assert res.exit_code == 0 and "warning: deltas over different samples" in res.output
    assert _is_png_and_pdf([tmp_path / "d.png", tmp_path / "d.pdf"])
    # A partial run against a published (full-benchmark) row is refused the same way.
    doc = json.loads((a / "results.json").read_text())
    doc["provenance"] = {"selection": {"tasks": None, "limit": None, "subset": 4, "subset_seed": 0}}
    (a / "results.json").write_text(json.dumps(doc))
    with pytest.raises(PlotInputError, match=r"is a partial run \(subset of 4 samples per task \(seed 0\)\)"):
        plot_deltas(a, tmp_path / "p", table="mvbench", row="videochat_tpo")


def _moment_run(tmp: Path) -> Path:
    extra = {
        "test/7": {
            "windows": [[12.0, 30.0, 0.9], [40.0, 52.0, 0.4]],
            "saliency": [0.1, 0.2, 0.5, 0.9, 1.0, 0.8, 0.7, 0.4, 0.2, 0.1, 0.1, 0.3, 0.2, 0.1, 0.1],
            "duration": 60.0,
        }
    }
    return write_run(
        tmp / "qvh", {"official/mIoU": {"test": [0.5] * 8}}, benchmark="qvhighlights", rows_extra=extra
    )


def test_plot_moment_with_ground_truth_from_the_command_line_or_annotations(tmp_path: Path) -> None:
    run = _moment_run(tmp_path)
    res = CliRunner().invoke(main, ["plot", "moment", str(run), "--id", "test/7", "--gt", "10", "26"])
    assert res.exit_code == 0, res.output
    assert _is_png_and_pdf([run / "plots" / "moment_test_7.png", run / "plots" / "moment_test_7.pdf"])
    ann = tmp_path / "ann.jsonl"
    ann.write_text(
        json.dumps({"qid": 7, "query": "a dog runs", "duration": 60, "relevant_windows": [[10, 26]]}) + "\n"
    )
    assert _is_png_and_pdf(plot_moment(run, "test/7", tmp_path / "m", annotations=ann))
    res = CliRunner().invoke(main, ["plot", "moment", str(run), "--id", "test/99"])
    assert res.exit_code == 2 and "no row with id 'test/99'" in res.output
    with pytest.raises(PlotInputError, match="no predicted windows and no ground truth"):
        plot_moment(run, "test/0", tmp_path / "n")


def test_plot_moment_on_a_real_qvhighlights_prediction(tmp_path: Path, shared_data: Path) -> None:
    """Moment-DETR's released val prediction for one query, drawn against the real annotation."""
    preds = shared_data / "qvhighlights" / "sample_val_preds.jsonl"
    gt = shared_data / "qvhighlights" / "highlight_val_release.jsonl"
    if not (preds.is_file() and gt.is_file()):
        pytest.skip("QVHighlights val files are absent from ../shared/data")
    with open(preds) as f:
        p = json.loads(f.readline())
    sid = f"val/{p['qid']}"
    run = write_run(
        tmp_path / "mdetr",
        {"official/mIoU": {"val": [0.0]}},
        benchmark="qvhighlights",
        ids={"val": [sid]},
        rows_extra={sid: {"windows": p["pred_relevant_windows"], "saliency": p["pred_saliency_scores"]}},
    )
    paths = plot_moment(run, sid, tmp_path / "real", annotations=gt)
    assert _is_png_and_pdf(paths)


def test_plot_deltas_names_the_two_sides(tmp_path: Path, monkeypatch) -> None:
    import matplotlib.axes

    titles: list[str] = []
    real = matplotlib.axes.Axes.set_title
    monkeypatch.setattr(
        matplotlib.axes.Axes,
        "set_title",
        lambda self, t, *a, **k: (titles.append(t), real(self, t, *a, **k))[1],
    )
    a, b = _runs(tmp_path)
    res = CliRunner().invoke(main, ["plot", "deltas", str(a), str(b), "-o", str(tmp_path / "d")])
    assert res.exit_code == 0, res.output
    res = CliRunner().invoke(
        main, ["plot", "deltas", str(a), str(b), "-o", str(tmp_path / "n"), "--names", "TPO, Base model"]
    )
    assert res.exit_code == 0, res.output
    assert titles[0].startswith("new − old on mvbench") and titles[1].startswith(
        "TPO − Base model on mvbench"
    )
    res = CliRunner().invoke(main, ["plot", "deltas", str(a), str(b), "--names", "TPO"])
    assert res.exit_code == 2 and "give two names separated by a comma" in res.output
