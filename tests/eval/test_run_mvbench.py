"""End-to-end MVBench runs on the real annotations with generated stand-in videos."""

import json
import signal
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from tests.helpers.videos import standin_root
from tpo_eval.api import MissingMediaError, RunConfig, evaluate
from tpo_eval.cli import main
from tpo_eval.families.base import AnnotationError


@pytest.fixture(scope="module")
def data(shared_data, tmp_path_factory):
    ann = shared_data / "mvbench"
    root = standin_root(tmp_path_factory.mktemp("mvbench"), "mvbench", ann, limit=2)
    return root, ann


def _run(data, out=None, model="mock:oracle", **kw):
    root, ann = data
    return evaluate(
        RunConfig("mvbench", model=model, data_root=root, annotations=ann, out_dir=out, progress=False, **kw)
    )


def test_oracle_is_100_on_both_extractors(data, tmp_path):
    doc = _run(data, tmp_path / "run", limit=2)
    assert doc["overall"]["n_total"] == 40 and doc["overall"]["n_failed"] == 0
    for agg in ("micro", "macro"):
        assert doc["overall"][agg] == {"official/acc": 100.0, "strict/acc": 100.0}
    assert len(doc["tasks"]) == 20
    r = json.loads((tmp_path / "run" / "results.json").read_text())
    prov = r["provenance"]
    assert prov["annotations"]["action_sequence"]["sha256"] and prov["sampler"] == {
        "name": "segment_midpoints",
        "num_frames": 16,
    }
    assert prov["prompt_hash"] and prov["packages"]["torch"] and "start_time" in prov and "end_time" in prov
    rows = [json.loads(x) for x in (tmp_path / "run" / "predictions.jsonl").read_text().splitlines()]
    assert len(rows) == 40 and rows[0]["id"] == "action_sequence/0"
    gold = json.loads((data[1] / "action_sequence.json").read_text())[0]
    assert rows[0]["answers"]["strict"] == gold["candidates"].index(gold["answer"])
    assert rows[0]["scores"] == {"official": {"acc": 1.0}, "strict": {"acc": 1.0}}


def test_random_is_near_chance_and_reproducible(data):
    a = _run(data, model="mock:random", limit=2, seed=7)
    b = _run(data, model="mock:random", limit=2, seed=7)
    assert a["overall"] == b["overall"] and a["tasks"] == b["tasks"]
    acc = a["overall"]["micro"]["strict/acc"]
    # chance over these 40 questions (2–5 options each) is ~31 %; 40 samples leave wide but bounded noise
    assert 10.0 <= acc <= 60.0
    assert a["overall"]["micro"]["official/acc"] == acc  # the mock answers in a form both extractors read


def test_missing_videos_listed_before_any_inference(data, tmp_path):
    root, ann = data
    with pytest.raises(MissingMediaError) as e:
        evaluate(
            RunConfig(
                "mvbench",
                model="mock:oracle",
                data_root=tmp_path / "empty",
                annotations=ann,
                limit=1,
                tasks=("action_sequence", "fine_grained_pose"),
                out_dir=tmp_path / "o",
                progress=False,
            )
        )
    msg = str(e.value)
    assert "2 media file(s) missing" in msg and "ZS9XR.mp4" in msg and "--skip-missing" in msg
    assert not (tmp_path / "o" / "predictions.jsonl").exists()


def test_skip_missing_records_failures(data, tmp_path):
    root, ann = data
    doc = evaluate(
        RunConfig(
            "mvbench",
            model="mock:oracle",
            data_root=tmp_path / "empty",
            annotations=ann,
            limit=1,
            tasks=("action_sequence",),
            skip_missing=True,
            progress=False,
        )
    )
    assert doc["overall"]["n_failed"] == 1 and doc["overall"]["micro"]["official/acc"] == 0.0


