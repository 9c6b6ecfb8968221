"""`tpo-eval export videomme RUN_DIR` writes the official result structure; `tpo-eval score videomme
--predictions FILE` reads it back (trailing commas tolerated, gold answers from the file when no annotations
are given) and reproduces the run's numbers exactly."""

import json
import re

import pytest
from click.testing import CliRunner

from tests.eval.test_videomme import SCRIPT
from tests.helpers.mcq_fixtures import videomme_rows, write_videomme
from tpo_eval.cli import main

NUMBERS = ("tasks", "overall", "breakdown", "metrics", "primary", "sample_ids_sha256")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A scripted run (answers right, wrong, unanswered and quirky) and its export."""
    root = tmp_path_factory.mktemp("vmme")
    write_videomme(root, videomme_rows(6, 3))
    script = root / "script.json"
    script.write_text(json.dumps(SCRIPT))
    out = root / "run"
    cli = CliRunner()
    r = cli.invoke(
        main,
        [
            "run",
            "videomme",
            "--model",
            "mock:scripted",
            "--model-arg",
            f"script={script}",
            "--data-root",
            str(root),
            "--out",
            str(out),
            "--no-progress",
        ],
    )
    assert r.exit_code == 0, r.output
    # the console table shows the count the official denominator left out, and the breakdown tables
    overall = next(ln for ln in r.stdout.splitlines() if ln.startswith("OVERALL (micro)")).split()
    assert overall[3:5] == ["75.00", "61.11"] and overall[7] == "2"  # official, strict, excluded/official
    assert "task_type" in r.stdout and "Action Reasoning" in r.stdout
    r = cli.invoke(main, ["export", "videomme", str(out)])
    assert r.exit_code == 0, r.output
    assert "18 of 18 questions" in r.output
    return root, out, json.loads((out / "results.json").read_text())


def _score(args):
    r = CliRunner().invoke(main, ["score", "videomme", "--json", *args])
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout), r.stderr


def test_export_has_the_official_structure(run):
    _, out, _ = run
    videos = json.loads((out / "videomme_official.json").read_text())
    assert len(videos) == 6 and set(videos[0]) == {
        "video_id",
        "duration",
        "domain",
        "sub_category",
        "questions",
    }
    q = videos[1]["questions"][1]
    assert q == {
        "question_id": "002-2",
        "task_type": "OCR Problems",
        "question": "What happens in video 1 (question 1)?",
        "options": ["A. option a of 1-1", "B. option b of 1-1", "C. option c of 1-1", "D. option d of 1-1"],
        "answer": "C",
        "response": "Best option: C",
    }


def test_score_without_annotations_round_trips(run):
    root, out, ref = run
    doc, _ = _score(["--predictions", str(out / "videomme_official.json")])
    assert {k: doc[k] for k in NUMBERS} == {k: ref[k] for k in NUMBERS}
    assert doc["overall"]["micro"]["official/acc"] == 75.0 and doc["overall"]["n_excluded"]["official"] == 2
    assert doc["provenance"]["annotations"] == {}


def test_score_with_annotations_round_trips(run):
    root, out, ref = run
    doc, _ = _score(["--predictions", str(out / "videomme_official.json"), "--data-root", str(root)])
    assert {k: doc[k] for k in NUMBERS} == {k: ref[k] for k in NUMBERS}
    assert doc["provenance"]["annotations"]["short"]["sha256"]


def test_trailing_commas_of_the_official_template_are_tolerated(run, tmp_path):
    _, out, ref = run
    text = json.dumps(json.loads((out / "videomme_official.json").read_text()), indent=1)
    # the official template ends every list and object with a comma
    text = re.sub(r'(["\]}\d])(\n\s*[\]}])', r"\1,\2", text)
    bad = tmp_path / "template_style.json"
    bad.write_text(text)
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)
    doc, err = _score(["--predictions", str(bad)])
    assert text.count(",\n") > json.dumps(
        json.loads((out / "videomme_official.json").read_text()), indent=1
    ).count(",\n")
    assert "trailing comma(s)" in err and "output_test_template" in err
    assert {k: doc[k] for k in NUMBERS} == {k: ref[k] for k in NUMBERS}


def test_tasks_and_bad_prediction_files(run, tmp_path):
    _, out, ref = run
    doc, _ = _score(["--predictions", str(out / "videomme_official.json"), "--tasks", "long"])
    assert list(doc["tasks"]) == ["long"] and doc["tasks"]["long"] == ref["tasks"]["long"]
    videos = json.loads((out / "videomme_official.json").read_text())
    del videos[2]["questions"][0]["response"]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(videos))
    r = CliRunner().invoke(main, ["score", "videomme", "--predictions", str(bad)])
    assert (
        r.exit_code == 2
        and "bad.json item video 2 (video_id '003') question 0: missing field(s) response" in r.output
    )


def test_export_refuses_benchmarks_without_a_format(run):
    _, out, _ = run
    r = CliRunner().invoke(main, ["export", "mvbench", str(out)])
    assert r.exit_code == 2 and "no official submission format" in r.output
