"""Training data: readers on the real shared files and on fixtures in each documented layout, bad records with
file and line, templates (seed Tables 8-11), seeded mixtures, and precomputed features."""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from tpo_train.data import rle
from tpo_train.data.examples import DataError, MaskExample, RegionExample, TemporalExample
from tpo_train.data.features import FeatureStore
from tpo_train.data.mixture import SourceShare, make_plan, source_indices
from tpo_train.data.readers import READERS, read_source
from tpo_train.data.templates import (
    REGION_TEMPLATES,
    SEGMENTATION_TEMPLATES,
    TEMPORAL_TEMPLATES,
    TRACKING_TEMPLATES,
    instruction,
    target_text,
)

from ._recipe_helpers import load, tiny_cache, write  # noqa: F401


# ---------------------------------------------------------------------------------------------- real files
def test_qvhighlights_val_real_file(shared_data):
    r = read_source("cgdetr_jsonl", shared_data / "qvhighlights" / "highlight_val_release.jsonl", "qvh")
    assert (len(r.examples), len(r.bad), r.notes) == (1550, 0, ())
    ex = r.examples[0]
    assert (ex.qid, ex.vid, ex.duration, ex.windows) == (
        "2579",
        "NUsG9BgSes0_210.0_360.0",
        150.0,
        ((82.0, 150.0),),
    )
    assert len(ex.saliency) == 34 and ex.saliency[41] == 4.0 and ex.saliency[48] == 7.0  # [1,1,2] and [2,1,4]
    assert ex.origin.line == 1 and r.examples[-1].origin.line == 1550


def test_charades_sta_real_file(shared_data):
    r = read_source("cgdetr_jsonl", shared_data / "charades_sta" / "charades_sta_test_tvr_format.jsonl", "ch")
    assert (len(r.examples), len(r.bad)) == (3720, 0)
    ex = r.examples[0]
    assert (ex.qid, ex.vid, ex.query, ex.duration, ex.windows) == (
        "12404",
        "3MSZA",
        "person turn a light on.",
        30.96,
        ((24.3, 30.4),),
    )
    assert ex.saliency == {}
    # CG-DETR's tvr file clips the 562 windows that end past the video (FORMATS.md §3.2): they end at the
    # duration
    assert sum(e.windows[0][1] == e.duration for e in r.examples) == 562


# ---------------------------------------------------------------------------------------------- fixtures
def test_cgdetr_bad_records_have_file_line_and_reason(tmp_path):
    good = {"qid": 1, "query": "a man", "duration": 10, "vid": "v", "relevant_windows": [[1, 3]]}
    lines = [
        json.dumps(good),
        "{not json",
        json.dumps({**good, "qid": 2, "relevant_windows": [[5, 4]]}),
        "",
        json.dumps({**good, "qid": 3, "duration": "long"}),
        json.dumps({**good, "qid": 4, "relevant_windows": [[8, 12]]}),
        json.dumps([1, 2]),
    ]
    p = write(tmp_path / "t.jsonl", "\n".join(lines) + "\n")
    r = read_source("cgdetr_jsonl", p, "t")
    assert [e.qid for e in r.examples] == ["1", "4"] and r.examples[1].windows == ((8.0, 10.0),)
    assert r.notes == ("1 window end(s) past the video duration clipped to it",)
    assert [(b.origin.line, b.reason.split(":")[0]) for b in r.bad] == [
        (2, "invalid JSON"),
        (3, "window [5, 4] is empty, negative or starts after the duration 10.0"),
        (5, "'duration' must be a number, got 'long'"),
        (7, "expected an object, got list"),
    ]
    assert str(r.bad[0]).startswith(f"{p}:2: invalid JSON")


