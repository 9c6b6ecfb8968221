"""`make demo`: the main job on the embedded default.

Builds a small dataset in MVBench's released format (20 official tasks, synthetic questions, videos whose frames
encode their index), then runs `tpo-eval run mvbench` with the oracle model and the seeded random model into
demo_out/, printing the per-task tables. Rerunning resumes (and finishes instantly).
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "demo_out"


def main() -> int:
    from tpo_eval.standin import make_mvbench_format_dataset

    data = OUT / "mvbench_data"
    if not (data / "json").is_dir():
        print(f"[demo] writing an MVBench-format stand-in dataset to {data}", flush=True)
        make_mvbench_format_dataset(data, per_task=3)
    for model in ("mock:oracle", "mock:random"):
        out = OUT / f"run-{model.replace(':', '-')}"
        cmd = [sys.executable, "-m", "tpo_eval.cli", "run", "mvbench", "--model", model, "--data-root", str(data),
               "--out", str(out)]
        print(f"\n[demo] $ tpo-eval {' '.join(cmd[3:])}", flush=True)
        rc = subprocess.call(cmd)
        if rc:
            return rc
    print(f"\n[demo] results: {OUT}/run-*/results.json (predictions.jsonl beside them)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
