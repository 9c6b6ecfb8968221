"""``tpo-train plan`` on the shipped stage configs with the llava-ov-7b preset (meta device, no weights), and
the ``tpo-train`` CLI: validate, plan --json, run, and exit codes."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from tpo_train.cli import main

from ._recipe_helpers import TINY, tiny_cache  # noqa: F401

# LoRA r=16 on Qwen2-7B (hidden 3584, 28 layers, 4 KV heads of 128, MLP 18944, 152128-row lm_head):
# each adapted Linear(i→o) adds r·(i+o) parameters.
_D, _KV, _FF, _V, _R = 3584, 512, 18944, 152128, 16
LORA_7B = _R * (28 * ((_D + _D) + 2 * (_D + _KV) + (_D + _D) + 2 * (_D + _FF) + (_FF + _D)) + (_D + _V))
NO_MASK = ("~model.heads.mask", "optim.lr.mask_adapter=null")


def _plan(*args):
    res = CliRunner().invoke(main, ["plan", *args, "--json"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    plan = json.loads(res.output)
    return plan, {r["group"]: r for r in plan["groups"]}


@pytest.mark.parametrize("stage", ["stage1", "stage3_tasks", "stage3"])
def test_plan_on_the_7b_preset(stage):
    plan, rows = _plan(stage, *([] if stage == "stage1" else NO_MASK))
    assert plan["base"] == "llava-ov-7b" and LORA_7B == 42_861_568
    assert rows["lora"]["trainable"] == LORA_7B and rows["lora"]["peak_lr"] == 2e-5
    assert rows["lora"]["weight_decay"] == 0.02
    if stage == "stage1":
        assert {g for g, r in rows.items() if r["status"] == "trained"} == {"lora"}
        assert {g for g, r in rows.items() if r["status"] == "absent"} == {
            "temporal_head",
            "region_head",
            "mask_head",
            "mask_adapter",
            "new_rows",
        }
        assert rows["vision_encoder"]["status"] == "frozen" and rows["temporal_token"]["status"] == "frozen"
        assert plan["totals"]["trainable"] == LORA_7B
    else:
        trained = {g: r["peak_lr"] for g, r in rows.items() if r["status"] == "trained"}
        assert trained == {
            g: 2e-5
            for g in (
                "vision_encoder",
                "connector",
                "temporal_head",
                "region_head",
                "temporal_token",
                "region_token",
                "mask_token",
                "lora",
                "box_encoder",
            )
        }
        assert rows["temporal_token"]["trainable"] == 3584
        # region head: 3584 → 1792 → 4
        assert rows["region_head"]["trainable"] == 3584 * 1792 + 1792 + 1792 * 4 + 4
        assert rows["vision_encoder"]["params"] == rows["vision_encoder"]["trainable"] > 390_000_000
    assert 7.9e9 < plan["totals"]["params"] < 8.2e9  # LLaVA-OV-7B is ~8.0B parameters


def test_plan_stage2_with_sam2_mask_head():
    """Stage 2 as shipped: SAM2 (hiera-L) frozen, the mask adapter at 1e-4, the temporal token at 2e-4."""
    plan, rows = _plan("stage2")
    trained = {g: r["peak_lr"] for g, r in rows.items() if r["status"] == "trained"}
    assert trained == {
        "temporal_head": 1e-4,
        "region_head": 1e-4,
        "mask_adapter": 1e-4,
        "temporal_token": 2e-4,
        "region_token": 1e-4,
        "mask_token": 1e-4,
        "lora": 2e-5,
        "box_encoder": 1e-4,
    }
    assert rows["mask_head"]["status"] == "frozen" and rows["mask_head"]["params"] > 200_000_000
    assert {"vision_encoder", "connector", "mask_head"} <= {f["module"] for f in plan["frozen"]}
    # the mask adapter: 3584 → 3584 → 3·256 tokens, plus the 3584 → 3584 → 4 box regressor
    assert rows["mask_adapter"]["trainable"] == (_D * _D + _D + _D * 768 + 768) + (_D * _D + _D + _D * 4 + 4)


def test_plan_text_table():
    res = CliRunner().invoke(main, ["plan", "stage1"])
    assert res.exit_code == 0, res.output
    assert "lora            trained      42.86M     42.86M     2e-05   0.02" in res.output


def test_validate_and_run_exit_codes(tmp_path, monkeypatch):
    r = CliRunner()
    res = r.invoke(main, ["validate", "stage2", "--structure-only"])
    assert res.exit_code == 0 and "ok (stage2, 13 sources" in res.output
    res = r.invoke(main, ["validate", "stage2", "optim.lr.mask_head=1e-4", "train.batch_size=7"])
    assert res.exit_code == 2
    assert (
        "SAM2 stays frozen" in res.output
        and "train.batch_size (7)" in res.output
        and "init_from" in res.output
    )
    # the deepspeed launcher appends --local_rank=N: accepted, then the config is checked as usual
    monkeypatch.setenv("LOCAL_RANK", "0")  # what the launcher also sets; restored (removed) after the test
    res = r.invoke(main, ["run", "stage1", "--local_rank=0", "train.batch_size=7"])
    assert res.exit_code == 2 and "train.batch_size (7)" in res.output
    bad = tmp_path / "d"
    (bad / "temporal").mkdir(parents=True)
    (bad / "temporal" / "t.jsonl").write_text('{"qid": 1}\n')
    res = r.invoke(
        main,
        [
            "run",
            "stage1",
            *TINY,
            f"data.root={bad}",
            f"output_dir={tmp_path / 'o'}",
            "data.sources={t: {format: cgdetr_jsonl, path: temporal/t.jsonl}}",
        ],
    )
    assert res.exit_code == 2 and f"{bad}/temporal/t.jsonl:1: 'vid' must be a non-empty string" in res.output