def test_refcoco_layout(tmp_path):
    rows = [
        {
            "id": 7,
            "image": "a.jpg",
            "width": 200,
            "height": 100,
            "bbox": [20, 10, 50, 40],
            "sentences": ["left dog", "the brown dog"],
        },
        {"image": "b.jpg", "width": 200, "height": 100, "bbox": [190, 10, 50, 40], "expression": "cat"},
        {"image": "c.jpg", "width": 200, "height": 100, "bbox": [1, 1, 5, 5]},
    ]
    p = write(tmp_path / "r.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    r = read_source("refcoco_jsonl", p, "rc", media="/imgs")
    assert [(e.uid, e.expression, e.box, e.image) for e in r.examples] == [
        ("rc/7/0", "left dog", (0.1, 0.1, 0.35, 0.5), "/imgs/a.jpg"),
        ("rc/7/1", "the brown dog", (0.1, 0.1, 0.35, 0.5), "/imgs/a.jpg"),
    ]
    assert [(b.origin.line, b.reason) for b in r.bad] == [
        (2, "bbox [190, 10, 50, 40] is empty or outside the 200x100 image"),
        (3, "needs 'expression' (string) or 'sentences' (non-empty list of strings)"),
    ]


def _square(h, w, y0, x0, s):
    m = np.zeros((h, w), bool)
    m[y0 : y0 + s, x0 : x0 + s] = True
    return m


def test_mevis_layout(tmp_path):
    empty = rle.encode(np.zeros((20, 40), bool))
    masks = {
        "0": [None, rle.encode(_square(20, 40, 5, 10, 4)), rle.encode(_square(20, 40, 6, 11, 4))],
        "1": [rle.encode(_square(20, 40, 0, 0, 2)), None, None],
        "2": [empty, empty, empty],
    }
    meta = {
        "videos": {
            "v1": {
                "frames": ["00000", "00001", "00002"],
                "expressions": {
                    "0": {"exp": "the cat", "obj_id": [0], "anno_id": [0]},
                    "1": {"exp": "both", "obj_id": [0, 1], "anno_id": [0, 1]},
                    "2": {"exp": "ghost", "obj_id": [2], "anno_id": [2]},
                    "3": {"exp": "missing", "obj_id": [9], "anno_id": [9]},
                },
            }
        }
    }
    write(tmp_path / "m" / "meta_expressions.json", json.dumps(meta))
    write(tmp_path / "m" / "mask_dict.json", json.dumps(masks))
    r = read_source("mevis", tmp_path / "m", "mevis", media="/frames")
    cat, both = r.examples
    assert isinstance(cat, MaskExample) and cat.expression == "the cat" and cat.video == "/frames/v1"
    assert (cat.box_frame, cat.box, cat.height, cat.width) == (1, (10 / 40, 5 / 20, 14 / 40, 9 / 20), 20, 40)
    assert (both.box_frame, both.box) == (0, (0.0, 0.0, 2 / 40, 2 / 20)) and len(both.masks[1]) == 1
    assert [(b.origin.line, b.reason) for b in r.bad] == [
        (3, "video v1 expression 2: no frame has a non-empty mask"),
        (4, "video v1 expression 3: anno_id [9] not in mask_dict.json"),
    ]


def test_sav_layout(tmp_path):
    a, b = _square(16, 16, 2, 3, 5), _square(16, 16, 8, 8, 3)
    z = np.zeros((16, 16), bool)
    d = {
        "video_id": "sav_000001",
        "video_height": 16,
        "video_width": 16,
        "masklet": [[rle.encode(a), rle.encode(z)], [rle.encode(a), rle.encode(z)]],
    }
    write(tmp_path / "s" / "sav_000001_manual.json", json.dumps(d))
    write(
        tmp_path / "s" / "sav_000002_manual.json",
        json.dumps({**d, "video_id": "sav_000002", "masklet": [[rle.encode(b)], []]}),
    )
    r = read_source("sav", tmp_path / "s", "sav")
    assert [(e.uid, e.expression, e.frames, e.box) for e in r.examples] == [
        ("sav/sav_000001/0", None, ("00000", "00004"), (3 / 16, 2 / 16, 8 / 16, 7 / 16))
    ]
    assert [(Path(b.origin.path).name, b.origin.line, b.reason) for b in r.bad] == [
        ("sav_000001_manual.json", 2, "object 1: no frame has a non-empty mask"),
        ("sav_000002_manual.json", 1, "'masklet' frames list different numbers of objects"),
    ]


def test_videochat2_it_layout(tmp_path):
    items = [
        {
            "video": "a.mp4",
            "QA": [{"i": "Watch.", "q": "What?", "a": "A dog."}, {"q": "Then?", "a": "Sits."}],
        },
        {"image": "b.png", "QA": [{"q": "Color?", "a": "red"}]},
        {"video": "c.mp4", "QA": [{"q": "x", "a": ""}]},
        {"QA": []},
    ]
    r = read_source("videochat2_it", write(tmp_path / "c.json", json.dumps(items)), "vc", media="/m")
    v, i = r.examples
    assert (v.media, v.media_kind, [t.answer for t in v.turns], v.turns[0].instruction) == (
        "/m/a.mp4",
        "video",
        ["A dog.", "Sits."],
        "Watch.",
    )
    assert (i.media_kind, i.turns[0].question) == ("image", "Color?")
    assert [b.origin.line for b in r.bad] == [3, 4]


def test_missing_file_and_registry():
    r = read_source("cgdetr_jsonl", Path("/nonexistent/x.jsonl"), "x")
    assert r.examples == () and r.bad[0].reason == "file or folder not found"
    assert READERS.names() == ["asv2_video", "cgdetr_jsonl", "mevis", "refcoco_jsonl", "sav", "videochat2_it"]


def test_rle_round_trip_and_known_runs():
    m = np.array([[0, 1, 1], [0, 1, 0]], bool)  # column-major runs: 0,0 | 1,1 | 1 0 → [2, 3, 1]
    assert rle.encode(m, compact=False) == {"size": [2, 3], "counts": [2, 3, 1]}
    assert (rle.decode({"size": [2, 3], "counts": [2, 3, 1]}) == m).all()
    rng = np.random.default_rng(0)
    for _ in range(50):
        x = rng.random((int(rng.integers(1, 40)), int(rng.integers(1, 40)))) < 0.3
        assert (rle.decode(rle.encode(x)) == x).all()
    with pytest.raises(ValueError, match="expected 2x3"):
        rle.decode({"size": [2, 3], "counts": [2, 3]})


# ---------------------------------------------------------------------------------------------- templates
def _temporal():
    from tpo_train.data.examples import Origin

    return TemporalExample("t/1", "t", Origin("f", 1), "1", "v", "a man jumps", 10.0, ((1.0, 3.5),))


def test_templates_are_the_seed_tables():
    assert [
        len(TEMPORAL_TEMPLATES),
        len(TRACKING_TEMPLATES),
        len(REGION_TEMPLATES),
        len(SEGMENTATION_TEMPLATES),
    ] == [5, 10, 10, 7]
    assert TEMPORAL_TEMPLATES[0].startswith(
        "Localize the visual content described by the given textual query"
    )
    assert REGION_TEMPLATES[0] == "Where is {expr}?" and TRACKING_TEMPLATES[7].startswith(
        "Apply an object tracking"
    )
    ex = _temporal()
    draws = [instruction(ex, random.Random(f"0/{k}")) for k in range(200)]
    assert {k for k, _ in draws} == set(range(5))  # every template is used
    assert draws == [instruction(ex, random.Random(f"0/{k}")) for k in range(200)]  # and reproducibly
    assert all("a man jumps" in text for _, text in draws)


def test_targets_and_textualized_targets():
    from tpo_train.data.examples import Origin

    ex = _temporal()
    box = RegionExample("r/1", "r", Origin("f", 1), "i.jpg", "the dog", (0.1, 0.2, 0.5, 0.75), 10, 10)
    track = MaskExample("s/1", "s", Origin("f", 1), "v", None, ("0",), ((),), 4, 4, (0.25, 0.0, 0.5, 1.0))
    assert [target_text(e) for e in (ex, box, track)] == [
        "<time_begin><temp>",
        "<box_begin><boxes>",
        "<track_begin><tracking>",
    ]
    assert target_text(ex, textualize=True) == "The given query happens in 1.0 - 3.5 seconds."
    assert target_text(box, textualize=True) == "The box is [0.100, 0.200, 0.500, 0.750]."
    _, t = instruction(track, random.Random(0))
    assert "<track_box>" in t
    _, t = instruction(track, random.Random(0), textualize=True)
    assert "[0.250, 0.000, 0.500, 1.000]" in t and "<track_box>" not in t


# ---------------------------------------------------------------------------------------------- mixtures
def test_mixture_weights_samples_and_determinism():
    assert source_indices(SourceShare("a", 4, weight=2.5), seed=1, epoch=0).count(0) in (2, 3)
    idx = source_indices(SourceShare("a", 4, weight=2.5), seed=1, epoch=0)
    assert len(idx) == 10 and Counter(idx[:8]) == Counter([0, 1, 2, 3] * 2)  # whole permutations first
    assert len(source_indices(SourceShare("b", 10, weight=0.5), 1, 0)) == 5
    assert len(source_indices(SourceShare("c", 3, samples=7), 1, 0)) == 7
    plan = make_plan(
        {"a": 4, "b": 10, "c": 3},
        {"a": 2.5, "b": 0.5},
        {"c": 7},
        seed=3,
        batch_size=4,
        micro_batch_size=2,
        epochs=2,
    )
    assert (plan.examples_per_epoch, plan.steps_per_epoch, plan.dropped_per_epoch, plan.total_steps) == (
        22,
        5,
        2,
        10,
    )
    again = make_plan(
        {"a": 4, "b": 10, "c": 3},
        {"a": 2.5, "b": 0.5},
        {"c": 7},
        seed=3,
        batch_size=4,
        micro_batch_size=2,
        epochs=2,
    )
    assert [plan.batch(s) for s in range(10)] == [again.batch(s) for s in reversed(range(10))][::-1]
    assert plan.batch(0) != plan.batch(5)  # the second epoch is reshuffled
    other = make_plan(
        {"a": 4, "b": 10, "c": 3},
        {"a": 2.5, "b": 0.5},
        {"c": 7},
        seed=4,
        batch_size=4,
        micro_batch_size=2,
        epochs=2,
    )
    assert [plan.batch(s) for s in range(5)] != [other.batch(s) for s in range(5)]
    counts = Counter(src for s in range(5) for src, _ in plan.batch(s))
    assert sum(counts.values()) == 20 and counts["c"] <= 7
    # ranks split a global batch into disjoint micro-batches whose union is the batch
    for step in range(3):
        r0, r1 = plan.micro_batches(step, 0, 2), plan.micro_batches(step, 1, 2)
        assert len(r0) == len(r1) == 1 and r0[0] + r1[0] == plan.batch(step)
        assert plan.micro_batches(step) == r0 + r1
    with pytest.raises(IndexError):
        plan.batch(10)


def test_load_sources_threshold_and_missing_features(tmp_path):
    good = {"qid": 1, "query": "a", "duration": 4, "vid": "v1", "relevant_windows": [[0, 2]]}
    write(
        tmp_path / "t.jsonl",
        json.dumps(good) + "\n" + json.dumps({**good, "qid": 2, "vid": "v2"}) + "\nbad\n",
    )
    import torch

    (tmp_path / "fv").mkdir()
    torch.save(torch.ones(4, 3), tmp_path / "fv" / "v1.pt")
    src = "data.sources={t: {format: cgdetr_jsonl, path: t.jsonl, features: {video: fv}}}"
    from tpo_train.data.sources import load_sources

    with pytest.raises(DataError) as e:
        load_sources(load("stage1", src, f"data.root={tmp_path}", check_paths=False).data)
    assert f"{tmp_path}/t.jsonl:3: invalid JSON" in str(e.value)
    assert f"{tmp_path}/t.jsonl:2: missing feature file(s): {tmp_path}/fv/v2.*" in str(e.value)
    d = load_sources(
        load("stage1", src, f"data.root={tmp_path}", "data.max_bad_fraction=0.7", check_paths=False).data
    )
    assert [e.qid for e in d.examples["t"]] == ["1"] and d.manifest()["t"]["n_bad"] == 2
    import hashlib

    assert d.hashes["t"] == hashlib.sha256((tmp_path / "t.jsonl").read_bytes()).hexdigest()


@pytest.mark.parametrize("fmt", ["pt", "pt_dict", "npz", "npy"])
def test_feature_files(tmp_path, fmt):
    import torch

    arr = np.arange(12, dtype=np.float32).reshape(4, 3)
    (tmp_path / "v").mkdir()
    (tmp_path / "t").mkdir()
    if fmt == "pt":
        torch.save(torch.from_numpy(arr), tmp_path / "v" / "vid.pt")
    elif fmt == "pt_dict":
        torch.save({"features": torch.from_numpy(arr)}, tmp_path / "v" / "vid.pt")
    elif fmt == "npz":
        np.savez(tmp_path / "v" / "vid.npz", features=arr)
    else:
        np.save(tmp_path / "v" / "vid.npy", arr)
    np.savez(tmp_path / "t" / "qid5.npz", last_hidden_state=arr[:2])
    store = FeatureStore(tmp_path / "v", tmp_path / "t")
    assert store.video("vid").tolist() == arr.tolist() and store.text("5").shape == (2, 3)
    from tpo_train.data.features import FeatureError

    with pytest.raises(FeatureError, match="'other'"):
        store.video("other")
