"""A tiny LLaVA-OneVision (built from a config, saved, loaded from disk) runs end to end through `tpo-eval
run`."""

import json

import pytest
from click.testing import CliRunner

from tests.helpers.videos import standin_root
from tpo_eval.cli import main


@pytest.fixture(scope="module")
def tiny_ckpt(tmp_path_factory):
    from tpo_train.tiny import build_tiny_llava_ov

    return build_tiny_llava_ov(tmp_path_factory.mktemp("tiny_ov"), seed=0)


def test_tiny_llava_ov_runs_mvbench(shared_data, tiny_ckpt, tmp_path):
    ann = shared_data / "mvbench"
    tasks = "action_sequence,episodic_reasoning"  # a bound video task and a frame-folder task
    root = standin_root(tmp_path / "data", "mvbench", ann, limit=2, tasks=tasks.split(","))
    out = tmp_path / "run"
    base = [
        "run",
        "mvbench",
        "--model",
        "hf",
        "--ckpt",
        str(tiny_ckpt),
        "--data-root",
        str(root),
        "--annotations",
        str(ann),
        "--tasks",
        tasks,
        "--limit",
        "2",
        "--no-progress",
        "--model-arg",
        "max_new_tokens=8",
    ]
    res = CliRunner().invoke(main, base + ["--out", str(out), "--batch-size", "2"])
    assert res.exit_code == 0, res.output
    doc = json.loads((out / "results.json").read_text())
    assert doc["overall"]["n_total"] == 4 and doc["overall"]["n_failed"] == 0
    prov = doc["provenance"]["model"]
    assert prov["model"] == "hf" and prov["architecture"] == "LlavaOnevisionForConditionalGeneration"
    assert len(prov["checkpoint_sha256"]) == 64
    rows = [json.loads(x) for x in (out / "predictions.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == [
        "action_sequence/0",
        "action_sequence/1",
        "episodic_reasoning/0",
        "episodic_reasoning/1",
    ]
    assert all(r["error"] is None and isinstance(r["output"], str) for r in rows)
    # Greedy decoding is deterministic: a second run into a fresh dir gives identical outputs.
    res = CliRunner().invoke(main, base + ["--out", str(tmp_path / "run2"), "--batch-size", "1"])
    assert res.exit_code == 0, res.output
    rows2 = [json.loads(x) for x in (tmp_path / "run2" / "predictions.jsonl").read_text().splitlines()]
    assert [r["output"] for r in rows2] == [r["output"] for r in rows]


def test_hf_adapter_refuses_non_checkpoint(tmp_path):
    from tpo_eval.models.base import ModelError
    from tpo_eval.models.hf import HFVideoModel

    with pytest.raises(ModelError, match="no config.json"):
        HFVideoModel(ckpt=str(tmp_path))
    with pytest.raises(ModelError, match="needs --ckpt"):
        HFVideoModel(ckpt=None)
