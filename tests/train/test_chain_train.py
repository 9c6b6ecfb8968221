"""Ablation chains (tpo_train/chain.py): one ``tpo-train run ablation_qvh_only`` trains its stage 2 and then
stage3_tasks and stage3 from it, each stage's parent the previous stage's final checkpoint."""

from __future__ import annotations

import json

from click.testing import CliRunner

from tpo_train.chain import chain_stages, is_chain, load_chain_stage
from tpo_train.checkpoint import read_manifest
from tpo_train.cli import main

from ._recipe_helpers import TINY, TINY_MASK, tiny_cache  # noqa: F401


def test_chain_parents_and_overrides(tmp_path):
    assert is_chain("ablation_mlp_head") and not is_chain("ablation_mlp_head_stage2") and not is_chain("nope")
    stages, parent = chain_stages(
        "ablation_mlp_head", ["init_from=runs/stage1/final", f"output_dir={tmp_path}", "train.max_steps=7"]
    )
    cfgs = [load_chain_stage(stages, k, parent, check_paths=False) for k in range(3)]
    assert [c.output_dir for c in cfgs] == [
        str(tmp_path / f"ablation_mlp_head_{s}") for s in ("stage2", "stage3_tasks", "stage3")
    ]
    assert [c.init_from for c in cfgs] == [
        "runs/stage1/final",
        cfgs[0].output_dir + "/final",
        cfgs[1].output_dir + "/final",
    ]
    assert all(c.train.max_steps == 7 and c.model.heads["temporal"]["kind"] == "mlp" for c in cfgs)


def test_qvh_only_chain_runs_every_stage_in_one_command(tmp_path):
    args = [
        "ablation_qvh_only",
        *TINY,
        TINY_MASK,
        "init_from=base",
        f"output_dir={tmp_path}",
        "train.max_steps=1",
    ]
    plan = CliRunner().invoke(main, ["plan", *args, "--json"])
    assert plan.exit_code == 0, plan.output
    text = plan.stdout[plan.stdout.index("[\n") :]  # deepspeed's import-time warning may precede the JSON
    assert [p["stage"] for p in json.loads(text)] == ["stage2", "stage3_tasks", "stage3"]
    res = CliRunner().invoke(main, ["run", *args])
    assert res.exit_code == 0, res.output
    assert res.output.count("final checkpoint:") == 3
    names = ["ablation_qvh_only_stage2", "ablation_qvh_only_stage3_tasks", "ablation_qvh_only_stage3"]
    mans = [read_manifest(tmp_path / n / "final") for n in names]
    assert [m["stage"] for m in mans] == ["stage2", "stage3_tasks", "stage3"]
    assert [m["config"]["name"] for m in mans] == names
    assert mans[0]["parent"] is None
    for prev, (n, m) in zip(names, zip(names[1:], mans[1:])):
        assert m["parent"]["path"] == str(tmp_path / prev / "final"), n
    formats = {k: s["format"] for k, s in mans[0]["config"]["data"]["sources"].items()}
    assert [k for k, f in formats.items() if f == "cgdetr_jsonl"] == ["qvhighlights"]


def test_a_bad_chain_file_is_a_usage_error(tmp_path):
    bad = tmp_path / "c.yaml"
    bad.write_text("chain:\n  - {config: stage2, extra: 1}\n")
    res = CliRunner().invoke(main, ["validate", str(bad), "--structure-only"])
    assert res.exit_code == 2 and "chain[0]" in res.output
