"""The ground truth agrees with the pixels: boxes bound masks, every event happens in the rendered frames
exactly in its window, the written files agree with one another, and MCQ answers are balanced in value and
position."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest

from tpo_train.data import rle
from tpo_train.synth.render import background, render
from tpo_train.synth.simulate import plan_clip
from tpo_train.synth.world import COLOURS

from .conftest import SEED


def _jsonl(path):
    return [json.loads(x) for x in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def clips(world):
    st = world.settings
    out = []
    for i in range(st["n_train"]):
        clip = plan_clip(
            np.random.default_rng([SEED, 0, i]),
            f"train_{i:04d}",
            "train",
            st["frames"],
            st["fps"],
            st["size"],
        )
        out.append((clip, render(clip)))
    return out


def test_written_masks_and_boxes_agree(root):
    gt = {g["vid"]: g for g in _jsonl(root / "gt" / "train.jsonl")}
    meta = json.loads((root / "mask" / "mevis_train" / "meta_expressions.json").read_text())["videos"]
    masks = json.loads((root / "mask" / "mevis_train" / "mask_dict.json").read_text())
    checked = 0
    for vid, v in meta.items():
        sav = json.loads((root / "mask" / "sav_train" / f"{vid}_manual.json").read_text())
        for eid, e in v["expressions"].items():
            obj = gt[vid]["objects"][int(eid)]
            assert e["exp"] == f"the {obj['colour']} {obj['shape']}"
            for f, r in enumerate(masks[str(e["anno_id"][0])]):
                box = obj["boxes"][f]
                if r is None:
                    assert box is None
                    continue
                m = rle.decode(r)
                ys, xs = np.nonzero(m)
                x, y, w, h = box  # COCO xywh, tight around the visible pixels
                assert (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1) == (x, y, x + w, y + h)
                assert obj["visible"][f] > 0
                if f % 4 == 0 and int(eid) in sav["masklet_id"]:
                    assert np.array_equal(
                        rle.decode(sav["masklet"][f // 4][sav["masklet_id"].index(int(eid))]), m
                    )
                checked += 1
    assert checked > 100
    for row in _jsonl(root / "region" / "refcoco_train.jsonl"):
        vid, f, i = row["id"].split("/")
        assert row["bbox"] == gt[vid]["objects"][int(i)]["boxes"][int(f)]


def test_events_happen_in_the_rendered_frames_within_their_windows(world, root, clips):
    gt = {g["vid"]: g for g in _jsonl(root / "gt" / "train.jsonl")}
    seen = Counter()
    for clip, r in clips:
        bg = np.round(background(clip)).astype(np.uint8)
        g = gt[clip.vid]
        for k, tr in enumerate(clip.tracks):  # masks are where the frame shows the object's colour (pixels
            for f in range(clip.frames):  # under a faint, fading-in shape drawn later are blended)
                over = [
                    _shape(clip, j, f) for j in range(k + 1, len(clip.tracks)) if clip.tracks[j].alpha[f] > 0
                ]
                pure = r.masks[f, k] & ~np.any(over, axis=0) if over else r.masks[f, k]
                if tr.alpha[f] == 1 and pure.any():
                    assert np.abs(r.frames[f][pure].astype(int) - np.round(tr.rgb[f])).max() <= 1
            assert [o["boxes"] for o in g["objects"]][k] == [
                list(b) if b else None for b in (r.box(f, k) for f in range(clip.frames))
            ]
        for e in clip.events:
            seen[e.kind] += 1
            area = r.shape_area[:, e.obj]
            if e.kind == "appear":  # nothing of it before its start: the frame there is the background
                assert (area[: e.start] == 0).all() and (area[e.start : e.end + 1] > 0).all()
                others = np.zeros((clip.size, clip.size), bool)
                for f in range(e.start):
                    for j in range(len(clip.tracks)):
                        if j != e.obj and r.shape_area[f, j]:
                            others |= _shape(clip, j, f)
                clean = _shape(clip, e.obj, e.end) & ~others
                assert all(np.array_equal(r.frames[f][clean], bg[clean]) for f in range(e.start))
                seen["appear pixels checked"] += int(clean.sum())
            elif e.kind == "disappear":
                assert (area[e.start : e.end] > 0).all() and (area[e.end :] == 0).all()
            elif e.kind == "move":
                tr = clip.tracks[e.obj]
                dx, dy = {"left": (-1, 0), "right": (1, 0), "up": (0, -1), "down": (0, 1)}[e.value]
                step = (tr.x[e.end] - tr.x[e.start]) * dx + (tr.y[e.end] - tr.y[e.start]) * dy
                side = (tr.x[e.end] - tr.x[e.start]) * dy + (tr.y[e.end] - tr.y[e.start]) * dx
                assert step > 0 and side == 0
                # the pixels move too: centroid of the drawn shape, start vs end of the window
                c0, c1 = (np.argwhere(_shape(clip, e.obj, f)).mean(axis=0) for f in (e.start, e.end))
                assert (c1[1] - c0[1]) * dx + (c1[0] - c0[0]) * dy > 0.5 * step
            elif e.kind == "recolour":
                tr = clip.tracks[e.obj]
                assert np.allclose(tr.rgb[e.end], COLOURS[e.value]) and not np.allclose(
                    tr.rgb[e.start], COLOURS[e.value]
                )
        ev = [x for x in g["events"] if x["query"]]
        assert [(x["start"], x["end"]) for x in ev] == [
            (x["start_frame"] / clip.fps, x["end_frame"] / clip.fps) for x in ev
        ]
    assert all(seen[k] for k in ("appear", "disappear", "move", "recolour", "anomaly")), seen
    assert seen["appear pixels checked"] > 100


def _shape(clip, obj, f):
    from tpo_train.synth.render import shape_mask

    tr = clip.tracks[obj]
    return shape_mask(tr.shape, tr.x[f], tr.y[f], tr.size[f], clip.size)


def test_movement_happens_only_inside_move_windows(clips):
    for clip, _ in clips:
        for k, tr in enumerate(clip.tracks):
            moving = np.zeros(clip.frames, bool)
            for e in clip.events:
                if e.obj == k and (e.kind == "move" or (e.kind == "anomaly" and e.value == "jump")):
                    moving[e.start + 1 : e.end + 1] = True
            still = ~moving[1:]
            assert (np.diff(tr.x)[still] == 0).all() and (np.diff(tr.y)[still] == 0).all()


def test_charades_txt_lists_the_gt_events(root):
    for split in ("train", "heldout"):
        lines = (root / "charades" / split / "charades_sta.txt").read_text().splitlines()
        events = [
            (g["vid"], x) for g in _jsonl(root / "gt" / f"{split}.jsonl") for x in g["events"] if x["query"]
        ]
        assert [f"{v} {x['start']:.2f} {x['end']:.2f}##{x['query']}." for v, x in events] == lines


def test_mcq_values_are_balanced_and_options_sorted(world, root):
    total = Counter()
    for split in ("train", "heldout"):
        for task, n in world.counts[split]["mcq"].items():
            items = json.loads((root / "mcq" / split / f"{task}.json").read_text())
            assert len(items) == n > 0
            for it in items:
                assert len(it["candidates"]) == 4 == len(set(it["candidates"]))
                assert it["candidates"] == sorted(it["candidates"])  # world version 3: alphabetical
            pos = Counter(it["candidates"].index(it["answer"]) for it in items)
            if task in ("moving_direction", "moving_count", "object_shuffle"):
                # a fixed four-value set in a fixed order: balanced values are balanced positions
                values = Counter(it["answer"] for it in items)
                assert len(set(values.values())) == 1, (task, values)
                assert len(set(pos.values())) == 1 and len(pos) == 4, (task, pos)
            total.update(pos)
    n = sum(total.values())
    assert len(total) == 4 and max(total.values()) < 0.4 * n, total  # no position near a majority