def test_corrupt_video_is_a_failure_and_the_run_goes_on(data, tmp_path, capsys):
    root, ann = data
    import shutil

    root2 = tmp_path / "root"
    shutil.copytree(root, root2)
    bad = root2 / "video" / "ssv2_video"
    victim = sorted(bad.iterdir())[0]
    victim.write_bytes(b"this is not a video")
    doc = evaluate(
        RunConfig(
            "mvbench",
            model="mock:oracle",
            data_root=root2,
            annotations=ann,
            limit=2,
            tasks=("action_antonym", "action_count"),
            progress=False,
        )
    )
    assert doc["tasks"]["action_antonym"]["n_failed"] == 1 and doc["tasks"]["action_count"]["n_failed"] == 0
    assert doc["tasks"]["action_antonym"]["official/acc"] == 50.0
    assert victim.name in capsys.readouterr().err


def test_malformed_annotation_names_file_and_item(data, tmp_path):
    root, ann = data
    d = tmp_path / "json"
    d.mkdir()
    items = json.loads((ann / "action_count.json").read_text())[:3]
    del items[1]["answer"]
    (d / "action_count.json").write_text(json.dumps(items))
    with pytest.raises(AnnotationError, match=r"action_count.json item 1: missing field\(s\) answer"):
        evaluate(
            RunConfig(
                "mvbench",
                model="mock:oracle",
                data_root=root,
                annotations=d,
                tasks=("action_count",),
                progress=False,
            )
        )
    (d / "action_count.json").write_text("[{,}")
    with pytest.raises(AnnotationError, match="action_count.json: invalid JSON at line 1"):
        evaluate(
            RunConfig(
                "mvbench",
                model="mock:oracle",
                data_root=root,
                annotations=d,
                tasks=("action_count",),
                progress=False,
            )
        )


def _strip_times(doc):
    doc = json.loads(json.dumps(doc))
    for k in ("start_time", "end_time"):
        doc["provenance"].pop(k)
    # The working tree's dirty flag can flip between the two runs when files are edited meanwhile; the sha
    # stays.
    doc["provenance"]["git"].pop("dirty")
    return doc


