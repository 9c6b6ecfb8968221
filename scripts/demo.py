"""`make demo`: the whole mission on the embedded default — the synthetic world, tiny TPO trained through
stages 1 → 2 → 3 beside the paper's baselines in miniature, scored by tpo-eval, tabled, plotted and gated.

The work lands in demo_out/ (reused on a rerun: a second `make demo` finishes in seconds); the table, plot and
a copy of every results.json in results/demo/. See tpo_train/demo.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

if __name__ == "__main__":
    from tpo_train.cli import main

    sys.exit(
        main(
            [
                "demo",
                "--out",
                str(ROOT / "demo_out"),
                "--results",
                str(ROOT / "results" / "demo"),
                *sys.argv[1:],
            ]
        )
    )
