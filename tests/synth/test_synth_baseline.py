"""scripts/synth_text_baseline.py reads a world's train/held-out MCQs and grounding files and reports per
type."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tpo_train.synth.questions import TASKS

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "synth_text_baseline.py"


def test_text_baseline_reports_every_task_and_the_span_priors(world, root):
    out = subprocess.run(
        [sys.executable, str(SCRIPT), str(root), "--epochs", "20", "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    doc = json.loads(out.stdout)
    assert doc["mcq_chance"] == 25.0 and doc["n_heldout"] == sum(world.counts["heldout"]["mcq"].values())
    assert set(doc["text_only_heldout"]) == set(TASKS) | {"overall (micro)", "overall (macro)"}
    assert all(0.0 <= v <= 100.0 for v in doc["text_only_heldout"].values())
    assert doc["grounding_constant_span"] == world.baselines["constant_span"]
    assert (
        0.0 < doc["grounding_random_span_heldout_R1@0.5"] < world.baselines["constant_span"]["heldout_R1@0.5"]
    )


def test_text_only_model_takes_a_position_prior_when_there_is_one():
    """The letter features are real: a position prior (the answer always third) is learned from the letter
    alone (the option words say nothing: every word is the answer as often as a distractor). Without the
    letter features this picks the third option for none of the 40 items."""
    from tpo_train.synth.baselines import choose, fit

    words = ["red", "green", "blue", "yellow"]
    items = []
    for i in range(40):
        opts = [words[(i + k) % 4] for k in range(4)]
        items.append({"question": "Which colour?", "candidates": opts, "answer": opts[2], "task": "t"})
    assert choose(items, fit(items, epochs=50)) == [2] * len(items)  # not 0: argmax breaks ties to 0
