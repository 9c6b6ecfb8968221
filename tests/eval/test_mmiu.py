"""MMIU from InternVL's mmiu.jsonl and the flat parquet layout, with generated images: multi-image requests,
letters past D, the official mean over tasks beside the micro mean, the judge hook, malformed files."""
import json

import pytest
import yaml

from tests.helpers.mcq_fixtures import mmiu_rows, write_mmiu
from tpo_eval.api import RunConfig, evaluate, load_samples
from tpo_eval.config import BENCHMARK_DIR, DataPaths, load_benchmark
from tpo_eval.families.base import AnnotationError

# Unequal task sizes: CR = 3 + 1 rows (two released sources), STD = 2 rows (2 options), JPS = 6 rows (6 options).
SIZES = [({"casuality_reasoning_var": 3, "casuality_reasoning_next_qa": 1}, 4), ({"spot_the_diff": 2}, 2),
         ({"jigsaw_puzzle_solving": 6}, 6)]
SCRIPT = {
    "casuality_reasoning_var/0": "A", "casuality_reasoning_var/1": "B", "casuality_reasoning_var/2": "the third one",
    "casuality_reasoning_next_qa/0": "image none",
    "spot_the_diff/0": "The first one", "spot_the_diff/1": "A",
    **{f"jigsaw_puzzle_solving/{i}": a for i, a in enumerate(["A", "(b).", "C", "d", "E", "F"])},
}


def _rows(nested=True):
    return [r for sizes, n in SIZES for r in mmiu_rows(sizes, n, nested)]


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    r = tmp_path_factory.mktemp("mmiu")
    write_mmiu(r, _rows())
    (r / "script.json").write_text(json.dumps(SCRIPT))
    return r


def _run(root, bench="mmiu", **kw):
    return evaluate(RunConfig(bench, data_root=root, progress=False, **kw))


def test_oracle_is_100_with_letters_past_d(root):
    doc = _run(root, model="mock:oracle")
    assert list(doc["tasks"]) == ["casuality_reasoning", "spot_the_diff", "jigsaw_puzzle_solving"]
    assert doc["overall"]["macro"] == doc["overall"]["micro"] == {"official/acc": 100.0, "strict/acc": 100.0}
    assert doc["aggregation"] == ["macro", "macro_released", "micro"]
    assert doc["overall"]["macro_released"] == {"official/acc": 100.0, "strict/acc": 100.0, "n_sources": 4,
                                                "n_sources_empty": {"official": 0, "strict": 0}}


def test_random_is_near_chance_and_reproducible(tmp_path):
    write_mmiu(tmp_path, mmiu_rows({"temporal_ordering": 60, "visual_ordering": 60}, 4))
    a = _run(tmp_path, model="mock:random", seed=2)
    assert a["overall"] == _run(tmp_path, model="mock:random", seed=2)["overall"]
    assert 13.0 <= a["overall"]["micro"]["official/acc"] <= 37.0  # chance 25 %, ±3 sd for 120 questions


def test_mean_over_tasks_and_micro_differ_both_exact(root):
    doc = _run(root, model="mock:scripted", model_args={"script": str(root / "script.json")})
    t, ov = doc["tasks"], doc["overall"]
    assert t["casuality_reasoning"]["official/acc"] == 50.0 and t["casuality_reasoning"]["n_total"] == 4
    assert t["spot_the_diff"]["official/acc"] == 0.0 and t["jigsaw_puzzle_solving"]["official/acc"] == 100.0
    assert ov["macro"]["official/acc"] == 50.0                        # (50 + 0 + 100) / 3: the official Overall
    assert ov["micro"]["official/acc"] == pytest.approx(100 * 8 / 12)  # over questions
    assert ov["macro"]["strict/acc"] == pytest.approx((50 + 0 + 100 * 5 / 6) / 3)
    assert ov["micro"]["strict/acc"] == pytest.approx(100 * 7 / 12)
    # The official evaluate_correct.py's Overall: the mean over the 4 released task directories, by hand:
    # casuality_reasoning_var 2/3, casuality_reasoning_next_qa 0/1, spot_the_diff 0/2, jigsaw_puzzle_solving
    # 6/6 (official); strict: 2/3, 0/1, 0/2, 5/6.
    assert ov["macro_released"]["official/acc"] == pytest.approx((200 / 3 + 0 + 0 + 100) / 4)  # 41.67
    assert ov["macro_released"]["strict/acc"] == pytest.approx((200 / 3 + 0 + 0 + 500 / 6) / 4)  # 37.5
    assert ov["macro_released"]["n_sources"] == 4
    src = doc["breakdown"]["source"]
    assert src["casuality_reasoning_var"]["official/acc"] == pytest.approx(100 * 2 / 3)
    assert src["casuality_reasoning_next_qa"]["official/acc"] == 0.0 and len(src) == 4


