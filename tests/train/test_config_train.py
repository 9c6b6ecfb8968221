"""Training configs: shipped YAMLs, strict parsing with every error at once, overrides, extends, stage
rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tpo_train.config import CONFIG_DIR, ConfigError, apply_overrides, load_config, shipped_configs

from ._recipe_helpers import tiny_cache, write  # noqa: F401

STAGES = ("stage1", "stage2", "stage3_tasks", "stage3")
ABLATIONS = ("ablation_qvh_only_stage2", "ablation_conversation_only", "ablation_mlp_head_stage2") + tuple(
    f"ablation_textualized_{s}" for s in STAGES
)
#: stage 2 as the paper ran it: one config per task schedule (chained by stage2_per_task)
PER_TASK = ("stage2_temporal", "stage2_region", "stage2_mask")
#: stage 2 in one run with the paper's AS-V2 videos (stage2.yaml stays the demo's and tiny configs' base)
PER_TASK_ETC = PER_TASK + ("stage2_interleaved",)
#: the miniature recipe of `tpo-train demo` (tpo_train/demo.py)
DEMO = tuple(
    f"demo_{s}"
    for s in (
        "stage1",
        "stage2",
        "stage3",
        "textualized_stage1",
        "textualized_stage2",
        "textualized_stage3",
        "conversation_only",
        "mlp_stage2",
        "mlp_stage3",
        "qvh_only_stage2",
        "qvh_only_stage3",
    )
)
#: chain → its stages (tpo_train/chain.py): one changed stage 2 then stage 3 as the main recipe, or all stages
CHAINS = {
    "ablation_qvh_only": STAGES[1:],
    "ablation_mlp_head": STAGES[1:],
    "ablation_textualized": STAGES,
    "ablation_no_reasoning": STAGES[2:],
    **{f"ablation_heads_{h}": STAGES[1:3] for h in ("t", "r", "m", "rm")},
    "ablation_no_conversation": STAGES[1:3],
    "stage2_per_task": ("stage2",) * 3,
}
#: chains whose stage configs keep their own names (not <chain>_<stage>)
CHAIN_NAMES = {"stage2_per_task": list(PER_TASK)}


def test_every_shipped_config_parses_and_none_is_skipped():
    from tpo_train.chain import chain_stages, is_chain, load_chain_stage

    found = sorted(p.stem for p in shipped_configs())
    expected = sorted(
        STAGES + tuple(f"{s}_tiny" for s in STAGES) + ABLATIONS + PER_TASK_ETC + tuple(CHAINS) + DEMO
    )
    assert found == expected  # recursive glob: a config in a subfolder would show up here
    for name in found:
        if is_chain(name):
            stages, parent = chain_stages(name)
            cfgs = [load_chain_stage(stages, k, parent, check_paths=False) for k in range(len(stages))]
            assert tuple(c.stage for c in cfgs) == CHAINS[name]
            assert [c.name for c in cfgs] == CHAIN_NAMES.get(name, [f"{name}_{s}" for s in CHAINS[name]])
            assert all(c.init_from == str(Path(p.output_dir) / "final") for p, c in zip(cfgs, cfgs[1:]))
            continue
        cfg = load_config(name, check_paths=False)
        assert cfg.name == name and cfg.stage in STAGES


def test_stage_settings_match_seed_table5():
    s1, s2, s3t, s3 = (load_config(s, check_paths=False) for s in STAGES)
    assert dict(s1.optim.lr) == {"lora": 2e-5} and s1.model.heads == {}
    assert {k: v for k, v in s2.optim.lr.items() if k != "box_encoder"} == {
        "temporal_head": 1e-4,
        "region_head": 1e-4,
        "mask_adapter": 1e-4,
        "temporal_token": 2e-4,
        "region_token": 1e-4,
        "mask_token": 1e-4,
        "lora": 2e-5,
    }
    for c in (s3t, s3):
        assert set(c.optim.lr.values()) == {2e-5} and {"vision_encoder", "connector"} <= set(c.optim.lr)
    for c in (s1, s2, s3t, s3):
        assert (c.optim.weight_decay, c.optim.warmup_ratio, c.optim.schedule) == (0.02, 0.2, "cosine")
        assert (c.optim.eps, c.optim.min_lr_ratio) == (1e-5, 0.05)  # released training_args.bin
        assert (c.model.lora.r, c.model.lora.alpha, c.model.lora.dropout) == (16, 32, 0.1)
        assert c.train.precision == "bf16" and c.optim.grad_clip == 1.0
    assert [c.train.batch_size for c in (s1, s2, s3t, s3)] == [128, 128, 256, 256]
    assert [c.train.epochs for c in (s1, s3t, s3)] == [1, 1, 3]
    # stage 2's 25 / 1 / 3 epochs per task are source weights
    w = {n: s.weight for n, s in s2.data.sources.items()}
    assert {w[n] for n in ("didemo", "queryd", "hirest", "activitynet", "tacos", "nlq")} == {25}
    assert {w[n] for n in ("asv2", "vg", "refcoco", "refcoco+", "refcocog")} == {1} and {
        w["sav"],
        w["mevis"],
    } == {3}
    assert sum(s.samples for s in s1.data.sources.values()) == 150_000  # 50K per task
    assert set(s3.data.sources) - set(s3t.data.sources) == {
        "videochat2_it",
        "sharegpt4o",
        "llava_hound_dpo",
        "sharegpt4v",
    }


def test_every_error_is_reported_at_once(tmp_path):
    bad = write(
        tmp_path / "bad.yaml",
        """
