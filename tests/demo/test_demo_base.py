"""The demo's pretrained base (tpo_train/demo_base.py, demo_pretrain.py): its tokenizer knows the world's
words, and its build is seeded, trains every weight on the train split only and records its held-out score."""

from __future__ import annotations

import hashlib
import json

import pytest

from tests.train._recipe_helpers import tiny_cache  # noqa: F401  (single-threaded torch)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from tpo_train.synth import generate_world

    return generate_world(tmp_path_factory.mktemp("w") / "world", seed=3, preset="tiny").root


def _sha(path):
    return hashlib.sha256((path / "model.safetensors").read_bytes()).hexdigest()


def test_world_words_become_single_tokens(world, tmp_path):
    from transformers import AutoTokenizer

    from tpo_train.demo_base import tokenizer_corpus, world_words
    from tpo_train.tiny import build_tiny_llava_ov

    words = world_words(world)
    assert {"red", "square", "moves", "left", "Options"} <= set(words)
    tok = AutoTokenizer.from_pretrained(
        build_tiny_llava_ov(tmp_path / "b", extra_corpus=tokenizer_corpus(words))
    )
    plain = AutoTokenizer.from_pretrained(build_tiny_llava_ov(tmp_path / "p"))

    def n_tokens(t):
        return sum(len(t(" " + w, add_special_tokens=False)["input_ids"]) for w in words)

    # the vocabulary has room for most of the world's words (512 entries): " red" becomes one token, and the
    # world's words take far fewer tokens than with the test model's tokenizer
    assert len(tok(" red", add_special_tokens=False)["input_ids"]) == 1
    assert len(plain(" red", add_special_tokens=False)["input_ids"]) > 1
    assert n_tokens(tok) < 0.7 * n_tokens(plain)


KW = dict(vision_steps=3, lookup_steps=2, lookup_batch=2, steps=3, mcq=2, answers=2, lookups=2, log_every=3)


@pytest.fixture(scope="module")
def built(world, tmp_path_factory):
    from tpo_train.demo_base import build_demo_base

    return build_demo_base(world, tmp_path_factory.mktemp("base") / "a", **KW)


def test_build_is_seeded_trains_every_weight_and_records_the_held_out_score(world, built, tmp_path):
    from safetensors.torch import load_file

    from tpo_train.demo_base import ORIGIN_FILE, build_demo_base

    a = built
    b = build_demo_base(world, tmp_path / "b", **KW)
    assert _sha(a) == _sha(b)  # same seed, same bytes
    origin = json.loads((a / ORIGIN_FILE).read_text())
    n_heldout = sum(len(json.loads(f.read_text())) for f in (world / "mcq" / "heldout").glob("*.json"))
    assert [e["step"] for e in origin["log"]] == [0, 3]
    assert all(e["heldout"]["n"] == n_heldout for e in origin["log"])
    assert origin["world"]["seed"] == 3 and origin["per_step"] == {"mcq": 2, "answers": 2, "lookups": 2}
    # every weight moved from the random build (vision encoder first, then the whole model)
    from tpo_train.demo_base import tokenizer_corpus, world_words
    from tpo_train.tiny import build_tiny_llava_ov

    rnd = load_file(
        str(
            build_tiny_llava_ov(tmp_path / "r", extra_corpus=tokenizer_corpus(world_words(world)))
            / "model.safetensors"
        )
    )
    trained = load_file(str(a / "model.safetensors"))
    assert set(rnd) == set(trained)
    unchanged = [k for k in rnd if (rnd[k] == trained[k]).all()]
    # SigLIP's post-layernorm is not on LLaVA-OneVision's path (it reads the last encoder layer's states)
    assert unchanged == [f"vision_tower.post_layernorm.{p}" for p in ("bias", "weight")]


def test_a_built_base_trains_a_tpo_stage_and_is_scored_by_tpo_eval(world, built, tmp_path):
    """The seam end to end: the base as ``model.base`` of the demo's stage 1 → a TPO checkpoint → ``tpo-eval
    run synth_mcq --model tpo`` on the held-out split, every question answered and counted."""
    from tpo_eval.api import RunConfig, evaluate
    from tpo_train.config import load_config
    from tpo_train.model import read_tpo_spec
    from tpo_train.recipe import Recipe

    cfg = load_config(
        "demo_stage1",
        [
            f"data.root={world}",
            f"output_dir={tmp_path / 'stage1'}",
            f"model.base={built}",
            "init_from=base",
            "train.max_steps=2",
            "train.batch_size=4",
            "train.micro_batch_size=4",
            "train.progress=false",
        ],
    )
    Recipe(cfg).run()
    ckpt = tmp_path / "stage1" / "final"
    assert read_tpo_spec(ckpt).base == str(built)
    doc = evaluate(
        RunConfig(
            "synth_mcq",
            model="tpo",
            ckpt=str(ckpt),
            data_root=world,
            out_dir=tmp_path / "eval",
            model_args={"max_new_tokens": "6"},
            progress=False,
        )
    )
    n_heldout = sum(len(json.loads(f.read_text())) for f in (world / "mcq" / "heldout").glob("*.json"))
    assert doc["overall"]["n_total"] == n_heldout and doc["overall"]["n_failed"] == 0
    assert doc["provenance"]["model"]["base"] == str(built)


def test_a_missing_shipped_base_names_the_command(monkeypatch):
    from tpo_train import presets

    monkeypatch.setitem(presets.SHIPPED, "nowhere", "no_such_folder")
    with pytest.raises(ValueError, match="tpo-train demo-base --out"):
        presets.materialize("nowhere")


def test_the_shipped_base_is_the_builders_default_recipe_on_another_world():
    """tpo_train/assets/demo_base is what ``tpo-train demo-base`` writes at its defaults, on a world the demo
    never uses (seed 1 vs the demo's 0), and the demo's first stages start from it."""
    import inspect

    from tpo_train.config import load_config
    from tpo_train.demo import Demo
    from tpo_train.demo_base import ORIGIN_FILE, build_demo_base
    from tpo_train.presets import materialize

    folder = materialize("demo_base")
    origin = json.loads((folder / ORIGIN_FILE).read_text())
    defaults = {k: v.default for k, v in inspect.signature(build_demo_base).parameters.items()}
    assert origin["steps"] == defaults["steps"] and origin["lookup_steps"] == defaults["lookup_steps"]
    assert origin["per_step"] == {k: defaults[k] for k in ("mcq", "answers", "lookups")}
    assert origin["world"]["seed"] == 1 != Demo.seed and origin["world"]["preset"] == "demo"
    # what it was shipped for: its own world's held-out MCQ above chance when the build ended
    assert origin["log"][-1]["step"] == origin["steps"] and origin["log"][-1]["heldout"]["acc"] > 0.3
    for config in ("demo_stage1", "demo_stage2"):
        assert load_config(config, ["data.root=tiny", "init_from=base"]).model.base == "demo_base"