def test_judge_hook_is_off_unless_configured(root, tmp_path, monkeypatch):
    spec = yaml.safe_load((BENCHMARK_DIR / "mmiu.yaml").read_text())
    (tmp_path / "judge.json").write_text(json.dumps({"spot_the_diff/0": " A "}))  # no reply for var/2: an error
    spec.update(name="mmiu_judge", options={**spec["options"], "judge": {
        "model": "mock:scripted", "model_args": {"script": str(tmp_path / "judge.json")}}})
    (tmp_path / "mmiu_judge.yaml").write_text(yaml.safe_dump(spec))
    monkeypatch.setenv("TPO_EVAL_BENCHMARKS", str(tmp_path))
    doc = _run(root, bench="mmiu_judge", model="mock:scripted", model_args={"script": str(root / "script.json")})
    t, ov = doc["tasks"], doc["overall"]
    assert t["spot_the_diff"]["official/acc"] == 50.0                   # the judge matched "The first one" to A
    assert t["casuality_reasoning"]["official/acc"] == pytest.approx(100 * 2 / 3)  # judge error: left out
    assert t["casuality_reasoning"]["n_excluded"] == {"official": 1, "strict": 0}
    assert ov["macro"]["official/acc"] == pytest.approx((200 / 3 + 50 + 100) / 3)
    assert ov["micro"]["official/acc"] == pytest.approx(100 * 9 / 11)
    # Released directories: var 2/2 (its judge error is out of the denominator), next_qa 0/1, STD 1/2, JPS
    # 6/6.
    assert ov["macro_released"]["official/acc"] == pytest.approx((100 + 0 + 50 + 100) / 4)
    assert t["casuality_reasoning"]["strict/acc"] == 50.0               # strict never asks the judge


def test_requests_carry_every_image_and_need_multi_image_support(root, monkeypatch):
    from tpo_eval.models.base import ModelError
    from tpo_eval.models.mock import MockModel
    from tpo_eval.runner import Runner
    from tpo_eval.video.decode import read_index

    r = Runner(RunConfig("mmiu", model="mock:oracle", data_root=root, progress=False))
    s = next(x for x in r.samples if x.id == "jigsaw_puzzle_solving/3")
    req = r._request(s, set(), True)
    assert req.kind == "multi_image" and len(req.frames) == 2
    assert [read_index(f) for f in req.frames] == [9, 9]  # written for row 9 of the file
    assert req.prompt.user.startswith("Which fits jigsaw_puzzle_solving 3?\nSelect from the following choices.\nA: ")
    assert "\nF: choice 5 for jigsaw_puzzle_solving 3\nAnswer with the option's letter" in req.prompt.user
    monkeypatch.setattr(MockModel, "supports", frozenset({"mcq"}))
    with pytest.raises(ModelError, match="cannot answer 'multi_image'"):
        _run(root, model="mock:oracle")


def test_flat_layout_and_task_aliases(root, tmp_path):
    import pandas as pd

    flat = _rows(nested=False)
    flat[0]["task"] = "CR"                 # abbreviation of seed Table 2
    flat[4]["task"] = "Spot the difference"  # full name
    pq = tmp_path / "mmiu.parquet"
    pd.DataFrame(flat).to_parquet(pq)
    cfg = load_benchmark("mmiu")
    _, a = load_samples(cfg, DataPaths(root))
    _, b = load_samples(cfg, DataPaths(root, pq))
    assert [(s.task, s.choices, s.target, s.media.paths) for s in a] == [(s.task, s.choices, s.target, s.media.paths)
                                                                         for s in b]


