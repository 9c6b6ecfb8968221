"""Paper tables: loading results/paper, rendering (golden LaTeX, Markdown, console), ranks, deltas, run rows."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tpo_eval.cli import main
from tpo_eval.tables import TableError, list_tables, load_table, parse_cell, render, run_row

from tests.eval._synthetic_runs import write_run

REPO = Path(__file__).resolve().parents[2]
GOLDEN = REPO / "tests" / "golden"
SEED_TABLES = ("mvbench", "mmiu", "ablation-tasks", "llava-ov")
MAIN_TABLES = ("video-understanding", "nextgqa", "image-understanding", "charades-zeroshot", "moment-finetuned",
               "refcoco", "tracking", "refseg", "llava-ov-mvbench", "ablation-heads", "ablation-components")


@pytest.mark.parametrize("name", SEED_TABLES)
def test_seed_table_latex_matches_golden_byte_for_byte(name: str) -> None:
    want = (GOLDEN / f"{name}.tex").read_bytes()
    result = CliRunner().invoke(main, ["table", name, "--format", "latex"])
    assert result.exit_code == 0, result.output
    assert result.output.encode() == want
    assert render(load_table(name), "latex").encode() == want  # the API and the CLI print the same bytes


def test_every_issue_table_is_shipped_and_listed() -> None:
    assert set(SEED_TABLES) | set(MAIN_TABLES) == set(list_tables())
    out = CliRunner().invoke(main, ["table", "--list"]).output
    for name in list_tables():
        assert name in out
        t = load_table(name)
        assert t.source["table"] and t.source["version"] and t.caption and t.label.startswith("tab:")
        for fmt in ("latex", "markdown", "console"):
            assert render(t, fmt).endswith("\n")


def test_mvbench_columns_use_the_benchmark_task_ids() -> None:
    t = load_table("mvbench")
    assert [c.id for c in t.columns][:3] == ["avg", "action_sequence", "action_prediction"]
    assert t.column("action_sequence").label == "AS" and t.column("counterfactual_inference").label == "CI"
    assert t.column("avg").aggregate.of == tuple(c.id for c in t.columns[1:])  # "of: tasks" = the 20 tasks
    tpo = t.row("videochat_tpo")
    assert tpo.value("avg") == 66.8 and tpo.value("episodic_reasoning") == 60.0 and tpo.cells["avg"].decimals == 1


def test_mmiu_reconstructs_52_columns_in_two_header_rows() -> None:
    t = load_table("mmiu")
    assert len(t.score_columns) == 53 and len(t.panels) == 2 and len(t.panels[0]) == len(t.panels[1]) == 27
    tpo, vc2 = t.row("videochat_tpo"), t.row("videochat2")
    # The prose's deltas land in the reconstructed columns (upper task first in each "a b" cell).
    assert (tpo.value("casuality_reasoning"), vc2.value("casuality_reasoning")) == (73.3, 46.8)
    assert (tpo.value("spot_the_diff"), vc2.value("spot_the_diff")) == (92.5, 31.5)
    evqa = "Egocentric_Video_QuestionAnswering"
    assert (tpo.value(evqa), vc2.value(evqa)) == (59.0, 44.5)
    assert t.column("gui_app_recognition").label == "GuAR"
    assert t.row("openflamingo").value("gui_app_recognition") == 25.0
    tex = render(t, "latex")
    assert "Model & Overall & CR & ER & FD" in tex and "\n &  & GuAR & GNAP & TC" in tex


def test_seed_numbers_match_the_seed_text(shared_data: Path) -> None:
    seed = next((shared_data.parent / "seed").glob("000_*.txt"), None)
    if seed is None:
        pytest.skip("seed text ../shared/seed/000_*.txt is absent")
    lines = seed.read_text(encoding="utf-8").splitlines()
    mv, i = load_table("mvbench"), next(n for n, x in enumerate(lines) if x.startswith("Model\tAvg."))
    for row, line in zip(mv.rows, lines[i + 1:i + 13]):
        assert [c.text for c in row.cells.values()] == line.split("\t")[1:], row.model
    mm, i = load_table("mmiu"), next(n for n, x in enumerate(lines) if x.startswith("Model\tOverall"))
    for row, line in zip(mm.rows, lines[i + 1:i + 10]):
        cells = line.split("\t")
        pairs = [c.split() for c in cells[2:]]
        want = [cells[1]] + [a for a, _ in pairs] + [b for _, b in pairs]
        assert [c.text for c in row.cells.values()] == want, row.model


def test_best_bold_second_underlined_in_markdown_and_console() -> None:
    md = render(load_table("mvbench"), "markdown")
    tpo = next(x for x in md.splitlines() if x.startswith("| VideoChat-TPO "))
    cells = [c.strip() for c in tpo.strip("|").split("|")]
    assert cells[:4] == ["VideoChat-TPO", "**66.8**", "**84.0**", "**69.5**"] and cells[4] == "<ins>87.5</ins>"
    assert md.startswith("Table: Results on MVBench") and "|:--" in md
    # Ties: UA has 77.0 twice → both bold; then 66.5 is second.
    ua = [x.split("|")[7].strip() for x in md.splitlines()[4:]]
    assert ua.count("**77.0**") == 2 and ua.count("<ins>66.5</ins>") == 1
    console = render(load_table("ablation-tasks"), "console")
    assert console == (
        "Task-data scaling ablation, Charades-STA and MVBench (supplement Table 3)\n\n"
        "Model               Charades-STA R@0.3    Charades-STA R@0.5    Charades-STA R@0.7"
        "    Charades-STA mIoU    MVBench AVG\n"
        "----------------  --------------------  --------------------  --------------------"
        "  -------------------  -------------\n"
        "VideoChat-TPO                     58.3                  40.2                  18.4"
        "                 38.1           66.8\n"
        "Only QVHighlight                  54.8                  34.6                  15.1"
        "                 35.8           66.5\n")
    colored = render(load_table("ablation-tasks"), "console", color=True)
    assert "\033[1m58.3\033[0m" in colored and "\033[4m54.8\033[0m" in colored


def test_llava_ov_markdown_shows_the_papers_deltas_and_baseline_can_be_changed() -> None:
    t = load_table("llava-ov")
    assert render(t, "markdown") == (
        "Table: Performance of LLaVA-OV on video benchmarks.\n\n"
        "| Model        |         MVBench |        VideoMME |   PerceptionTest |\n"
        "|:-------------|----------------:|----------------:|-----------------:|\n"
        "| LLaVA-OV     | <ins>56.7</ins> | <ins>58.2</ins> |  <ins>57.1</ins> |\n"
        "| LLaVA-OV-TPO | **64.8** (+8.1) | **61.3** (+3.1) |  **64.0** (+6.9) |\n")
    assert "(" not in render(t, "markdown", baseline="none").split("\n", 2)[2]
    tex = render(t, "latex", baseline="llava_ov_tpo")
    assert r"\underline{56.7}\,{\scriptsize($-$8.1)}" in tex
    with pytest.raises(KeyError, match="no row 'nobody'"):
        render(t, "latex", baseline="nobody")


def test_two_level_header_groups_columns_with_cmidrules() -> None:
    tex = render(load_table("moment-finetuned"), "latex")
    assert r" & \multicolumn{4}{c}{Charades-STA} & \multicolumn{2}{c}{QVHighlights} \\" in tex
    assert r"\cmidrule(lr){2-5} \cmidrule(lr){6-7}" in tex
    tex = render(load_table("refcoco"), "latex")
    assert r"MAttNet $^\star$" in tex and r"\multicolumn" not in tex
    assert r"\caption{Spatial grounding on RefCOCO (Acc@0.5). $^\star$ marks methods" in tex
    assert r"\label{tab:refcoco}" in tex


def _mvbench_run(tmp: Path, acc: float, name: str = "ckpt") -> Path:
    """A run with every MVBench task at ``acc`` percent except action_sequence (100%) over 2 samples/task."""
    tasks = [c.id for c in load_table("mvbench").score_columns[1:]]
    k = int(round(acc / 50))
    outcomes = {t: [1.0, 1.0] if t == "action_sequence" else [1.0] * k + [0.0] * (2 - k) for t in tasks}
    return write_run(tmp / name, {"official/acc": outcomes}, predictions=False)


def test_run_row_maps_task_ids_onto_the_paper_columns(tmp_path: Path) -> None:
    t = load_table("mvbench")
    row = run_row(t, [_mvbench_run(tmp_path, 50.0)], "my-ckpt")
    assert row.value("action_sequence") == 100.0 and row.value("action_prediction") == 50.0
    assert row.value("avg") == 52.5 and row.cells["avg"].text == "52.5" and row.notes == ""
    tex = render(t.with_rows([row]), "latex")
    assert r"\bottomrule" in tex and "\\midrule\nmy-ckpt & 52.5 & \\textbf{100.0} & 50.0" in tex


def test_run_row_merges_split_tasks_and_names_what_is_missing(tmp_path: Path) -> None:
    t = load_table("mmiu")
    outcomes = {"casuality_reasoning_next_qa": [1.0, 1.0, 1.0], "casuality_reasoning_var": [0.0],
                "spot_the_diff": [1.0, 0.0]}
    run = write_run(tmp_path / "mmiu", {"official/acc": outcomes}, benchmark="mmiu", predictions=False)
    row = run_row(t, [run], "r")
    assert row.value("casuality_reasoning") == 75.0  # (3 × 100 + 1 × 0) / 4, weighted by n_total
    # The run's Overall (macro over its 3 tasks) is not the paper's mean over 52: left empty, row marked partial.
    assert row.value("spot_the_diff") == 50.0 and row.value("overall") is None
    assert row.partial == "Overall not shown: 2 of 52 tasks"
    assert "VCor: run lacks tasks.visual_correspondence_blink['official/acc']" in row.notes
    with pytest.raises(TableError, match="this is a 'mmiu' run; table 'mvbench' has columns for mvbench"):
        run_row(load_table("mvbench"), [run], "r")


def test_run_variants_put_lenient_and_macro_released_beside_the_official_numbers(tmp_path: Path) -> None:
    from tpo_eval.tables import run_rows

    per_sample = {"official/R1@0.5": [1.0, 0.0], "lenient/R1@0.5": [1.0, 1.0],
                  "official/R1@0.3": [1.0, 0.0], "lenient/R1@0.3": [1.0, 1.0],
                  "official/R1@0.7": [0.0, 0.0], "lenient/R1@0.7": [1.0, 0.0],
                  "official/mIoU": [0.5, 0.0], "lenient/mIoU": [0.5, 0.75]}
    ch = write_run(tmp_path / "ch", {k: {"test": v} for k, v in per_sample.items()}, benchmark="charades_sta",
                   predictions=False)
    main_row, lenient = run_rows(load_table("charades-zeroshot"), [ch], "r")
    assert [main_row.value(c) for c in ("r03", "r05", "r07", "miou")] == [50.0, 50.0, 0.0, 25.0]
    assert lenient.model == "r (lenient)" and [lenient.value(c) for c in ("r03", "r05", "r07", "miou")] == [
        100.0, 100.0, 50.0, 62.5]
    mm = write_run(tmp_path / "mm", {"official/acc": {"casuality_reasoning_next_qa": [1.0, 1.0, 1.0],
                                                      "casuality_reasoning_var": [0.0]}},
                   benchmark="mmiu", predictions=False)
    doc = json.loads((mm / "results.json").read_text())
    doc["overall"]["macro_released"] = {"official/acc": 62.5}  # any number other than macro's
    (mm / "results.json").write_text(json.dumps(doc))
    main_row, released = run_rows(load_table("mmiu"), [mm], "r")
    assert main_row.value("overall") == 50.0 and main_row.value("casuality_reasoning") == 75.0
    assert released.model == "r (macro_released)" and released.value("overall") == 62.5
    assert [c for c, cell in released.cells.items() if cell.text] == ["overall"]  # only the changed column
    # A variant for a benchmark the runs do not cover adds no row (ablation-heads: an MVBench-only run).
    assert len(run_rows(load_table("ablation-heads"), [_mvbench_run(tmp_path, 50.0)], "r")) == 1


def test_runs_sharing_a_label_fill_one_row_via_the_cli(tmp_path: Path) -> None:
    mv = _mvbench_run(tmp_path, 50.0)
    vm = write_run(tmp_path / "vm", {"official/acc": {"short": [1.0, 0.0, 1.0, 1.0]}}, benchmark="videomme",
                   predictions=False)
    out = tmp_path / "t.md"
    res = CliRunner().invoke(main, ["table", "llava-ov", "--run", f"ov={mv}", "--run", f"ov={vm}",
                                    "--format", "markdown", "-o", str(out)])
    assert res.exit_code == 0, res.output
    line = next(x for x in out.read_text().splitlines() if x.startswith("| ov "))
    assert [c.strip() for c in line.strip("|").split("|")] == ["ov", "52.5 (-4.2)", "**75.0** (+16.8)", "–"]
    assert "warning" not in res.output  # a column no run was given for stays empty without a warning


def test_bad_inputs_exit_2_with_every_problem_named(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(
        "name: bad\ncaption: c\nlabel: tab:bad\ncolour: red\ncolumns:\n"
        "  - {id: avg, label: Avg, aggregate: {method: median, of: tasks}}\n  - {id: a, label: A}\n")
    (tmp_path / "bad.csv").write_text("key,model,avg,a,b\nx,X,1.0,abc,2\nx,Y,1,2,3\n")
    with pytest.raises(TableError) as e:
        load_table(tmp_path / "bad.yaml")
    msg = str(e.value)
    for part in ("unknown key 'colour'", "aggregate method 'median' unknown", "column 'b' is not declared",
                 "row 'x' column 'a': 'abc' is not a number", "row key 'x' is empty or repeated"):
        assert part in msg
    res = CliRunner().invoke(main, ["table", str(tmp_path / "bad.yaml")])
    assert res.exit_code == 2 and "unknown key 'colour'" in res.output
    assert CliRunner().invoke(main, ["table", "mvbench", "--run", str(tmp_path / "none")]).exit_code == 2
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "results.json").write_text(json.dumps({"benchmark": "mvbench"}))
    res = CliRunner().invoke(main, ["table", "mvbench", "--run", str(tmp_path / "r")])
    assert res.exit_code == 2 and "results.json lacks tasks, overall" in res.output


def test_parse_cell() -> None:
    assert parse_cell("64.8 (+8.1)") == parse_cell(" 64.8 (+8.1) ") and parse_cell("64.8 (+8.1)").delta == 8.1
    assert parse_cell("–").value is None and parse_cell("38.50").decimals == 2 and parse_cell("7").decimals == 0
    assert parse_cell("7B", "info").text == "7B"
    with pytest.raises(ValueError, match="not a number"):
        parse_cell("7B")


def _partial(doc_path: Path, **selection: object) -> None:
    doc = json.loads(doc_path.read_text())
    doc["provenance"] = {"selection": {"tasks": None, "limit": None, "subset": None, "subset_seed": 0, **selection}}
    doc_path.write_text(json.dumps(doc))


def test_partial_runs_are_footnoted_in_every_format_and_get_no_avg_from_a_task_subset(tmp_path: Path) -> None:
    t = load_table("mvbench")
    sub = _mvbench_run(tmp_path, 50.0, name="sub")
    _partial(sub / "results.json", subset=20, subset_seed=3)
    two = write_run(tmp_path / "two", {"official/acc": {"action_sequence": [1.0, 0.0], "action_count": [1.0, 1.0]}},
                    predictions=False)
    _partial(two / "results.json", tasks=["action_sequence", "action_count"])
    rows = [run_row(t, [sub], "sub"), run_row(t, [two], "two"), run_row(t, [_mvbench_run(tmp_path, 50.0)], "full")]
    assert rows[0].partial == "subset of 20 samples per task (seed 3)" and rows[0].value("avg") == 52.5
    assert rows[1].partial == "2 selected task(s); Avg. not shown: 2 of 20 tasks" and rows[1].value("avg") is None
    assert rows[1].value("action_count") == 100.0 and rows[2].partial == ""
    tt = t.with_rows(rows)
    md = render(tt, "markdown").splitlines()
    assert md[-2:] == [
        "† sub: partial run (subset of 20 samples per task (seed 3)); not comparable with full-benchmark numbers",
        "† two: partial run (2 selected task(s); Avg. not shown: 2 of 20 tasks); not comparable with "
        "full-benchmark numbers"]
    assert any(x.startswith("| sub† ") for x in md) and any(x.startswith("| full ") for x in md)
    assert any(x.startswith("| two† ") and x.split("|")[2].strip() == "–" for x in md)
    tex = render(tt, "latex")
    assert "\nsub$^\\dagger$ & 52.5 &" in tex and "\nfull & 52.5 &" in tex
    assert ("\\par\\smallskip{\\footnotesize $^\\dagger$ two: partial run (2 selected task(s); Avg. not "
            "shown: 2 of 20 tasks); not comparable with full-benchmark numbers\\par}\n\\end{table}\n") in tex
    assert render(tt, "console").splitlines()[-1].startswith("† two: partial run")
    assert "†" not in render(t, "markdown")  # paper rows are never partial
