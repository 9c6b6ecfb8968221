"""Charades-STA ``official`` (TimeChat's extraction and eval_tvg.py) and ``lenient`` side by side: TimeChat's
500-query sample prediction file (its published R@0.3/0.5/0.7 = 9.0/3.4/1.4) and the four whole-benchmark
synthetic answer sets of tests/helpers/tg_cases.py (oracle, constant "0 - 999 seconds", overshoot
"start - start+60 seconds", a seeded jittered model with six phrasings) over the 3720 test queries.

Usage: python scripts/tg_compare_extractors.py [--data ../shared/data/charades_sta] [--clip]
  --clip: score with clip_end_to_duration (ground truth and predictions clipped alike).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
KEYS = ("R1@0.3", "R1@0.5", "R1@0.7", "mIoU")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=REPO / ".." / "shared" / "data" / "charades_sta")
    ap.add_argument("--clip", action="store_true")
    a = ap.parse_args()
    from tests.helpers.tg_cases import CASES, texts
    from tpo_eval.api import load_samples, score_outputs
    from tpo_eval.config import DataPaths, load_benchmark, parse_benchmark
    from tpo_eval.io import load_yaml
    from tpo_eval.types import RawOutput

    cfg = load_benchmark("charades_sta")
    if a.clip:
        raw = load_yaml(cfg.path)
        raw["options"]["clip_end_to_duration"] = True
        cfg = parse_benchmark(raw, cfg.path)
    family, samples = load_samples(cfg, DataPaths(None, a.data / "charades_sta_test.txt"))
    rows = []
    preds = family.read_predictions(a.data / "timechat_tvg_example_pred_file.json", cfg, samples, True)
    covered = [s for s in samples if s.id in preds]
    rows.append(("TimeChat sample (500)", score_outputs(cfg, family, covered, preds).doc))
    for case in CASES:
        outs = {s.id: RawOutput(s.id, text=t) for s, t in zip(samples, texts(case, samples))}
        rows.append((case, score_outputs(cfg, family, samples, outs).doc))
    head = " | ".join(f"{lb} {k}" for lb in ("official", "lenient") for k in KEYS)
    print(f"| answers | n | {head} | parsed official / lenient |")
    print("|" + "---|" * (2 + 2 * len(KEYS) + 1))
    for name, doc in rows:
        m, ov = doc["overall"]["micro"], doc["overall"]
        vals = " | ".join(f"{m[f'{lb}/{k}']:.2f}" for lb in ("official", "lenient") for k in KEYS)
        parsed = f"{ov['n_parsed']['official']} / {ov['n_parsed']['lenient']}"
        print(f"| {name} | {ov['n_total']} | {vals} | {parsed} |")
    print(f"\nclip_end_to_duration: {a.clip} (results 'spans': {rows[-1][1]['spans']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
