"""Rewrite tests/golden/*.tex from results/paper (run after an intended change to a seed table or the
renderer).

    .venv/bin/python scripts/regen_table_golden.py && git diff tests/golden

tests/eval/test_tables.py compares these files byte for byte with `tpo-eval table NAME --format latex`.
"""

from __future__ import annotations

from pathlib import Path

from tpo_eval.tables import load_table, render

GOLDEN = Path(__file__).resolve().parents[1] / "tests" / "golden"
SEED_TABLES = ("mvbench", "mmiu", "ablation-tasks", "llava-ov")

if __name__ == "__main__":
    GOLDEN.mkdir(parents=True, exist_ok=True)
    for name in SEED_TABLES:
        path = GOLDEN / f"{name}.tex"
        path.write_text(render(load_table(name), "latex"), encoding="utf-8")
        print(f"wrote {path}")
