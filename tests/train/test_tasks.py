"""Training tasks are one registered object each: a toy ``count`` head (tests/train/_count_task.py: one
module) trains through the real recipe, logs its loss and reloads from its checkpoint; an incomplete or
clashing task is refused at registration; the built-in tasks keep the public token order."""

from __future__ import annotations

import json

import pytest
import torch

from tpo_train.data.readers import READERS
from tpo_train.tasks import BUILTIN_TASKS, TASKS, Task, TaskError, get_task, register_task, registered
from tpo_train.tasks.base import NEW_TOKENS, check_task, reader_tasks

from . import _count_task as toy
from ._recipe_helpers import load, tiny_cache, write  # noqa: F401

CONFIG = """\
name: count_toy
stage: stage2
init_from: base
output_dir: {out}
seed: 0
model:
  base: tiny
  frames: 4
  heads: {{count: {{hidden: 8}}}}
  head_weights: {{count: 0.5}}
optim:
  lr: {{count_head: 1.0e-2, count_token: 1.0e-3, lora: 2.0e-5}}
train: {{batch_size: 2, micro_batch_size: 2, max_steps: 1, precision: fp32, save_every: null,
        loggers: [jsonl], progress: false}}
data:
  root: {root}
  seed: 0
  sources:
    counts: {{format: count_jsonl, path: counts.jsonl}}
"""


@pytest.fixture
def count_reader():
    with READERS.added("count_jsonl", toy.read_counts):  # the reader, for this test only
        yield


@pytest.fixture
def count_task(monkeypatch):
    """The toy task and its reader registered the way a new task module is: one lazy entry each, by name."""
    from tpo_train.tasks import base

    monkeypatch.setattr(base, "_CHECKED", set(base._CHECKED))  # forgets that it checked count, afterwards
    reader = READERS.added("count_jsonl", "tests.train._count_task:read_counts")
    with reader, TASKS.added("count", "tests.train._count_task:TASK"):
        yield get_task("count")


def _toy_without(*left_out):
    """The toy task's class with ``left_out`` not defined, as a task module that forgot them would be."""
    body = {k: v for k, v in vars(toy.CountTask).items() if k not in left_out and not k.startswith("__")}
    return type("Forgetful", (Task,), body)


def _config(tmp_path):
    rows = [{"text": "three red apples", "count": 3}, {"text": "one dog", "count": 1}]
    write(tmp_path / "data" / "counts.jsonl", "\n".join(json.dumps(r) for r in rows) + "\n")
    cfg = write(tmp_path / "count.yaml", CONFIG.format(out=tmp_path / "run", root=tmp_path / "data"))
    return load(str(cfg))


