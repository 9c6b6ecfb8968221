"""Start-up time and host memory of a stage's data loading at 10k and 1M records, measured on this machine.

Writes (once, in --dir) a synthetic QVHighlights-like CG-DETR JSONL source of each size (a query of ten words,
a 150 s video, two windows, ten clips with three saliency scores: ~0.4 KB a line), then for each size runs,
each in a fresh process: the first start (``load_sources`` builds the source's Arrow cache: the reader runs
once over the file), the second start (the cache is opened: no parsing) and, with ``--lists``, the former
path (the reader's examples held as Python objects). A start is the stage's data loading up to its first
batch: ``load_sources`` (file sha256 + cache), the step plan and the first batch's ``--batch`` examples.
Printed per run: seconds to import (torch, datasets, tpo_train), to load, to reach the first batch, the
process's RSS after the imports, its peak RSS (``ru_maxrss``) and what grew from the imports to the first
batch: the heap (``RssAnon``) and mapped files (``RssFile``: the memory-mapped table's pages, clean page cache
that ranks on one host share and the kernel can drop); then the ratios 1M / 10k measured in this one run (the
goal: peak RSS <= 1.5x, second start in seconds).

Usage: python scripts/bench_data_scale.py [--dir DIR] [--sizes 10000 1000000] [--batch 128] [--lists]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

WORDS = ("a", "person", "opens", "the", "door", "walks", "to", "kitchen", "pours", "water", "into", "glass")


def write_source(d: Path, n: int) -> Path:
    """``n`` QVHighlights-like records (seeded), written once."""
    p = d / f"qvh_like_{n}.jsonl"
    if p.exists():
        return p
    rng = random.Random(n)
    tmp = p.with_suffix(".tmp")
    with open(tmp, "w") as fh:
        for i in range(n):
            st = rng.randrange(0, 120, 2)
            ids = list(range(st // 2, st // 2 + 10))
            row = {
                "qid": i,
                "query": " ".join(rng.choices(WORDS, k=10)),
                "duration": 150,
                "vid": f"vid{i // 8:07d}_{rng.randrange(0, 600)}.0_{rng.randrange(600, 1200)}.0",
                "relevant_windows": [[st, st + 10], [st + 14, st + 24]],
                "relevant_clip_ids": ids,
                "saliency_scores": [[rng.randrange(5) for _ in range(3)] for _ in ids],
            }
            fh.write(json.dumps(row) + "\n")
    tmp.rename(p)
    return p


def child(path: str, mode: str, batch: int) -> dict:
    """One start, in this (fresh) process; returns its figures."""
    t0 = time.perf_counter()
    import datasets  # noqa: F401 - imported by every mode, so that "load" is the loading alone

    from tpo_train.config import DataCfg, SourceCfg
    from tpo_train.data import sources
    from tpo_train.data.mixture import make_plan
    from tpo_train.data.readers import read_source

    t1 = time.perf_counter()
    rss_import, anon_import, file_import = _rss_now(), _rss_now("RssAnon"), _rss_now("RssFile")
    if mode == "lists":  # the former path: every example a Python object in memory
        sources.read_cached = lambda fmt, p, name, media="", sha256="": read_source(fmt, p, name, media)
    cfg = DataCfg(root="/", sources={"qvh": SourceCfg(format="cgdetr_jsonl", path=path)})
    data = sources.load_sources(cfg)
    t2 = time.perf_counter()
    plan = make_plan(
        {n: len(ex) for n, ex in data.examples.items()},
        {"qvh": 1.0},
        {},
        seed=0,
        batch_size=batch,
        micro_batch_size=batch,
        epochs=1,
    )
    first = [data.examples[src][i] for src, i in plan.batch(0)]
    t3 = time.perf_counter()
    assert len(first) == batch
    return {
        "n": len(data.examples["qvh"]),
        "import_s": t1 - t0,
        "load_s": t2 - t1,
        "first_batch_s": t3 - t2,
        "start_s": t3 - t1,
        "rss_import_mb": rss_import,
        "anon_growth_mb": _rss_now("RssAnon") - anon_import,
        "file_growth_mb": _rss_now("RssFile") - file_import,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _rss_now(kind: str = "VmRSS") -> float:
    """MB of the process's resident memory now: all of it (``VmRSS``), anonymous (``RssAnon``: the heap) or
    file-backed (``RssFile``: mapped files, e.g. the Arrow table's pages in the page cache)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{kind}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run_child(path: Path, mode: str, batch: int, cache: Path) -> dict:
    env = {**os.environ, "TPO_TRAIN_CACHE": str(cache), "OMP_NUM_THREADS": "1"}
    repo = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = repo + os.pathsep + env.get("PYTHONPATH", "")
    cmd = [sys.executable, __file__, "--child", str(path), mode, str(batch)]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if out.returncode:
        sys.exit(f"[bench] {mode} on {path.name} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        print(json.dumps(child(sys.argv[2], sys.argv[3], int(sys.argv[4]))))
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dir", type=Path, default=Path.home() / ".cache" / "tpo_train" / "bench_data")
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 1_000_000])
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lists", action="store_true", help="also measure the former in-memory path")
    a = ap.parse_args()
    a.dir.mkdir(parents=True, exist_ok=True)
    modes = ["build", "cached"] + (["lists"] if a.lists else [])
    res: dict[tuple[int, str], dict] = {}
    for n in a.sizes:
        path = write_source(a.dir, n)
        cache = a.dir / f"cache_{n}"
        shutil.rmtree(cache, ignore_errors=True)  # the first start builds
        for mode in modes:
            r = res[(n, mode)] = run_child(path, mode, a.batch, cache)
            print(
                f"{n:>9} records {mode:>6}: import {r['import_s']:6.2f} s  load {r['load_s']:7.2f} s  "
                f"first batch {r['first_batch_s']:5.2f} s  RSS after imports {r['rss_import_mb']:7.0f} MB  "
                f"peak RSS {r['peak_rss_mb']:7.0f} MB  (at the first batch: heap "
                f"+{r['anon_growth_mb']:.0f} MB, mapped files +{r['file_growth_mb']:.0f} MB; "
                f"{path.stat().st_size / 1e6:.0f} MB source)",
                flush=True,
            )
    lo, hi = min(a.sizes), max(a.sizes)
    print(f"\nratios {hi} / {lo} records (same run):")
    for mode in modes:
        x, y = res[(hi, mode)], res[(lo, mode)]
        grow_x, grow_y = x["peak_rss_mb"] - x["rss_import_mb"], y["peak_rss_mb"] - y["rss_import_mb"]
        rss = x["peak_rss_mb"] / y["peak_rss_mb"]
        print(
            f"  {mode:>6}: start (load + first batch) {x['start_s'] / y['start_s']:6.2f}x "
            f"({y['start_s']:.2f} -> {x['start_s']:.2f} s)  peak RSS {rss:5.2f}x "
            f"({y['peak_rss_mb']:.0f} -> {x['peak_rss_mb']:.0f} MB; above the imports {grow_y:.0f} -> "
            f"{grow_x:.0f} MB)"
        )


if __name__ == "__main__":
    main()
