"""scripts/synth_text_baseline.py reads a world's train/held-out MCQs and grounding files and reports per type."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tpo_train.synth.questions import TASKS

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "synth_text_baseline.py"


def test_text_baseline_reports_every_task_and_the_span_priors(world, root):
    out = subprocess.run([sys.executable, str(SCRIPT), str(root), "--epochs", "20", "--json"], capture_output=True,
                         text=True, check=True)
    doc = json.loads(out.stdout)
    assert doc["mcq_chance"] == 25.0 and doc["n_heldout"] == sum(world.counts["heldout"]["mcq"].values())
    assert set(doc["text_only_heldout"]) == set(TASKS) | {"overall (micro)", "overall (macro)"}
    assert all(0.0 <= v <= 100.0 for v in doc["text_only_heldout"].values())
    assert doc["grounding_constant_span"] == world.baselines["constant_span"]
    assert 0.0 < doc["grounding_random_span_heldout_R1@0.5"] < world.baselines["constant_span"]["heldout_R1@0.5"]