def test_a_new_task_trains_through_the_recipe_and_logs_its_loss(count_task, tmp_path):
    from tpo_train.model import TPOModel, load_tpo_model
    from tpo_train.recipe import Recipe

    assert reader_tasks()["count_jsonl"] == "count"  # its format feeds it, with no edit to data/readers.py
    rec = Recipe(_config(tmp_path))
    final = rec.run()
    (row,) = rec.history
    # the head's loss reached the log, weighted into the loss the optimiser minimised
    assert row["count_loss"] > 0 and set(row) >= {"loss", "lm_loss", "count_loss", "lr/count_head"}
    assert row["loss"] == pytest.approx(row["lm_loss"] + 0.5 * row["count_loss"], rel=1e-6)
    logged = json.loads((tmp_path / "run" / "metrics.jsonl").read_text().splitlines()[-1])
    assert logged["count_loss"] == pytest.approx(row["count_loss"], rel=1e-9)
    # its head and task token trained (a fresh build from the same spec has the initial values)
    fresh = TPOModel.build(rec.model.spec)
    for group in ("heads.count.mlp.0.weight", "task_tokens.count"):
        trained, init = rec.model.state_dict()[group], fresh.state_dict()[group]
        assert not torch.equal(trained, init), group
    # the built-in tokens keep their ids; the new pair comes after them
    ids = rec.model.token_ids
    builtin = TPOModel.build(rec.model.spec.__class__(base=rec.model.spec.base)).token_ids
    assert {t: ids.trigger[t] for t in BUILTIN_TASKS} == builtin.trigger
    assert ids.new_ids[: len(NEW_TOKENS)] == builtin.new_ids
    assert ids.new_ids[len(NEW_TOKENS) :] == (ids.trigger["count"], ids.placeholder["count"])
    # `tpo-train plan` builds the same model on the meta device (the one builder) and lists the new groups
    from tpo_train.plan import plan_config

    rows = {r["group"]: r for r in plan_config(rec.cfg)["groups"]}
    head = sum(p.numel() for p in rec.model.heads["count"].parameters())
    assert (rows["count_head"]["trainable"], rows["count_head"]["peak_lr"]) == (head, 1e-2)
    assert rows["count_token"]["trainable"] == rec.model.adapter.hidden_size
    # the checkpoint rebuilds the head through the task and decodes with it
    back = load_tpo_model(final)
    assert torch.equal(back.heads["count"].mlp[0].weight, rec.model.heads["count"].mlp[0].weight)
    with torch.no_grad():
        pred = back.heads["count"](torch.zeros(2, back.adapter.hidden_size))
    assert back.heads["count"].decode(pred) == [max(0, round(float(v))) for v in pred]


def test_an_unregistered_head_is_a_config_error(tmp_path):
    from tpo_train.config import ConfigError

    with pytest.raises(ConfigError, match="model.heads.count: unknown task"):
        _config(tmp_path)


def test_a_task_missing_a_piece_fails_at_registration(count_reader):
    # forgetting the collation (the head would never train) or the tokens is an error, before any data
    with pytest.raises(TaskError, match=r"^task class Forgetful is missing collate; every task defines them"):
        register_task(_toy_without("collate"))
    with pytest.raises(TaskError, match=r"is missing build_head, payload, trigger \(str\);"):
        register_task(_toy_without("trigger", "payload", "build_head"))
    with pytest.raises(TaskError, match="is missing collate"):
        _toy_without("collate")()  # a built-in task's module instantiates its class on import: same error
    assert "count" not in TASKS and "count_jsonl" not in reader_tasks()


def test_a_clashing_or_unreadable_task_is_refused(count_reader):
    clash = type("Clash", (toy.CountTask,), {"trigger": "<time_begin>"})
    with pytest.raises(TaskError, match=r"tokens \['<time_begin>'\] are taken"):
        register_task(clash)
    no_reader = type("NoReader", (toy.CountTask,), {"formats": ("nr_jsonl",)})
    with pytest.raises(TaskError, match=r"unknown: \['nr_jsonl'\]"):
        register_task(no_reader)
    other_example = type("Other", (toy.CountTask,), {"name": "other"})
    with pytest.raises(TaskError, match="CountExample needs a field task: str = 'other'"):
        register_task(other_example)
    with registered(toy.CountTask), pytest.raises(KeyError, match="already registered"):
        register_task(toy.CountTask)
    assert "count" not in TASKS


def test_the_builtin_tasks_own_the_public_tokens_and_formats():
    tokens = []
    for name in BUILTIN_TASKS:
        task = get_task(name)
        check_task(task)
        tokens += [task.trigger, task.placeholder]
        assert task.loss_key == f"{name}_loss"
    # the format → task map is the tasks' own ``formats`` plus the LM-only layout, as when spelled out
    assert reader_tasks() == {
        "cgdetr_jsonl": "temporal",
        "refcoco_jsonl": "region",
        "asv2_video": "mask",
        "mevis": "mask",
        "sav": "mask",
        "videochat2_it": "conversation",
    }
    assert sorted(tokens + ["<track_box>"]) == sorted(NEW_TOKENS)
    assert get_task("temporal").needs_inputs and not get_task("region").needs_inputs
