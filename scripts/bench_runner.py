"""Runner overhead, measured in one process on this machine.

Prints two ratios:
  1. wall time of `evaluate` with the oracle model over N generated videos ÷ pure decoding of the same frames
     (same sampler, same decoder, one after the other)            goal ≤ 1.10
  2. re-running a finished run ÷ the first run                     goal ≤ 0.02

Usage: python scripts/bench_runner.py [--videos 120] [--frames 300] [--size 224] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--videos", type=int, default=120)
    ap.add_argument("--frames", type=int, default=300, help="frames per video (10 fps)")
    ap.add_argument("--size", type=int, default=224, help="frame side in pixels")
    ap.add_argument("--repeats", type=int, default=3, help="interleaved repetitions (medians are printed)")
    a = ap.parse_args()

    from tpo_eval.api import RunConfig, evaluate
    from tpo_eval.video.decode import decode, write_index_video
    from tpo_eval.video.sampling import segment_midpoints

    tmp = Path(tempfile.mkdtemp(prefix="bench_runner_"))
    try:
        # One MVBench-format task (action_count: unbound video task) with N questions on N distinct videos.
        root = tmp / "data"
        (root / "json").mkdir(parents=True)
        vids = root / "video" / "perception" / "videos"
        items = []
        for i in range(a.videos):
            write_index_video(vids / f"v{i}.mp4", a.frames, fps=10, size=a.size)
            items.append(
                {"video": f"v{i}.mp4", "question": f"q{i}?", "candidates": ["x", "y", "z"], "answer": "y"}
            )
        (root / "json" / "action_count.json").write_text(json.dumps(items))

        def one(i: int) -> None:
            decode(vids / f"v{i}.mp4", "video", lambda f0, f1, fps: segment_midpoints(f0, f1, fps, 16))

        def pure_decode(threads: int = 1) -> float:
            from concurrent.futures import ThreadPoolExecutor

            t = time.perf_counter()
            if threads == 1:
                for i in range(a.videos):
                    one(i)
            else:  # the runner prefetches on 2 decoder threads; this is the same decoding without the runner
                with ThreadPoolExecutor(threads) as pool:
                    list(pool.map(one, range(a.videos)))
            return time.perf_counter() - t

        pure_decode()  # warm the page cache and the decoder libraries for every measurement alike
        t_dec, t_dec2, t_runs, t_reruns = [], [], [], []
        for rep in range(a.repeats):  # interleaved, median: the machine's load drifts between measurements
            out = tmp / f"run{rep}"
            run = RunConfig(
                "mvbench",
                model="mock:oracle",
                data_root=root,
                tasks=("action_count",),
                out_dir=out,
                progress=False,
            )
            t_dec.append(pure_decode())
            t_dec2.append(pure_decode(2))
            t = time.perf_counter()
            evaluate(run)
            t_runs.append(time.perf_counter() - t)
            t = time.perf_counter()
            evaluate(run)
            t_reruns.append(time.perf_counter() - t)
        t_decode, t_decode2 = statistics.median(t_dec), statistics.median(t_dec2)
        t_run, t_rerun = statistics.median(t_runs), statistics.median(t_reruns)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(
        f"videos: {a.videos} × {a.frames} frames at {a.size}px, 16 frames sampled each; medians of "
        f"{a.repeats}"
    )
    print(f"pure decoding, serial:    {t_decode:8.3f} s")
    print(f"pure decoding, 2 threads: {t_decode2:8.3f} s   (the runner decodes ahead on 2 threads)")
    print(
        f"oracle run (evaluate):    {t_run:8.3f} s   ratio run/serial decode    = {t_run / t_decode:.3f}  "
        "(goal ≤ 1.10)"
    )
    print(f"{'':39}ratio run/2-thread decode  = {t_run / t_decode2:.3f}")
    print(
        f"rerun of finished run:    {t_rerun:8.3f} s   ratio rerun/run            = {t_rerun / t_run:.4f} "
        "(goal ≤ 0.02)"
    )


if __name__ == "__main__":
    main()
