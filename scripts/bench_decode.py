"""Decoder backends on long videos, measured on this machine.

Generates once (cached in --dir, default ~/.cache/tpo-eval/bench) a 1-minute and a 20-minute 360p H.264
clip (25 fps, B-frames, a keyframe every 5 s, ≈0.8 Mb/s) whose frames spell their own index, then for every
installed backend prints: seconds (wall and CPU) to open the file and sample 16 and 64 frames (segment
midpoints, best of --repeats, page cache warm), whether the frames were exactly the requested ones, peak RSS
(each backend × clip in its own process, so one backend's buffers never inflate another's figure) and the
ratio to the fastest correct backend. Ratios and the order use CPU seconds: every backend decodes on one
thread here, and on a shared machine wall time mostly measures the other tenants.

Usage: python scripts/bench_decode.py [--dir DIR] [--minutes 1 20] [--repeats 3] [--save-auto]
  --save-auto   store the order measured on the longest clip as this machine's ``--decoder auto`` choice
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

FPS, GOP, HEIGHT, WIDTH, MARK = 25, 125, 360, 640, 128
COUNTS = (16, 64)


def clip_path(d: Path, minutes: float) -> Path:
    return d / f"bench_{minutes:g}min_{HEIGHT}p_{FPS}fps_g{GOP}_v2.mp4"


def ensure_clip(d: Path, minutes: float) -> Path:
    from tpo_eval.video.synth import write_bench_video

    p = clip_path(d, minutes)
    if not p.exists():
        t = time.perf_counter()
        print(f"[bench] generating {p.name} (once) …", file=sys.stderr, flush=True)
        write_bench_video(p, minutes * 60, fps=FPS, width=WIDTH, height=HEIGHT, gop=GOP, mark=MARK)
        print(f"[bench] … {time.perf_counter() - t:.0f} s", file=sys.stderr)
    return p


def worker(backend: str, clip: Path, n_frames: int, repeats: int) -> dict:
    """One backend on one clip, in a fresh process: timings, exactness and peak RSS."""
    from tpo_eval.video.decode import open_reader
    from tpo_eval.video.sampling import segment_midpoints
    from tpo_eval.video.synth import read_index

    open_reader(backend, clip).close()  # load the library (and its FFmpeg) before the baseline RSS
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out: dict = {"ok": True, "base_rss_mb": base / 1024}
    for num in COUNTS:
        best, cpu = float("inf"), float("inf")
        for _ in range(repeats):
            t, c = time.perf_counter(), time.process_time()
            r = open_reader(backend, clip)
            idx = segment_midpoints(0, r.num_frames - 1, r.fps, num)
            frames = r.get(idx)
            r.close()
            best, cpu = min(best, time.perf_counter() - t), min(cpu, time.process_time() - c)
        out[f"t{num}"], out[f"cpu{num}"] = best, cpu
        out["ok"] &= r.num_frames == n_frames and [read_index(f, MARK) for f in frames] == idx
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", type=Path, default=Path.home() / ".cache" / "tpo-eval" / "bench")
    ap.add_argument("--minutes", type=float, nargs="+", default=[1, 20])
    ap.add_argument("--backends", nargs="+", default=["decord", "pyav", "torchcodec"])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--save-auto", action="store_true")
    ap.add_argument("--worker", nargs=3, metavar=("BACKEND", "CLIP", "N_FRAMES"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        print(json.dumps(worker(a.worker[0], Path(a.worker[1]), int(a.worker[2]), a.repeats)))
        return

    rows, order = [], []
    for minutes in a.minutes:
        clip = ensure_clip(a.dir, minutes)
        n = int(round(minutes * 60 * FPS))
        res = {}
        for b in a.backends:
            cmd = [sys.executable, __file__, "--repeats", str(a.repeats), "--worker", b, str(clip), str(n)]
            p = subprocess.run(cmd, capture_output=True, text=True)
            if p.returncode:
                res[b] = {"error": (p.stderr.strip().splitlines() or ["failed"])[-1][:80]}
            else:
                res[b] = json.loads(p.stdout.strip().splitlines()[-1])
        ok = [b for b in res if res[b].get("ok")]
        fastest = min((res[b]["cpu16"] for b in ok), default=float("nan"))
        for b, r in res.items():
            if "error" in r:
                rows.append([f"{minutes:g} min", b] + ["-"] * 7 + [r["error"]])
                continue
            rows.append([f"{minutes:g} min", b, f"{r['t16']:.3f}", f"{r['t64']:.3f}", f"{r['cpu16']:.3f}",
                         f"{r['cpu64']:.3f}", f"{r['peak_rss_mb']:.0f}",
                         f"{r['peak_rss_mb'] - r['base_rss_mb']:+.0f}", f"{r['cpu16'] / fastest:.2f}",
                         "exact" if r["ok"] else "WRONG FRAMES"])
        order = sorted(ok, key=lambda b: res[b]["cpu16"])
    from tabulate import tabulate

    print(f"360p H.264, {FPS} fps, GOP {GOP}, B-frames; best of {a.repeats}; open + sample, page cache warm; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (CPU seconds vary less with load)")
    print(tabulate(rows, headers=["clip", "backend", "16 frames s", "64 frames s", "16 CPU s", "64 CPU s",
                                  "peak RSS MB",
                                  "RSS over baseline", "16-frame CPU ratio to fastest", "frames"]))
    print(f"auto order on the {a.minutes[-1]:g}-minute clip: {' > '.join(order) or '(none correct)'}")
    if a.save_auto and order:
        from tpo_eval.video import auto

        auto.save(order, f"bench_decode.py on {clip_path(a.dir, a.minutes[-1]).name}")
        print(f"saved as this machine's --decoder auto order ({auto.cache_dir() / 'decoders.json'})")


if __name__ == "__main__":
    main()
