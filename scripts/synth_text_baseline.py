"""Text-only baselines of a synthetic world (tpo_train/synth): how far the question and options alone get.

A logistic regression (numpy only) scores every option from hashed features of the option's words and of
(question word, option word) pairs, trained on the train split's MCQs, and answers each held-out question with
its best-scored option. A balanced world keeps it near chance (25 %). For grounding it prints the random-span
expectation and the best constant span (the one span with the highest train R1@0.5) with its held-out R1@0.5 —
the priors a model's temporal head must beat.

Usage: python scripts/synth_text_baseline.py WORLD_DIR [--epochs 200] [--json]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from tpo_train.synth.baselines import accuracy, choose, fit, load_mcq


def random_span_r1(root: Path, seed: int = 0, draws: int = 200) -> float:
    """Expected R1@0.5 of mock:random's spans (two uniform points in the video, sorted) on held-out
    queries."""
    rng = np.random.default_rng(seed)
    dur = {}
    for line in (root / "charades" / "heldout" / "durations.csv").read_text().splitlines()[1:]:
        vid, length = line.split(",")
        dur[vid] = float(length)
    hits = []
    for line in (root / "charades" / "heldout" / "charades_sta.txt").read_text().splitlines():
        vid, s, e = line.split("##")[0].split()
        a = np.sort(rng.uniform(0, dur[vid], (draws, 2)), axis=1)
        inter = np.clip(np.minimum(a[:, 1], float(e)) - np.maximum(a[:, 0], float(s)), 0, None)
        hull = np.maximum(a[:, 1], float(e)) - np.minimum(a[:, 0], float(s))
        hits.append(float(np.mean(inter / hull >= 0.5)))
    return round(100.0 * float(np.mean(hits)), 2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("world", type=Path)
    ap.add_argument("--epochs", type=int, default=200)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    train, heldout = load_mcq(args.world, "train"), load_mcq(args.world, "heldout")
    w = fit(train, args.epochs)
    manifest = json.loads((args.world / "world.json").read_text())
    doc = {
        "mcq_chance": 25.0,
        "text_only_train": accuracy(train, choose(train, w)),
        "text_only_heldout": accuracy(heldout, choose(heldout, w)),
        "n_train": len(train),
        "n_heldout": len(heldout),
        "grounding_random_span_heldout_R1@0.5": random_span_r1(args.world),
        "grounding_constant_span": manifest["baselines"]["constant_span"],
    }
    if args.json:
        print(json.dumps(doc, indent=2))
        return
    print(f"MCQ chance: 25.00 %  (train {len(train)} questions, held-out {len(heldout)})")
    print(f"{'task':28s} {'text-only train':>16s} {'text-only held-out':>19s}")
    for t in doc["text_only_heldout"]:
        print(f"{t:28s} {doc['text_only_train'][t]:16.2f} {doc['text_only_heldout'][t]:19.2f}")
    span = doc["grounding_constant_span"]
    print(
        f"grounding, held-out R1@0.5: random span {doc['grounding_random_span_heldout_R1@0.5']:.2f}; best "
        f"constant span [{span['start']}, {span['end']}] s {span['heldout_R1@0.5']:.2f} (train "
        f"{span['train_R1@0.5']:.2f})"
    )


if __name__ == "__main__":
    main()