def test_gold_outside_the_options_is_kept_with_a_warning(tmp_path, capsys):
    rows = mmiu_rows({"casuality_reasoning_var": 2}, 4)
    rows[1]["output"]["output_text"] = "F"  # as in the released casuality_reasoning_var
    write_mmiu(tmp_path, rows)
    doc = _run(tmp_path, model="mock:oracle")
    assert "1 question(s) have a gold letter outside their options" in capsys.readouterr().err
    assert doc["overall"]["micro"]["official/acc"] == 100.0 and doc["overall"]["micro"]["strict/acc"] == 50.0


@pytest.mark.parametrize("change,message", [
    (lambda r: r[2].pop("output"), r"mmiu.jsonl item 2: missing field\(s\) output"),
    (lambda r: r[0].update(options="A: only one"), r"item 0: expected 2 to 14 options, got 1"),
    (lambda r: r[1].update(options="A: x\nC: y\nB: z"), r"item 1: option 1 is lettered 'C', expected 'B'"),
    (lambda r: r[3]["output"].update(output_text="AB"), r"item 3: output 'AB' is not an option letter A-N"),
    (lambda r: r[5].update(task="made_up_task"), r"item 5: task 'made_up_task' is not one of the 52 MMIU tasks"),
])
def test_malformed_rows_name_file_and_item(tmp_path, change, message):
    rows = _rows()
    change(rows)
    write_mmiu(tmp_path, rows, images=False)
    with pytest.raises(AnnotationError, match=message):
        load_samples(load_benchmark("mmiu"), DataPaths(tmp_path))


def test_bad_jsonl_line_names_the_line(tmp_path):
    write_mmiu(tmp_path, _rows(), images=False)
    with open(tmp_path / "mmiu.jsonl", "a") as f:
        f.write('{"task": \n')
    with pytest.raises(AnnotationError, match=r"mmiu.jsonl item line 13: invalid JSON"):
        load_samples(load_benchmark("mmiu"), DataPaths(tmp_path))


def test_option_prefixes_are_stripped_only_when_they_letter_the_option():
    from pathlib import Path

    from tpo_eval.families.mcq_variants import unletter

    assert unletter(Path("f"), 0, ["A: cat", "(B) dog", "C. U.S. troops", "D:bird"]) == ("cat", "dog", "U.S. troops", "bird")
    assert unletter(Path("f"), 0, ["U.S. troops", "B: x"]) == ("U.S. troops", "x")  # U is no option of this question
    with pytest.raises(AnnotationError, match="f item 3: option 1 is lettered 'A', expected 'B'"):
        unletter(Path("f"), 3, ["A: x", "A: y"])


def test_a_source_with_every_row_excluded_leaves_the_released_mean(tmp_path):
    from tpo_eval.families.mmiu import _with_released_mean

    cell = {"official/acc": 50.0, "n_total": 2, "n_excluded": {"official": 0}}
    gone = {"official/acc": 0.0, "n_total": 1, "n_excluded": {"official": 1}}  # the official script: 0/0
    ov = _with_released_mean({"macro": {}, "n_total": 3}, {"a": cell, "b": gone}, ["official"], ("acc",))
    assert ov["macro_released"] == {"official/acc": 50.0, "n_sources": 2, "n_sources_empty": {"official": 1}}
    assert list(ov) == ["macro", "macro_released", "n_total"]


def test_macro_released_is_only_for_families_that_compute_it():
    from tpo_eval.config import ConfigError, parse_benchmark

    spec = yaml.safe_load((BENCHMARK_DIR / "mvbench.yaml").read_text())
    spec["aggregation"] = ["micro", "macro_released"]
    with pytest.raises(ConfigError, match="family 'mcq' does not compute 'macro_released'"):
        parse_benchmark(spec, BENCHMARK_DIR / "mvbench.yaml")
