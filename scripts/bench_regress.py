"""Time `tpo-eval regress` on MVBench-sized runs: 20 tasks × 200 samples = 4000 paired outcomes.

    .venv/bin/python scripts/bench_regress.py

Prints the in-process time of tpo_eval.regress.compare (binary accuracy, and accuracy + a continuous metric)
and the wall time of the whole CLI command (interpreter start, imports, reading both runs, report).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.eval._synthetic_runs import write_run  # noqa: E402
from tpo_eval.regress import compare  # noqa: E402


def best_of(n: int, fn) -> float:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    rng = np.random.default_rng(0)
    tasks = [f"task{k:02d}" for k in range(20)]
    acc = {t: (rng.random(200) < 0.6).astype(float) for t in tasks}
    iou = {t: rng.random(200) for t in tasks}
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        write_run(
            d / "base",
            {
                "official/acc": {t: v.tolist() for t, v in acc.items()},
                "official/mIoU": {t: v.tolist() for t, v in iou.items()},
            },
        )
        flip = {t: np.where(rng.random(200) < 0.05, 1 - v, v) for t, v in acc.items()}
        write_run(
            d / "cand",
            {
                "official/acc": {t: v.tolist() for t, v in flip.items()},
                "official/mIoU": {t: (v * 0.99).tolist() for t, v in iou.items()},
            },
        )
        t_acc = best_of(3, lambda: compare(d / "cand", d / "base"))
        t_both = best_of(
            3, lambda: compare(d / "cand", d / "base", metrics=["official/acc", "official/mIoU"])
        )
        cli = [
            str(REPO / ".venv" / "bin" / "tpo-eval"),
            "regress",
            str(d / "cand"),
            "--baseline",
            str(d / "base"),
        ]
        t_cli = best_of(3, lambda: subprocess.run(cli, capture_output=True, check=False))
    print(f"compare(), 4000 binary outcomes (McNemar + macro bootstrap): {t_acc:.3f} s")
    print(f"compare(), + 4000 continuous outcomes (bootstrap, 2000 resamples): {t_both:.3f} s")
    print(f"`tpo-eval regress` end to end (new interpreter): {t_cli:.3f} s")


if __name__ == "__main__":
    main()