def test_sigkill_and_resume_equals_uninterrupted(data, tmp_path):
    root, ann = data
    out = tmp_path / "run"
    cmd = [
        sys.executable,
        "-m",
        "tpo_eval.cli",
        "run",
        "mvbench",
        "--model",
        "mock:oracle",
        "--data-root",
        str(root),
        "--annotations",
        str(ann),
        "--limit",
        "2",
        "--out",
        str(out),
        "--no-progress",
    ]
    subprocess.run(cmd, check=True, capture_output=True)
    reference = _strip_times(json.loads((out / "results.json").read_text()))
    import shutil

    shutil.rmtree(out)
    proc = subprocess.Popen(
        cmd + ["--model-arg", "delay=0.2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    pred = out / "predictions.jsonl"
    deadline = time.time() + 60
    while time.time() < deadline:
        if pred.exists() and pred.read_text().count("\n") >= 8:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    n_before = pred.read_text().count("\n")
    assert 8 <= n_before < 40 and not (out / "results.json").exists()
    r = subprocess.run(cmd, check=True, capture_output=True, text=True)
    assert f"resuming: {n_before} of 40" in r.stderr
    ids = [json.loads(x)["id"] for x in pred.read_text().splitlines()]
    assert len(ids) == 40 == len(set(ids))
    assert _strip_times(json.loads((out / "results.json").read_text())) == reference


def test_torn_last_line_is_repaired_on_resume(data, tmp_path):
    out = tmp_path / "run"
    _run(data, out, limit=1, tasks=("action_count", "action_antonym"))
    pred = out / "predictions.jsonl"
    rows = pred.read_text().splitlines()
    pred.write_text(rows[0] + "\n" + rows[1][:25])  # second row torn mid-write
    (out / "results.json").unlink()
    doc = _run(data, out, limit=1, tasks=("action_count", "action_antonym"))
    assert doc["overall"]["micro"]["official/acc"] == 100.0
    assert [json.loads(x)["id"] for x in pred.read_text().splitlines()] == [
        "action_antonym/0",
        "action_count/0",
    ]


def test_rerun_with_other_settings_is_refused(data, tmp_path):
    out = tmp_path / "run"
    _run(data, out, limit=1, tasks=("action_count",))
    with pytest.raises(RuntimeError, match="other settings"):
        _run(data, out, model="mock:random", limit=1, tasks=("action_count",))


def test_score_external_predictions_and_run_dir(data, tmp_path):
    root, ann = data
    preds = tmp_path / "p.jsonl"
    rows = [{"id": f"action_count/{i}", "output": out} for i, out in enumerate(["A)", "", "zzz"])]
    preds.write_text("\n".join(json.dumps(r) for r in rows))
    items = json.loads((ann / "action_count.json").read_text())
    gold = [it["candidates"].index(it["answer"]) for it in items[:3]]
    res = CliRunner().invoke(
        main,
        [
            "score",
            "mvbench",
            "--predictions",
            str(preds),
            "--annotations",
            str(ann),
            "--tasks",
            "action_count",
            "--allow-partial",
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    t = doc["tasks"]["action_count"]
    assert t["n_total"] == 3 and doc["coverage"]["n_missing"] == 197
    # official: "A)" right iff gold is A; "" always right (quirk); "zzz" wrong. strict: only "A)" can be
    # right.
    assert t["official/acc"] == pytest.approx(100 * ((gold[0] == 0) + 1) / 3)
    assert t["strict/acc"] == pytest.approx(100 * (gold[0] == 0) / 3)
    assert t["n_parsed"] == {"official": 1, "strict": 1}
    res = CliRunner().invoke(
        main,
        [
            "score",
            "mvbench",
            "--predictions",
            str(preds),
            "--annotations",
            str(ann),
            "--tasks",
            "action_count",
        ],
    )
    assert res.exit_code == 2 and "197 of 200 mvbench samples have no prediction" in res.stderr


def test_rescoring_a_run_dir_reproduces_its_results(data, tmp_path):
    out = tmp_path / "run"
    doc = _run(data, out, model="mock:random", limit=2, tasks=("action_count", "state_change"))
    root, ann = data
    res = CliRunner().invoke(
        main,
        [
            "score",
            "mvbench",
            "--predictions",
            str(out),
            "--annotations",
            str(ann),
            "--tasks",
            "action_count,state_change",
            "--allow-partial",
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    again = json.loads(res.stdout)
    assert again["tasks"] == doc["tasks"] and again["overall"] == doc["overall"]


def test_each_sample_is_extracted_and_scored_once(data, tmp_path, monkeypatch):
    """The runner scores a sample when it writes its row; results.json aggregates those recorded scores (the
    same numbers a re-score of the run directory gives, above) without extracting anything again."""
    from tpo_eval.families.mcq import MCQFamily

    calls = {"extract": 0, "score": 0}
    extract, score = MCQFamily.extract, MCQFamily.score_sample

    def counting_extract(self, *a, **kw):
        calls["extract"] += 1
        return extract(self, *a, **kw)

    def counting_score(self, *a, **kw):
        calls["score"] += 1
        return score(self, *a, **kw)

    monkeypatch.setattr(MCQFamily, "extract", counting_extract)
    monkeypatch.setattr(MCQFamily, "score_sample", counting_score)
    doc = _run(data, tmp_path / "run", model="mock:random", limit=2, tasks=("action_count", "state_change"))
    assert doc["overall"]["n_total"] == 4
    assert calls == {"extract": 8, "score": 8}  # 4 samples × 2 extractors, once each
    rows = [json.loads(x) for x in (tmp_path / "run" / "predictions.jsonl").read_text().splitlines()]
    hits = sum(r["scores"]["strict"]["acc"] for r in rows)
    assert doc["overall"]["micro"]["strict/acc"] == pytest.approx(100.0 * hits / 4)


def test_merge_aggregates_recorded_scores_and_rescores_rows_without_them(data, tmp_path):
    """``merge`` builds results.json from the scores the rows carry: a row whose recorded score is changed
    changes the result (nothing is re-extracted), and a row without scores (an older writer) is scored from
    its raw output, so the result is the uninterrupted run's again."""
    from tpo_eval.api import merge

    out = tmp_path / "run"
    doc = _run(data, out, model="mock:oracle", limit=2, tasks=("action_count", "state_change"))
    pred = out / "predictions.jsonl"
    rows = [json.loads(x) for x in pred.read_text().splitlines()]
    rows[0]["scores"]["strict"]["acc"] = 0.0  # recorded, so aggregated as recorded
    del rows[1]["scores"]  # not recorded: scored from the row's output
    pred.write_text("".join(json.dumps(r) + "\n" for r in rows))
    (out / "results.json").unlink()
    merged = merge(out)
    assert merged["overall"]["micro"] == {"official/acc": 100.0, "strict/acc": 75.0}
    rows[0]["scores"]["strict"]["acc"] = 1.0
    pred.write_text("".join(json.dumps(r) + "\n" for r in rows))
    again = merge(out)
    assert again["tasks"] == doc["tasks"] and again["overall"] == doc["overall"]


def test_cli_run_prints_table_and_ls_validate(data, tmp_path, monkeypatch):
    root, ann = data
    monkeypatch.chdir(tmp_path)  # without --out the run is saved under ./runs/<benchmark>-<model>-<time>
    res = CliRunner().invoke(
        main,
        [
            "run",
            "mvbench",
            "--model",
            "mock:oracle",
            "--data-root",
            str(root),
            "--annotations",
            str(ann),
            "--limit",
            "1",
            "--tasks",
            "action_count",
            "--no-progress",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "action_count" in res.stdout and "OVERALL (micro)" in res.stdout and "100.00" in res.stdout
    (saved,) = (tmp_path / "runs").iterdir()
    assert saved.name.startswith("mvbench-mock-oracle-") and (saved / "results.json").is_file()
    assert f"run directory: runs/{saved.name} (no --out given)" in res.stderr
    res = CliRunner().invoke(
        main,
        [
            "run",
            "mvbench",
            "--model",
            "mock:oracle",
            "--data-root",
            str(root),
            "--annotations",
            str(ann),
            "--tasks",
            "action_cuont",
        ],
    )
    assert res.exit_code == 2 and "did you mean 'action_count'" in res.stderr
    res = CliRunner().invoke(main, ["ls"])
    assert res.exit_code == 0 and "mvbench" in res.stdout and "mcq_strict" in res.stdout
    res = CliRunner().invoke(main, ["validate", "mvbench"])
    assert res.exit_code == 0 and "ok    mvbench" in res.stdout


def test_two_shards_equal_one_run(data, tmp_path):
    single = _run(
        data, tmp_path / "single", model="mock:random", limit=2, tasks=("action_count", "state_change")
    )
    out = tmp_path / "sharded"
    first = _run(
        data,
        out,
        model="mock:random",
        limit=2,
        tasks=("action_count", "state_change"),
        shard_index=0,
        shard_count=2,
    )
    assert first == {} and not (out / "results.json").exists()  # shard 1 still owes its half
    last = _run(
        data,
        out,
        model="mock:random",
        limit=2,
        tasks=("action_count", "state_change"),
        shard_index=1,
        shard_count=2,
    )
    assert sorted(p.name for p in out.glob("predictions*.jsonl")) == [
        "predictions.shard0-of2.jsonl",
        "predictions.shard1-of2.jsonl",
    ]
    assert last["tasks"] == single["tasks"] and last["overall"] == single["overall"]
    assert last["sample_ids_sha256"] == single["sample_ids_sha256"]


def test_subset_is_seeded_and_stable(data, tmp_path):
    a = _run(data, model="mock:oracle", subset=1, tasks=("action_count", "state_change"), skip_missing=True)
    b = _run(data, model="mock:oracle", subset=1, tasks=("action_count", "state_change"), skip_missing=True)
    c = _run(
        data,
        model="mock:oracle",
        subset=1,
        subset_seed=1,
        tasks=("action_count", "state_change"),
        skip_missing=True,
    )
    assert a["sample_ids_sha256"] == b["sample_ids_sha256"] != c["sample_ids_sha256"]
    assert a["overall"]["n_total"] == 2
