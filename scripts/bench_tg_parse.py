"""How the two Charades-STA text extractors scale with answer length: time at 20 KB over time at 10 KB for
adversarial answers (long whitespace and digit runs, many candidate numbers). Linear code gives ratios near 2,
a quadratic one near 4 (larger sizes mix in CPU-cache effects: from ~100 KB on, times jump once). For
contrast, the literal restatement of TimeChat's regex (the reference's own backtracking,
tests/helpers/timechat_literal.py) is timed on digit runs of 250 and 500 characters.

Timings are the best CPU time of --repeat runs.

Usage: python scripts/bench_tg_parse.py [--repeat 9]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SHAPES: dict[str, Callable[[int], str]] = {
    "spaces": lambda n: " " * n,
    "number+spaces": lambda n: "1" + " " * n,
    "number+spaces+to": lambda n: "1" + " " * n + "to 5 s",
    "digits": lambda n: "1" * n + " x",
    "1- repeated": lambda n: "1-" * (n // 2),
    "start 1 repeated": lambda n: "start 1 " * (n // 8),
    "[1, repeated": lambda n: "[1, " * (n // 4),
    "happen 1 lines": lambda n: "happen 1\n" * (n // 9),
}


def best(fn: Callable[[str], object], text: str, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.process_time()  # CPU time: wall time on a shared machine mostly measures the neighbours
        fn(text)
        times.append(time.process_time() - t)
    return min(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=9)
    a = ap.parse_args()
    from tests.helpers.timechat_literal import extract_time
    from tpo_eval.tg.spans import parse_span
    from tpo_eval.tg.timechat import extract_span

    print(f"{'shape':18s} {'lenient 20KB ms':>16s} {'ratio':>6s} {'official 20KB ms':>17s} {'ratio':>6s}"
          "   (ratio = time at 20 KB / time at 10 KB)")
    worst = 0.0
    for name, make in SHAPES.items():
        row = []
        for fn in (parse_span, extract_span):
            small, large = best(fn, make(10_000), a.repeat), best(fn, make(20_000), a.repeat)
            ratio = large / max(small, 1e-7)
            worst = max(worst, ratio)
            row += [f"{large * 1e3:16.2f}", f"{ratio:6.1f}"]
        print(f"{name:18s} {row[0]} {row[1]} {row[2]:>17s} {row[3]}")
    lit1, lit2 = (best(extract_time, "1" * n + " x", 1) for n in (250, 500))
    print(f"\nliteral TimeChat regex on digit runs: 250 chars {lit1 * 1e3:.1f} ms, "
          f"500 chars {lit2 * 1e3:.1f} ms "
          f"(ratio {lit2 / lit1:.1f} for 2x the length; 4 = quadratic, 8 = cubic)")
    print(f"worst 20KB/10KB ratio of the harness's extractors: {worst:.1f} (2 = linear, 4 = quadratic)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
