"""The whole mission, shortened (``tpo-train demo --preset ci``: the tiny synthetic world, 2 steps per stage):
world → TPO stages 1-3 and the baselines → ``tpo-eval run`` on the held-out splits → table, plot, gate. The
table's rows must be exactly the runs' results.json numbers, and a rerun must reuse everything."""

from __future__ import annotations

import json

import pytest

from tests.train._recipe_helpers import tiny_cache  # noqa: F401  (one tiny base model per test process)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from tpo_train.demo import Demo

    d = Demo(tmp_path_factory.mktemp("demo"), preset="ci", jobs=1)
    return d, d.run()


def _metric(doc, metric):
    return round(float(doc["overall"]["micro"][metric]), 1)


def test_table_rows_equal_the_runs(demo):
    from tpo_train.demo import BENCHMARKS, LABELS

    d, res = demo
    md = (res / "ablation.md").read_text()
    rows = {
        ln.split("|")[1].strip(): [
            c.strip().strip("*").replace("<ins>", "").replace("</ins>", "") for c in ln.split("|")[2:-1]
        ]
        for ln in md.splitlines()
        if ln.startswith("| ") and not ln.startswith("| Model")
    }
    assert set(rows) == {LABELS[m] for m in LABELS}
    cols = [
        ("synth_charades", "official/R1@0.3"),
        ("synth_charades", "official/R1@0.5"),
        ("synth_charades", "official/R1@0.7"),
        ("synth_charades", "official/mIoU"),
        ("synth_qvh", "official/MR-full-R1@0.5"),
        ("synth_qvh", "official/MR-full-mAP"),
        ("synth_qvh", "official/HL-min-VeryGood-Hit1"),
        ("synth_mcq", "strict/acc"),
    ]
    for model, label in LABELS.items():
        docs = {
            b: json.loads((res / "runs" / model / f"{b}.json").read_text())
            for b in BENCHMARKS
            if (res / "runs" / model / f"{b}.json").is_file()
        }
        assert set(docs) == (
            {"synth_mcq"}
            if model == "text_only"
            else {"synth_charades", "synth_qvh"}
            if model == "constant_span"
            else set(BENCHMARKS)
        )
        for cell, (bench, metric) in zip(rows[label], cols):
            have = docs[bench]["overall"]["micro"].get(metric) if bench in docs else None
            assert cell == ("–" if have is None else f"{_metric(docs[bench], metric):.1f}"), (label, metric)
        for doc in docs.values():  # every held-out sample was answered
            assert doc["overall"]["n_failed"] == 0
    assert (res / "ablation.tex").read_text().count("\\textbf{") >= 1  # best in bold
    assert (res / "deltas_tpo_vs_conversation.png").stat().st_size > 0


def test_checkpoints_record_their_features_and_the_rerun_reuses_everything(demo, capsys):
    from tpo_train.model import read_tpo_spec

    d, res = demo
    spec = read_tpo_spec(d.stage_dir("tpo", 2) / "final").heads["temporal"]
    assert spec.video_features == "hue_blobs_delta" and spec.text_features == "words"
    assert spec.decode_saliency == 0.5
    before = {p: p.stat().st_mtime_ns for p in d.out.glob("runs/*/*/final/tpo_weights.safetensors")}
    d.log.clear()
    d.run()
    assert not [ln for ln in d.log if "training" in ln]  # no stage trained again
    assert {p: p.stat().st_mtime_ns for p in before} == before
