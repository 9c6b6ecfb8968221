"""Replays the cases of issue 13 (run directories on clusters, bad inputs) against a source tree and prints
what happened in each, one markdown row per case. Compare two trees (before/after a change):

    python scripts/run_dir_cases.py --tree /work/main > before.md
    python scripts/run_dir_cases.py --tree . > after.md

Every command runs in a subprocess with PYTHONPATH=TREE, on tiny generated videos and the mock models.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tpo_eval.video.decode import write_index_frames, write_index_video  # noqa: E402

TASKS = "action_count,action_localization"


def item(video, i, **kw):
    c = [f"option {k}" for k in range(3)]
    return {"video": video, "question": f"question {i}?", "candidates": c, "answer": c[i % 3], **kw}


class Env:
    def __init__(self, tree: Path, tmp: Path) -> None:
        self.env = dict(os.environ, PYTHONPATH=str(tree), PYTHONWARNINGS="ignore")
        self.tmp, self.n = tmp, 0
        self.root = tmp / "data"
        (self.root / "json").mkdir(parents=True)
        self.write("action_count.json", [item(f"c{i}.mp4", i) for i in range(6)])
        self.write("action_localization.json", [item(f"l{i}.mp4", i, start=0.5, end=3.0) for i in range(4)])
        for i in range(6):
            write_index_video(self.root / "video/perception/videos" / f"c{i}.mp4", 40)
        for i in range(4):
            write_index_video(self.root / "video/sta/sta_video" / f"l{i}.mp4", 40)

    def write(self, name, items, root=None):
        (Path(root or self.root) / "json" / name).write_text(json.dumps(items))

    def out(self) -> Path:
        self.n += 1
        return self.tmp / f"out{self.n}"

    def cmd(self, out=None, *extra, model="mock:random", root=None, tasks=TASKS, prefix=()):
        root = Path(root or self.root)
        c = [
            *prefix,
            "run",
            "mvbench",
            "--model",
            model,
            "--seed",
            "3",
            "--data-root",
            str(root),
            "--annotations",
            str(root / "json"),
            "--tasks",
            tasks,
            "--no-progress",
            *extra,
        ]
        c = [sys.executable, "-m", "tpo_eval.cli", *c] if not prefix else [sys.executable, "-m", *c]
        return c + (["--out", str(out)] if out else [])

    def run(self, c, timeout=300):
        return subprocess.run(c, capture_output=True, text=True, env=self.env, cwd=self.tmp, timeout=timeout)

    def popen(self, c):
        return subprocess.Popen(
            c, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=self.env, cwd=self.tmp
        )


def rows(out: Path) -> list[dict]:
    from tpo_eval.io import read_jsonl  # a torn last line (a writer mid-append) is dropped, not an error

    return [r for p in sorted(out.glob("predictions*.jsonl")) for r in read_jsonl(p)]


def wait_rows(out: Path, n: int, timeout=120):
    end = time.time() + timeout
    while time.time() < end and len(rows(out)) < n:
        time.sleep(0.05)


def workers(out: Path) -> list[int]:
    """Live processes whose command line names ``out`` (torchrun workers outlive a killed launcher)."""
    found = []
    for d in Path("/proc").iterdir():
        try:
            if d.name.isdigit() and str(out) in (d / "cmdline").read_bytes().decode(errors="replace"):
                found.append(int(d.name))
        except OSError:
            pass
    return found


def last_line(r) -> str:
    lines = [
        x for x in (r.stderr or "").splitlines() if x.strip() and not x.startswith(("[tpo-eval]", "results:"))
    ]
    return (lines[-1] if lines else "")[:150].replace("|", "/")


def results(out: Path):
    p = out / "results.json"
    return json.loads(p.read_text()) if p.exists() else None


def acc(doc) -> str:
    return "no results.json" if doc is None else f"{doc['overall']['micro']['official/acc']:.1f} %"


def cases(e: Env):
    # 1. two writers
    out = e.out()
    p = e.popen(e.cmd(out, "--model-arg", "delay=0.3"))
    wait_rows(out, 1)
    r = e.run(e.cmd(out))
    p.wait()
    ids = [x["id"] for x in rows(out)]
    yield (
        "two concurrent runs, one --out",
        f"2nd exit {r.returncode}: {last_line(r) or 'ok'}; {len(ids)} rows, "
        f"{len(ids) - len(set(ids))} repeated",
    )
    out = e.out()
    p = e.popen(e.cmd(out, "--model-arg", "delay=0.3"))
    wait_rows(out, 1)
    p.send_signal(signal.SIGKILL)
    p.wait()
    r = e.run(e.cmd(out))
    yield "rerun after the writer was SIGKILLed", f"exit {r.returncode}, {len(rows(out))} rows"
    # 2. torchrun, shards, merge, launcher kill
    single = e.out()
    e.run(e.cmd(single))
    out = e.out()
    tr = ("torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29731", "-m", "tpo_eval.cli")
    r = e.run(e.cmd(out, prefix=tr))
    same = (
        results(out) is not None
        and results(out)["overall"] == results(single)["overall"]
        and results(out)["tasks"] == results(single)["tasks"]
    )
    yield (
        "torchrun --nproc_per_node 2 (10 samples)",
        f"exit {r.returncode}, {len(rows(out))} rows, results.json "
        f"{'equal to 1 process' if same else acc(results(out))}",
    )
    out = e.out()
    ps = [e.popen(e.cmd(out, "--shard", f"{i}/2", "--model-arg", "delay=0.2")) for i in range(2)]
    [p.wait() for p in ps]
    doc = results(out)
    same = doc is not None and doc["overall"] == results(single)["overall"]
    yield (
        "two concurrent --shard i/2 jobs",
        f"{len(rows(out))} rows, results.json {'equal to 1 process' if same else acc(doc)}",
    )
    (out / "results.json").unlink(missing_ok=True)
    r = e.run([sys.executable, "-m", "tpo_eval.cli", "merge", str(out)])
    yield (
        "tpo-eval merge RUN_DIR",
        f"exit {r.returncode}: {last_line(r) or 'results.json ' + acc(results(out))}",
    )
    out = e.out()
    p = e.popen(e.cmd(out, "--model-arg", "delay=1.0", prefix=tuple(x.replace("29731", "29732") for x in tr)))
    wait_rows(out, 2)
    p.send_signal(signal.SIGKILL)
    p.wait()
    n0 = len(rows(out))
    time.sleep(3)
    alive = len(workers(out))
    time.sleep(5)
    yield (
        "SIGKILL the torchrun launcher (5 rows/rank, 1 s each)",
        f"rows at kill {n0}, 8 s later {len(rows(out))}; workers alive 3 s after: {alive}",
    )
    # 3. reordered annotations, mixed settings, repeated ids
    root = e.tmp / "reorder"
    shutil.copytree(e.root, root)
    out = e.out()
    e.run(e.cmd(out, "--limit", "3", model="mock:oracle", root=root, tasks="action_count"))
    items = json.loads((root / "json/action_count.json").read_text())
    e.write("action_count.json", items[::-1], root)
    r = e.run(e.cmd(out, model="mock:oracle", root=root, tasks="action_count"))
    yield (
        "oracle resumed after reordering annotations",
        f"exit {r.returncode}: {last_line(r) or 'oracle ' + acc(results(out))}",
    )
    a, b, mixed = e.out(), e.out(), e.out()
    e.run(e.cmd(a, "--shard", "0/2", model="mock:oracle"))
    e.run(e.cmd(b, "--shard", "1/2", model="mock:random"))
    mixed.mkdir()
    shutil.copy(a / "predictions.shard0-of2.jsonl", mixed)
    shutil.copy(b / "predictions.shard1-of2.jsonl", mixed)
    score = [
        sys.executable,
        "-m",
        "tpo_eval.cli",
        "score",
        "mvbench",
        "--data-root",
        str(e.root),
        "--annotations",
        str(e.root / "json"),
        "--tasks",
        TASKS,
        "--json",
        "--predictions",
    ]
    r = e.run(score + [str(mixed)])
    got = json.loads(r.stdout)["overall"]["micro"]["official/acc"] if r.returncode == 0 else None
    yield (
        "score RUN_DIR: oracle shard + random shard",
        f"exit {r.returncode}: {last_line(r) or f'{got:.1f} %'}",
    )
    shutil.copy(single / "predictions.jsonl", single / "predictions.shard0-of2.jsonl")
    r = e.run(score + [str(single)])
    yield "score RUN_DIR: one id in two files", f"exit {r.returncode}: {last_line(r) or 'scored'}"
    # 4. retry failed
    root = e.tmp / "retry"
    shutil.copytree(e.root, root)
    v = root / "video/perception/videos/c1.mp4"
    good = v.read_bytes()
    v.write_bytes(b"junk")
    out = e.out()
    e.run(e.cmd(out, model="mock:oracle", root=root, tasks="action_count"))
    v.write_bytes(good)
    r = e.run(e.cmd(out, "--retry-failed", model="mock:oracle", root=root, tasks="action_count"))
    doc = results(out)
    yield (
        "--retry-failed after fixing a video",
        f"exit {r.returncode}: {last_line(r) or ''} n_failed {doc['overall']['n_failed'] if doc else '?'}",
    )
    yield from bad_samples(e)
    yield from exit_codes(e)


def bad_samples(e: Env):
    root = e.tmp / "bad"
    sta = root / "video/sta/sta_video"
    write_index_video(sta / "ok.mp4", 40)
    from PIL import Image

    Image.new("RGB", (32, 32)).save(sta / "still.mp4", format="PNG")
    outside = e.tmp / "outside.mp4"
    write_index_video(outside, 40)
    write_index_frames(root / "video/tvqa/frames_fps3_hq/f0", 12)
    (root / "json").mkdir(parents=True)
    for name, it, task in [
        ("bound start > end", item("ok.mp4", 0, start=3.0, end=1.0), "action_localization"),
        ("bound after the 4 s video", item("ok.mp4", 0, start=6.0, end=9.0), "action_localization"),
        ("end: 1e308", item("ok.mp4", 0, start=0.0, end=1e308), "action_localization"),
        ("still image as video", item("still.mp4", 0, start=0.0, end=1.0), "action_localization"),
        ("video path ../../x", item("../../../../outside.mp4", 0, start=0.0, end=1.0), "action_localization"),
        ("absolute video path", item(str(outside), 0, start=0.0, end=1.0), "action_localization"),
        ("fps: Infinity (frames)", item("f0", 0, start=0.0, end=2.0, fps=float("inf")), "episodic_reasoning"),
    ]:
        e.write(
            f"{task}.json",
            [
                item("ok.mp4", 1, start=0.0, end=3.0)
                if task == "action_localization"
                else item("f0", 1, start=0, end=2),
                it,
            ],
            root,
        )
        out = e.out()
        r = e.run(e.cmd(out, model="mock:oracle", root=root, tasks=task))
        bad = [x for x in rows(out) if x["id"].endswith("/1")]
        err = bad[0]["error"] if bad and bad[0]["error"] else ("no error, scored" if bad else "")
        yield f"bad sample: {name}", f"exit {r.returncode}: {(err or last_line(r))[:110]}"


def exit_codes(e: Env):
    for name, extra, kw in [
        ("--num-frames 0", ["--num-frames", "0"], {}),
        ("--num-frames -4", ["--num-frames", "-4"], {}),
        ("--limit -1", ["--limit", "-1"], {}),
        ("misspelled --model-arg max_new_tokns=2", ["--model-arg", "max_new_tokns=2"], {}),
        ("every sample failed (no videos)", ["--skip-missing"], {"root": e.tmp / "nothing"}),
    ]:
        if "root" in kw:
            shutil.copytree(e.root / "json", kw["root"] / "json", dirs_exist_ok=True)
        r = e.run(e.cmd(e.out(), *extra, tasks="action_count", **kw))
        yield name, f"exit {r.returncode}: {last_line(r) or 'ran'}"
    root = e.tmp / "ann"
    (root / "json").mkdir(parents=True)
    for name, content in [
        ("zero samples ([] annotation)", b"[]"),
        (
            "non-UTF-8 annotation",
            json.dumps([item("c0.mp4", 0)]).encode().replace(b"question", b"qu\xe9stion", 1),
        ),
        ("question: 7 (not a string)", json.dumps([item("c0.mp4", 0) | {"question": 7}]).encode()),
    ]:
        (root / "json/action_count.json").write_bytes(content)
        shutil.copytree(e.root / "video", root / "video", dirs_exist_ok=True)
        r = e.run(e.cmd(e.out(), model="mock:oracle", root=root, tasks="action_count"))
        yield name, f"exit {r.returncode}: {last_line(r) or 'ran'}"
    qvh = Path(__file__).resolve().parents[2] / "shared/data/qvhighlights/highlight_val_release.jsonl"
    if qvh.is_file():
        lines = qvh.read_text().splitlines()[:3]
        ann = e.tmp / "dup.jsonl"
        ann.write_text("\n".join(lines + lines[:1]) + "\n")
        r = e.run(
            [
                sys.executable,
                "-m",
                "tpo_eval.cli",
                "run",
                "qvhighlights",
                "--model",
                "mock:oracle",
                "--annotations",
                str(ann),
                "--data-root",
                str(e.tmp),
                "--skip-missing",
                "--no-progress",
                "--json",
            ]
        )
        n = (
            json.loads(r.stdout)["overall"].get("n_total")
            if r.returncode in (0, 1) and r.stdout.strip()
            else None
        )
        yield (
            "QVHighlights qid listed twice",
            f"exit {r.returncode}: {last_line(r) if n is None else f'n_total {n}'}",
        )
    out = e.out()
    old = os.umask(0o022)
    e.run(e.cmd(out, model="mock:oracle", tasks="action_count"))
    os.umask(old)
    yield "results.json mode (umask 022)", oct((out / "results.json").stat().st_mode & 0o777)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tree", required=True, type=Path, help="source tree to put on PYTHONPATH")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        e = Env(args.tree.resolve(), Path(tmp))
        print(f"| case | {args.tree} |\n|---|---|")
        for name, what in cases(e):
            print(f"| {name} | {what} |", flush=True)


if __name__ == "__main__":
    main()