name: bad
stage: stage4
output_dir: out
optm: {}
model: {heads: {region: {los: mse}, sound: {}}, lora: {r: many}}
optim: {lr: {lora: 2e-5, mask_head: 1e-4, tempral_head: 1e-4}}
train: {batch_size: 10, micro_batch_size: 3, loggers: [jsonl, mlflow]}
data: {sources: {x: {format: nope, path: x.jsonl, weight: 0}}}
""",
    )
    with pytest.raises(ConfigError) as e:
        load_config(bad, check_paths=False)
    msg = str(e.value)
    for part in (
        "stage: 'stage4' is not one of",
        "optm: unknown key (did you mean 'optim'?)",
        "model.lora.r: must be int",
        "train.loggers[1]: 'mlflow' is not one of",
    ):
        assert part in msg, msg
    assert len(e.value.errors) == 4  # type errors stop before the semantic pass, which needs typed values

    fixed = (
        bad.read_text()
        .replace("stage4", "stage2")
        .replace("optm: {}\n", "")
        .replace("r: many", "r: 16")
        .replace("mlflow", "tensorboard")
    )
    with pytest.raises(ConfigError) as e:
        load_config(write(tmp_path / "bad2.yaml", fixed), check_paths=False)
    msg = str(e.value)
    for part in (
        "init_from: stage2 starts from a stage1 or stage2 checkpoint",
        "model.heads.region: ",
        "los",
        "model.heads.sound: unknown task",
        "optim.lr.mask_head: SAM2 stays frozen",
        "optim.lr.tempral_head: unknown group",
        "train.batch_size (10) must be a positive multiple",
        "data.sources.x.format: unknown reader 'nope'",
        "data.sources.x: weight must be > 0",
    ):
        assert part in msg, msg
    assert len(e.value.errors) == 8


def test_overrides_types_removal_and_errors():
    cfg = load_config(
        "stage2",
        [
            "optim.lr.lora=1e-5",
            "~model.heads.mask",
            "optim.lr.mask_adapter=null",
            "data.sources.didemo=null",
            "train.max_steps=7",
            "init_from=base",
        ],
        check_paths=False,
    )
    assert cfg.optim.lr["lora"] == 1e-5 and isinstance(
        cfg.optim.lr["lora"], float
    )  # YAML reads "1e-5" as str
    assert "mask" not in cfg.model.heads and "mask_adapter" not in cfg.optim.lr
    assert "didemo" not in cfg.data.sources and cfg.train.max_steps == 7
    errors: list[str] = []
    apply_overrides({"a": 1}, ["novalue", "~b.c", "a.b=2"], errors)
    assert errors == [
        "override 'novalue': expected key=value (e.g. train.max_steps=2)",
        "override '~b.c': no such key to remove",
        "override 'a.b=2': 'a' is not a mapping",
    ]


def test_extends_merges_and_cycles_are_caught(tmp_path):
    write(tmp_path / "a.yaml", "extends: b.yaml\nname: a\n")
    write(tmp_path / "b.yaml", "extends: a.yaml\n")
    with pytest.raises(ConfigError, match="extends cycle"):
        load_config(tmp_path / "a.yaml", check_paths=False)
    cfg = load_config(
        "ablation_qvh_only_stage2", check_paths=False
    )  # extends stage2, removes six sources, adds one
    temporal = {n for n, s in cfg.data.sources.items() if s.format == "cgdetr_jsonl"}
    assert temporal == {"qvhighlights"} and cfg.stage == "stage2" and cfg.optim.lr["temporal_token"] == 2e-4


def test_unknown_config_name_suggests_shipped_ones():
    with pytest.raises(ConfigError, match="Did you mean stage2"):
        load_config("stage22")


def test_stage_chaining_rules(tmp_path):
    with pytest.raises(ConfigError, match="stage1 starts from the base model"):
        load_config("stage1", ["init_from=runs/x"], check_paths=False)
    with pytest.raises(ConfigError, match="does not exist"):
        load_config("stage2", ["model.base=tiny", "data.root=tiny", f"init_from={tmp_path / 'nope'}"])
    # a manifest of the wrong stage, and a mid-stage one
    ck = tmp_path / "ck"
    ck.mkdir()
    man = {
        "kind": "tpo-train-checkpoint",
        "schema_version": 1,
        "stage": "stage3",
        "step": 3,
        "final": False,
        "config": {"model": {"base": "tiny", "heads": {}}},
    }
    (ck / "manifest.json").write_text(json.dumps(man))
    with pytest.raises(ConfigError) as e:
        load_config("stage2", ["model.base=tiny", "data.root=tiny", f"init_from={ck}"])
    assert "is a stage3 checkpoint; stage2 starts from stage1 or stage2" in str(e.value)
    assert "mid-stage checkpoint (step 3)" in str(e.value)
    assert "LoRA settings differ" in str(e.value)
    (ck / "manifest.json").unlink()
    with pytest.raises(ConfigError, match="not a complete checkpoint: no manifest.json"):
        load_config("stage2", ["model.base=tiny", "data.root=tiny", f"init_from={ck}"])


def test_paths_are_checked_unless_structure_only(tmp_path):
    with pytest.raises(ConfigError) as e:
        load_config("stage1", [f"data.root={tmp_path}", f"model.base={tmp_path / 'no_model'}"])
    assert "model.base" in str(e.value) and len([x for x in e.value.errors if "does not exist" in x]) == 7
    load_config("stage1", [f"data.root={tmp_path}", f"model.base={tmp_path / 'no_model'}"], check_paths=False)


def test_textualized_data_trains_no_heads():
    with pytest.raises(ConfigError, match="textualized task data trains no heads"):
        load_config("stage2", ["data.textualize=true", "init_from=base"], check_paths=False)
    cfg = load_config("ablation_textualized_stage3", check_paths=False)
    assert (
        cfg.data.textualize
        and cfg.model.heads == {}
        and set(cfg.optim.lr) == {"vision_encoder", "connector", "lora"}
    )


def test_config_dir_is_packaged():
    assert Path(__file__).resolve().parents[2] / "tpo_train" / "configs" == CONFIG_DIR
