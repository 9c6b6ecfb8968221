"""Issue 13: run directories that survive clusters: one writer per predictions file, results from torchrun and
independent shards, resume keyed by content, retrying failures, bad samples as counted failures, exit codes.

Everything runs on small synthetic MVBench-format data (tiny generated videos) with the mock models."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from tpo_eval.api import RunConfig, evaluate
from tpo_eval.cli import main
from tpo_eval.families.base import AnnotationError
from tpo_eval.video.decode import write_index_frames, write_index_video

TASKS = ("action_count", "action_localization")


def _item(video, i, **kw):
    cands = [f"option {k}" for k in range(3)]
    return {"video": video, "question": f"question {i}?", "candidates": cands, "answer": cands[i % 3], **kw}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """6 action_count items and 4 bound action_localization items, each on its own 4 s index video."""
    root = tmp_path_factory.mktemp("mvb")
    (root / "json").mkdir()
    count = [_item(f"c{i}.mp4", i) for i in range(6)]
    loc = [_item(f"l{i}.mp4", i, start=0.5, end=3.0) for i in range(4)]
    (root / "json" / "action_count.json").write_text(json.dumps(count))
    (root / "json" / "action_localization.json").write_text(json.dumps(loc))
    for i in range(6):
        write_index_video(root / "video" / "perception" / "videos" / f"c{i}.mp4", 40)
    for i in range(4):
        write_index_video(root / "video" / "sta" / "sta_video" / f"l{i}.mp4", 40)
    return root


def _cfg(root, out=None, **kw):
    kw.setdefault("model", "mock:random")
    kw.setdefault("tasks", TASKS)
    return RunConfig(
        "mvbench", data_root=root, annotations=root / "json", out_dir=out, progress=False, seed=3, **kw
    )


def _cli(root, out, *extra):
    return [
        sys.executable,
        "-m",
        "tpo_eval.cli",
        "run",
        "mvbench",
        "--model",
        "mock:random",
        "--seed",
        "3",
        "--data-root",
        str(root),
        "--annotations",
        str(root / "json"),
        "--tasks",
        ",".join(TASKS),
        "--out",
        str(out),
        "--no-progress",
        *extra,
    ]


def _comparable(doc):
    """A results document without what legitimately differs between launches (times, argv, file names)."""
    doc = json.loads(json.dumps(doc))
    prov = doc["provenance"]
    # runtime and decoder_order: a merge runs no model and decodes nothing
    for k in ("start_time", "end_time", "command", "predictions", "runtime", "decoder_order"):
        prov.pop(k, None)
    prov["git"].pop("dirty")
    return doc


def _wait_rows(path, n, proc, timeout=90):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if path.exists() and path.read_text().count("\n") >= n:
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    raise AssertionError(f"{path}: fewer than {n} rows after {timeout}s")


def _rows(out):
    return [json.loads(x) for p in sorted(out.glob("predictions*.jsonl")) for x in p.read_text().splitlines()]


# ---- 1. one writer per predictions file --------------------------------------------------------------------
def test_second_writer_is_refused_and_a_killed_writer_does_not_block(data, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "results.json").write_text("{}")  # left by an earlier run: stale once new rows land
    first = subprocess.Popen(
        _cli(data, out, "--model-arg", "delay=0.3"), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    _wait_rows(out / "predictions.jsonl", 1, first)
    assert not (out / "results.json").exists()
    second = CliRunner().invoke(main, _cli(data, out)[3:])
    assert second.exit_code == 2
    assert f"host {socket.gethostname()} pid {first.pid}" in second.stderr and "another run" in second.stderr
    first.send_signal(signal.SIGKILL)  # its lock file stays behind, naming a dead process
    first.wait()
    assert (
        (out / ".predictions.jsonl.lock")
        .read_text()
        .startswith(f"host {socket.gethostname()} pid {first.pid}")
    )
    third = CliRunner().invoke(main, _cli(data, out)[3:] + ["--json"])
    assert third.exit_code == 0, third.output
    ids = [r["id"] for r in _rows(out)]
    assert len(ids) == 10 == len(set(ids))
    assert _comparable(json.loads(third.stdout)) == _comparable(evaluate(_cfg(data, tmp_path / "ref")))


# ---- 2. torchrun and independent shards --------------------------------------------------------------------
def _torchrun(root, out, *extra):
    return [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        "2",
        "--master_port",
        str(29500 + os.getpid() % 1000),
        "-m",
        "tpo_eval.cli",
    ] + _cli(root, out, *extra)[3:]


def test_torchrun_and_three_resumed_shards_equal_one_process(data, tmp_path):
    single = evaluate(_cfg(data, tmp_path / "single"))
    out = tmp_path / "tr"
    r = subprocess.run(_torchrun(data, out), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert sorted(p.name for p in out.glob("predictions*.jsonl")) == [
        "predictions.shard0-of2.jsonl",
        "predictions.shard1-of2.jsonl",
    ]
    assert len(_rows(out)) == 10
    assert _comparable(json.loads((out / "results.json").read_text())) == _comparable(single)
    # a run killed part-way: keep the first row of each shard file, then finish with three independent shards
    for p in out.glob("predictions*.jsonl"):
        p.write_text(p.read_text().splitlines()[0] + "\n")
    (out / "results.json").unlink()
    docs = [evaluate(_cfg(data, out, shard_index=i, shard_count=3)) for i in range(3)]
    assert docs[0] == docs[1] == {} and _comparable(docs[2]) == _comparable(single)
    assert len(_rows(out)) == 10
    merged = CliRunner().invoke(main, ["merge", str(out), "--json"])
    assert merged.exit_code == 0, merged.output
    assert _comparable(json.loads(merged.stdout)) == _comparable(single)


def test_killing_the_torchrun_launcher_stops_its_workers(data, tmp_path):
    out = tmp_path / "tr"
    launcher = subprocess.Popen(
        _torchrun(data, out, "--model-arg", "delay=0.5"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    _wait_rows(out / "predictions.shard0-of2.jsonl", 1, launcher)
    pids = [int(p.read_text().split()[3]) for p in out.glob(".predictions.shard*.lock")]
    assert len(pids) == 2
    launcher.send_signal(signal.SIGKILL)
    launcher.wait()
    deadline = time.time() + 20
    while time.time() < deadline and any(Path(f"/proc/{p}").exists() for p in pids):
        time.sleep(0.1)
    assert not any(Path(f"/proc/{p}").exists() for p in pids)
    n = len(_rows(out))
    time.sleep(1.0)
    assert len(_rows(out)) == n < 10 and not (out / "results.json").exists()


# ---- 3. resume keyed by content; score checks the whole directory ------------------------------------------
def test_reordered_annotations_are_refused_not_mixed(data, tmp_path):
    ann = tmp_path / "json"
    shutil.copytree(data / "json", ann)
    out = tmp_path / "run"
    cfg = dict(model="mock:oracle", tasks=("action_count",))
    evaluate(
        RunConfig("mvbench", data_root=data, annotations=ann, out_dir=out, progress=False, limit=3, **cfg)
    )
    items = json.loads((ann / "action_count.json").read_text())
    (ann / "action_count.json").write_text(json.dumps(items[::-1]))
    (out / "results.json").unlink()
    with pytest.raises(RuntimeError, match="other annotation content.*first: action_count/0"):
        evaluate(
            RunConfig("mvbench", data_root=data, annotations=ann, out_dir=out, progress=False, limit=5, **cfg)
        )
    r = CliRunner().invoke(
        main,
        [
            "score",
            "mvbench",
            "--predictions",
            str(out),
            "--data-root",
            str(data),
            "--annotations",
            str(ann),
            "--tasks",
            "action_count",
            "--allow-partial",
        ],
    )
    assert r.exit_code == 2 and "reordered or edited" in r.stderr


def test_score_refuses_mixed_settings_and_repeated_ids(data, tmp_path):
    a = tmp_path / "oracle"
    b = tmp_path / "random"
    evaluate(_cfg(data, a, model="mock:oracle", shard_index=0, shard_count=2))
    evaluate(_cfg(data, b, model="mock:random", shard_index=1, shard_count=2))
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    shutil.copy(a / "predictions.shard0-of2.jsonl", mixed)
    shutil.copy(b / "predictions.shard1-of2.jsonl", mixed)
    args = [
        "score",
        "mvbench",
        "--data-root",
        str(data),
        "--annotations",
        str(data / "json"),
        "--tasks",
        ",".join(TASKS),
    ]
    r = CliRunner().invoke(main, args + ["--predictions", str(mixed)])
    assert r.exit_code == 2 and "mixes predictions made with different settings" in r.stderr
    full = tmp_path / "full"
    evaluate(_cfg(data, full))
    shutil.copy(full / "predictions.jsonl", full / "predictions.shard0-of2.jsonl")
    r = CliRunner().invoke(main, args + ["--predictions", str(full)])
    assert (
        r.exit_code == 2
        and "has two predictions (predictions.jsonl and predictions.shard0-of2.jsonl)" in r.stderr
    )


# ---- 4. retrying failures ----------------------------------------------------------------------------------
def test_failed_rows_are_kept_by_default_and_retried_on_request(data, tmp_path):
    root = tmp_path / "root"
    shutil.copytree(data, root)
    video = root / "video" / "perception" / "videos" / "c1.mp4"
    good = video.read_bytes()
    video.write_bytes(b"not a video")
    out = tmp_path / "run"
    cfg = dict(model="mock:oracle", tasks=("action_count",))
    assert evaluate(_cfg(root, out, **cfg))["overall"]["n_failed"] == 1
    video.write_bytes(good)  # the media is fixed
    r = CliRunner().invoke(main, _cli(root, out)[3:] + ["--model", "mock:oracle", "--tasks", "action_count"])
    assert r.exit_code == 0 and "keeping 1 failed sample(s)" in r.stderr
    assert json.loads((out / "results.json").read_text())["overall"]["n_failed"] == 1
    r = CliRunner().invoke(
        main,
        _cli(root, out)[3:]
        + ["--model", "mock:oracle", "--tasks", "action_count", "--retry-failed", "--json"],
    )
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["overall"]["n_failed"] == 0 and doc["overall"]["micro"]["official/acc"] == 100.0
    rows = _rows(out)
    assert len(rows) == 6 and [r["id"] for r in rows].count("action_count/1") == 1


# ---- 6. bad samples are counted failures with a reason -----------------------------------------------------
def test_bad_samples_become_counted_failures(tmp_path):
    root = tmp_path / "root"
    (root / "json").mkdir(parents=True)
    sta = root / "video" / "sta" / "sta_video"
    write_index_video(sta / "ok.mp4", 40)  # 4 s
    from PIL import Image

    Image.new("RGB", (32, 32)).save(sta / "still.png")
    shutil.copy(sta / "still.png", sta / "still.mp4")
    outside = tmp_path / "outside.mp4"
    write_index_video(outside, 40)
    loc = [
        _item("ok.mp4", 0, start=0.0, end=3.0),
        _item("ok.mp4", 1, start=3.0, end=1.0),  # starts after it ends
        _item("ok.mp4", 2, start=6.0, end=9.0),  # the video is shorter than the bound
        _item("ok.mp4", 3, start=0.0, end=1e308),  # today: OverflowError, the run dies
        _item("still.mp4", 4, start=0.0, end=1.0),  # a still image given as a video
        _item("../../../../outside.mp4", 5, start=0.0, end=1.0),  # escapes the data root
        _item(str(outside), 6, start=0.0, end=1.0),
    ]  # absolute path
    (root / "json" / "action_localization.json").write_text(json.dumps(loc))
    write_index_frames(root / "video" / "tvqa" / "frames_fps3_hq" / "f0", 12)
    (root / "json" / "episodic_reasoning.json").write_text(
        '[{"video": "f0", "question": "q?", "candidates": ["a", "b"], "answer": "a", "start": 0, "end": 2, '
        '"fps": Infinity}]'
    )
    doc = evaluate(
        RunConfig(
            "mvbench",
            model="mock:oracle",
            data_root=root,
            annotations=root / "json",
            tasks=("action_localization", "episodic_reasoning"),
            out_dir=tmp_path / "o",
            progress=False,
        )
    )
    assert doc["tasks"]["action_localization"]["n_failed"] == 6
    assert doc["tasks"]["action_localization"]["official/acc"] == pytest.approx(100 / 7)
    assert doc["tasks"]["episodic_reasoning"]["n_failed"] == 1
    errors = {r["id"]: r["error"] for r in _rows(tmp_path / "o")}
    assert errors["action_localization/0"] is None
    assert "starts after it ends" in errors["action_localization/1"]
    assert "starts after the video ends (4.00 s)" in errors["action_localization/2"]
    assert "bound end 1e+308 is out of range" in errors["action_localization/3"]
    assert "still image" in errors["action_localization/4"]
    assert "outside the data root" in errors["action_localization/5"]
    assert "outside the data root" in errors["action_localization/6"]
    assert "fps inf is not a positive finite number" in errors["episodic_reasoning/0"]


# ---- 8. exit codes and messages ----------------------------------------------------------------------------
def test_exit_codes_and_messages(data, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # runs without --out go to ./runs/<benchmark>-<model>-<time>
    base = [
        "run",
        "mvbench",
        "--model",
        "mock:oracle",
        "--data-root",
        str(data),
        "--annotations",
        str(data / "json"),
        "--tasks",
        "action_count",
        "--no-progress",
    ]
    inv = CliRunner().invoke
    for bad in (["--num-frames", "0"], ["--num-frames", "-4"], ["--limit", "-1"], ["--shard", "3/2"]):
        r = inv(main, base + bad)
        assert r.exit_code == 2, (bad, r.output)
    r = inv(main, base + ["--model-arg", "max_new_tokns=2"])
    assert (
        r.exit_code == 2
        and "'max_new_tokns'" in r.stderr
        and "not an argument of --model mock:oracle" in r.stderr
    )
    # every sample failed: results are written, the exit status says so
    no_videos = base[:5] + [str(tmp_path / "nothing")] + base[6:]
    r = inv(main, no_videos + ["--skip-missing", "--out", str(tmp_path / "f")])
    assert r.exit_code == 1 and "every one of the 6 samples failed" in r.stderr
    old = os.umask(0o022)
    try:
        assert inv(main, base + ["--out", str(tmp_path / "u"), "--model-arg", "delay=0"]).exit_code == 0
    finally:
        os.umask(old)
    assert (tmp_path / "u" / "results.json").stat().st_mode & 0o777 == 0o644
    assert json.loads((tmp_path / "u" / "results.json").read_text())["provenance"]["model_args"] == {
        "delay": "0"
    }
    ann = tmp_path / "json"
    ann.mkdir()
    (ann / "action_count.json").write_text("[]")
    r = inv(main, base[:7] + [str(ann)] + base[8:])
    assert r.exit_code == 2 and "no mvbench samples selected" in r.stderr
    (ann / "action_count.json").write_bytes(
        json.dumps([_item("c0.mp4", 0)]).encode().replace(b"question", b"qu\xe9stion", 1)
    )
    r = inv(main, base[:7] + [str(ann)] + base[8:])
    assert r.exit_code == 2 and "action_count.json: not UTF-8 text (byte 0xe9" in r.stderr
    (ann / "action_count.json").write_text(
        json.dumps([_item("c0.mp4", 0), _item("c1.mp4", 1) | {"question": 7}])
    )
    r = inv(main, base[:7] + [str(ann)] + base[8:])
    assert (
        r.exit_code == 2
        and "action_count.json item 1: field(s) question must be strings, got int" in r.stderr
    )


def test_duplicate_qvhighlights_qid_is_refused(shared_data, tmp_path):
    lines = (shared_data / "qvhighlights" / "highlight_val_release.jsonl").read_text().splitlines()[:3]
    ann = tmp_path / "highlight_val_release.jsonl"
    ann.write_text("\n".join(lines + lines[:1]) + "\n")
    with pytest.raises(
        AnnotationError, match=r"highlight_val_release.jsonl item val/\d+: duplicate sample id"
    ):
        evaluate(
            RunConfig(
                "qvhighlights",
                model="mock:oracle",
                annotations=ann,
                data_root=tmp_path,
                skip_missing=True,
                progress=False,
            )
        )


def test_a_run_that_fails_before_its_first_row_leaves_no_folder(data, tmp_path, monkeypatch):
    """The lock is taken before the model loads (a second writer is refused at once); when the model then
    cannot load or answer, the folder this run created goes again — an existing folder is left as it was."""
    from tpo_eval.models.base import ModelError
    from tpo_eval.models.mock import MockModel

    monkeypatch.setattr(MockModel, "supports", frozenset({"temporal_grounding"}))
    new = tmp_path / "runs" / "fresh"
    with pytest.raises(ModelError, match="cannot answer 'mcq'"):
        evaluate(_cfg(data, new, model="mock:oracle"))
    assert not (tmp_path / "runs").exists()  # the folder and the parent the run made for it
    old = tmp_path / "mine"
    old.mkdir()
    (old / "notes.txt").write_text("kept")
    with pytest.raises(ModelError):
        evaluate(_cfg(data, old, model="mock:oracle"))
    assert sorted(p.name for p in old.iterdir()) == [".predictions.jsonl.lock", "notes.txt"]
