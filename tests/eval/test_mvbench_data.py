"""The 20 real MVBench annotation files load as documented, and the official request is built byte for
byte."""

from collections import Counter
from pathlib import Path

import pytest

from tpo_eval.api import load_samples
from tpo_eval.config import DataPaths, load_benchmark
from tpo_eval.extract.mcq import LETTERS


@pytest.fixture(scope="module")
def loaded(shared_data):
    cfg = load_benchmark("mvbench")
    fam, samples = load_samples(cfg, DataPaths(Path("/nonexistent"), shared_data / "mvbench"))
    return cfg, fam, samples


def test_4000_samples_200_per_task(loaded):
    cfg, _, samples = loaded
    assert len(samples) == 4000
    assert Counter(s.task for s in samples) == {t.name: 200 for t in cfg.tasks}
    assert samples[0].id == "action_sequence/0" and samples[-1].id == "counterfactual_inference/199"


def test_candidate_counts_as_documented(loaded):
    _, _, samples = loaded
    by_task = {}
    for s in samples:
        by_task.setdefault(s.task, Counter())[len(s.choices)] += 1
    for t in (
        "action_antonym",
        "action_count",
        "character_order",
        "object_existence",
        "object_shuffle",
        "state_change",
    ):
        assert set(by_task[t]) == {3}, t
    assert set(by_task["episodic_reasoning"]) == {5}
    assert by_task["counterfactual_inference"][1] == 5  # five single-candidate questions
    assert set(by_task["moving_attribute"]) <= {2, 3, 4}


def test_bounds_only_on_bound_tasks(loaded):
    _, _, samples = loaded
    bound_tasks = {
        "action_sequence",
        "action_prediction",
        "object_interaction",
        "action_localization",
        "episodic_reasoning",
    }
    for s in samples:
        assert (s.media.bound is not None) == (s.task in bound_tasks), s.id
    er = [s for s in samples if s.task == "episodic_reasoning"]
    assert all(s.media.mode == "frames" and s.media.fps == 3.0 for s in er)
    first = next(s for s in samples if s.task == "action_sequence")
    assert first.media.bound == (1.5, 17.1) and first.media.paths[0].endswith(
        "star/Charades_v1_480/ZS9XR.mp4"
    )


def test_gold_index_is_answer_position(loaded, shared_data):
    import json

    _, _, samples = loaded
    items = json.loads((shared_data / "mvbench" / "action_sequence.json").read_text())
    for s, it in zip(samples[:200], items):
        assert s.choices[s.target] == it["answer"]
    assert samples[0].target == items[0]["candidates"].index(items[0]["answer"])


def test_official_prompt_byte_for_byte(loaded):
    cfg, fam, samples = loaded
    p = fam.build_prompt(samples[0], cfg)
    sys_text = (
        "Carefully watch the video and pay attention to the cause and sequence of events, the detail and "
        "movement of objects, and the action and pose of persons. Based on your observations, select the "
        "best option that accurately addresses the question.\n"
    )
    assert p.system == sys_text
    assert p.user == (
        "Question: What happened after the person took the food?\nOptions:\n(A) Ate the medicine.\n"
        "(B) Tidied up the blanket.\n(C) Put down the cup/glass/bottle.\n(D) Took the box.\n"
        "Only give the best option."
    )
    assert p.assistant_prefix == "Best option:("
    # The VideoChat2 conversation the notebook renders from these pieces (roles Human/Assistant, sep '###').
    rendered = (
        f"{p.system}###Human: <Video><VideoHere></Video>\n###Human: {p.system}{p.user}\n"
        f"###Assistant: {p.assistant_prefix}"
    )
    assert rendered.startswith("Carefully watch") and rendered.endswith(
        "Only give the best option.\n###Assistant: Best option:("
    )


def test_lmms_eval_variant_differs(loaded):
    cfg, fam, samples = loaded
    p = fam.build_prompt(samples[0], cfg, "lmms_eval")
    assert p.user.startswith("Question:What happened") and "\nOption:\n(A)" in p.user
    assert p.user.endswith("(D) Took the box.\nOnly give the best option.\n")


def test_letters_cover_options(loaded):
    _, _, samples = loaded
    assert max(len(s.choices) for s in samples) <= len(LETTERS)
