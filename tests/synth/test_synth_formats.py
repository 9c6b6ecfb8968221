"""Every format the world writes is read by the existing readers and benchmark families, unchanged, and a mock
oracle scores 100 through ``tpo-eval run``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from tpo_eval.api import load_samples
from tpo_eval.cli import main as eval_main
from tpo_eval.config import ConfigError, DataPaths, load_benchmark
from tpo_eval.tg.highlight import LEVELS
from tpo_eval.types import RawOutput
from tpo_train.data.readers import read_source
from tpo_train.synth import TRAINING_SOURCES
from tpo_train.tasks.base import reader_tasks


@pytest.mark.parametrize("name", sorted(TRAINING_SOURCES))
def test_training_readers_read_every_source_without_bad_records(root, name):
    src = TRAINING_SOURCES[name]
    r = read_source(src["format"], root / src["path"], name, str(root / src["media"]))
    assert r.bad == () and r.notes == () and len(r.examples) > 0
    ex = r.examples[0]
    assert ex.task == reader_tasks()[src["format"]]
    if ex.task == "temporal":
        assert (root / "videos" / f"{ex.vid}.mp4").is_file() and ex.duration == 4.0
    elif ex.task == "region":
        assert ex.image.endswith(".png") and 0 <= ex.box[0] < ex.box[2] <= 1
    elif ex.task == "mask":
        assert all((root / "frames" / ex.video.rsplit("/", 1)[1] / f"{f}.jpg").is_file() for f in ex.frames)
    else:
        assert ex.media.endswith(".mp4") and ex.turns[0].answer


def test_training_sources_count_what_the_manifest_says(world, root):
    n = {
        name: len(read_source(s["format"], root / s["path"], name, str(root / s["media"])).examples)
        for name, s in TRAINING_SOURCES.items()
    }
    c = world.counts["train"]
    assert n["synth_charades"] == c["charades_queries"] and n["synth_qvh"] == c["qvh_queries"]
    assert n["synth_mcq_it"] == sum(c["mcq"].values()) and n["synth_caption_it"] == c["videos"]
    assert n["synth_mevis"] == c["mevis_objects"] == 3 * c["videos"]


@pytest.mark.parametrize(
    "bench,split",
    [
        ("synth_mcq", "heldout"),
        ("synth_charades", "heldout"),
        ("synth_qvh", "heldout"),
        ("synth_charades", "train"),
    ],
)
def test_benchmark_families_load_each_split(world, root, bench, split):
    cfg = load_benchmark(bench)
    sub = {"synth_mcq": "mcq", "synth_charades": "charades", "synth_qvh": "qvh"}[bench]
    ann = None if split == "heldout" else root / sub / split
    _, samples = load_samples(cfg, DataPaths(root, ann))
    c = world.counts[split]
    expected = {
        "synth_mcq": sum(c["mcq"].values()),
        "synth_charades": c["charades_queries"],
        "synth_qvh": c["qvh_queries"],
    }[bench]
    assert len(samples) == expected > 0
    assert all(s.media.paths[0].endswith(".mp4") and split in s.media.paths[0] for s in samples)
    assert {s.media.paths[0] for s in samples} <= {str(p) for p in (root / "videos").glob(f"{split}_*.mp4")}


def test_train_and_heldout_share_no_video(root):
    vids = {
        split: {
            line.split()[0]
            for line in (root / "charades" / split / "charades_sta.txt").read_text().splitlines()
        }
        for split in ("train", "heldout")
    }
    assert vids["train"] and vids["heldout"] and not vids["train"] & vids["heldout"]


@pytest.mark.parametrize(
    "bench,metric",
    [
        ("synth_mcq", "official/acc"),
        ("synth_charades", "official/R1@0.5"),
        ("synth_qvh", "official/MR-full-R1@0.5"),
    ],
)
def test_mock_oracle_scores_100(root, tmp_path, bench, metric):
    r = CliRunner().invoke(
        eval_main,
        [
            "run",
            bench,
            "--model",
            "mock:oracle",
            "--data-root",
            str(root),
            "--out",
            str(tmp_path / "run"),
            "--json",
        ],
    )
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["overall"]["micro"][metric] == 100.0 and doc["overall"]["n_failed"] == 0


def test_qvh_saliency_is_scored_on_the_worlds_clip_length(root):
    """A curve over 1-s clips: Hit1 equals what the JSONL says at its top clip; the 2-s default cannot place
    the clip ids of an 4-s video (clip 2 and 3 do not exist), which is why the YAML states clip_length."""
    cfg = load_benchmark("synth_qvh")
    fam, samples = load_samples(cfg, DataPaths(root))
    rows = {
        f"heldout/{json.loads(x)['qid']}": json.loads(x)
        for x in (root / "qvh" / "heldout" / "highlight.jsonl").read_text().splitlines()
    }
    outputs, expected = {}, {lv: [] for lv in LEVELS}
    for i, s in enumerate(samples):
        g = rows[s.id]
        top = g["relevant_clip_ids"][i % len(g["relevant_clip_ids"])]
        curve = [1.0 if c == top else 0.0 for c in range(4)]
        outputs[s.id] = RawOutput(s.id, windows=((*g["relevant_windows"][0], 1.0),), saliency=tuple(curve))
        best = max(g["saliency_scores"][g["relevant_clip_ids"].index(top)])
        for lv, lo in LEVELS.items():
            expected[lv].append(best >= lo)
    scores = fam.score_all(cfg, samples, outputs)
    agg = fam.aggregate(cfg, samples, scores)["overall"]["micro"]
    for lv in LEVELS:
        assert agg[f"official/HL-min-{lv}-Hit1"] == round(100 * float(np.mean(expected[lv])), 2)
    assert any(max(c) < 4 for g in rows.values() for c in g["saliency_scores"])  # graded, not all 4
    assert max(c for g in rows.values() for c in g["relevant_clip_ids"]) >= 2


def test_clip_length_must_be_positive(tmp_path):
    text = Path(load_benchmark("synth_qvh").path).read_text().replace("clip_length: 1.0", "clip_length: 0")
    p = tmp_path / "bad_qvh.yaml"
    p.write_text(text)
    with pytest.raises(ConfigError, match="clip_length must be a positive number"):
        load_benchmark(str(p))
