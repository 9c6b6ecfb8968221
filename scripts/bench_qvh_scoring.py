"""CPU time of our full QVHighlights val scoring of moment_detr's sample_val_preds.jsonl, next to the official
evaluator (moment_detr standalone_eval/eval.py: 11.5 CPU-seconds on this machine class, measured by the issue's
author). Goal: at least 20× less, with the same numbers.

"Full scoring" is everything after imports: reading the GT and the predictions, matching them, extracting every
sample's windows and saliency, the per-query metrics (vectorised) and the official aggregation. The script then
checks every metric of the official metrics file against ours (exit 1 on any difference).

Usage: python scripts/bench_qvh_scoring.py [--data ../shared/data/qvhighlights] [--repeat 5] [--per-sample]
  --per-sample also times the sample-by-sample path (api.score_outputs as of this writing), for comparison.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

OFFICIAL_CPU_S = 11.5
REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=REPO / ".." / "shared" / "data" / "qvhighlights")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--per-sample", action="store_true")
    a = ap.parse_args()
    sys.path.insert(0, str(REPO))
    from tpo_eval.api import load_samples, score_outputs
    from tpo_eval.config import DataPaths, load_benchmark

    pred, ref = a.data / "sample_val_preds.jsonl", a.data / "sample_val_preds_metrics_raw.json"
    if not pred.is_file():
        print(f"error: {pred} not found (pass --data)", file=sys.stderr)
        return 2

    def full_scoring() -> dict:
        cfg = load_benchmark("qvhighlights")
        family, samples = load_samples(cfg, DataPaths(None, a.data))
        outputs = family.read_predictions(pred, cfg, samples, allow_partial=False)
        return family.aggregate(cfg, samples, family.score_all(cfg, samples, outputs))

    times, doc = [], {}
    for _ in range(a.repeat):
        t0 = time.process_time()
        doc = full_scoring()
        times.append(time.process_time() - t0)
    ours = statistics.median(times)
    metrics = {k.split("/", 1)[1]: v for k, v in doc["overall"]["micro"].items()}
    official = json.loads(ref.read_text())["brief"]
    bad = {k: (v, metrics.get(k)) for k, v in official.items() if f"{v:.2f}" != f"{metrics.get(k, float('nan')):.2f}"}
    print(f"QVHighlights val, {doc['overall']['n_total']} queries, sample_val_preds.jsonl")
    print(f"  official evaluator (standalone_eval/eval.py)   {OFFICIAL_CPU_S:8.3f} CPU-s")
    print(f"  tpo-eval full scoring (median of {a.repeat})         {ours:8.3f} CPU-s   "
          f"({min(times):.3f}–{max(times):.3f})")
    print(f"  ratio official / ours                          {OFFICIAL_CPU_S / ours:8.1f}×   (goal ≥ 20×)")
    if a.per_sample:
        cfg = load_benchmark("qvhighlights")
        family, samples = load_samples(cfg, DataPaths(None, a.data))
        outputs = family.read_predictions(pred, cfg, samples, allow_partial=False)
        t0 = time.process_time()
        score_outputs(cfg, family, samples, outputs)
        print(f"  sample-by-sample scoring (api.score_outputs)   {time.process_time() - t0:8.3f} CPU-s")
    print(f"  same numbers as {ref.name}: {'yes, all ' + str(len(official)) if not bad else 'NO ' + str(bad)}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
