"""`tpo-eval score qvhighlights` imports only what it needs (timings: scripts/bench_qvh_scoring.py)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# Modules the command must not load: the model and video stack, and two extras worth ~0.07 CPU-s together
# (numpy.ma comes with np.unique; tabulate only prints the console table, not --json).
NOT_NEEDED = ("torch", "transformers", "av", "decord", "pandas", "scipy", "matplotlib", "numpy.ma", "tabulate")


def test_score_qvhighlights_imports_only_what_it_needs(shared_data: Path) -> None:
    qvh = shared_data / "qvhighlights"
    code = ("import sys; from tpo_eval.cli import main\n"
            "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
            f"sys.stderr.write('MODULES ' + repr(sorted(m for m in {NOT_NEEDED!r} if m in sys.modules)))")
    r = subprocess.run([sys.executable, "-c", code, "score", "qvhighlights", "--predictions",
                        str(qvh / "sample_val_preds.jsonl"), "--annotations", str(qvh), "--json"],
                       capture_output=True, text=True, cwd=REPO, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stderr.rsplit("MODULES ", 1)[1] == "[]"
    doc = json.loads(r.stdout)
    assert doc["overall"]["micro"]["official/MR-full-R1@0.5"] == 53.94  # and it still scores
