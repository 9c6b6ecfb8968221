"""The demo base's vision pretraining (tpo_train/demo_vision.py): the per-token targets and the seeded
training of the encoder alone, on a hand-made world."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.train._recipe_helpers import tiny_cache  # noqa: F401  (single-threaded torch)


def _obj(shape, colour, centre, visible, colours=None):
    n = len(centre)
    return {
        "shape": shape,
        "colour": colour,
        "centre": centre,
        "visible": visible,
        "colours": colours or [colour] * n,
    }


GT = [
    {
        "vid": "train_0000",
        "frames": 2,
        "size": 64,
        "objects": [
            _obj("square", "red", [[10, 10], [50, 10]], [1.0, 1.0]),  # top left, then top right
            _obj("cross", "blue", [[40, 50], [40, 50]], [0.1, 1.0], ["blue", "green"]),  # hidden, then green
        ],
    },
    {
        "vid": "train_0001",
        "frames": 2,
        "size": 64,
        "objects": [_obj("circle", "yellow", [[20, 40], [20, 40]], [1.0, 1.0])],
    },
]


@pytest.fixture()
def world(tmp_path):
    from PIL import Image

    rng = np.random.RandomState(0)
    (tmp_path / "gt").mkdir()
    (tmp_path / "gt" / "train.jsonl").write_text("\n".join(json.dumps(g) for g in GT) + "\n")
    for g in GT:
        (tmp_path / "frames" / g["vid"]).mkdir(parents=True)
        for f in range(g["frames"]):
            img = rng.randint(0, 255, (64, 64, 3)).astype(np.uint8)
            Image.fromarray(img).save(tmp_path / "frames" / g["vid"] / f"{f:05d}.jpg")
    return tmp_path


def test_frame_targets_mark_colour_and_shape_per_quadrant():
    from tpo_train.demo_vision import frame_targets

    red, green, blue, yellow, square, circle, triangle, cross = range(8)
    first, second = frame_targets(GT[0], 0), frame_targets(GT[0], 1)
    assert [[k for k, v in enumerate(c) if v] for c in first] == [[red, square], [], [], []]  # cross hidden
    # frame 1: the square moved to the top right, the cross is visible and green (bottom right)
    assert [[k for k, v in enumerate(c) if v] for c in second] == [[], [red, square], [], [green, cross]]
    assert [[k for k, v in enumerate(c) if v] for c in frame_targets(GT[1], 0)] == [
        [],
        [],
        [yellow, circle],
        [],
    ]


def test_pretrain_vision_is_seeded_learns_and_leaves_the_lm_alone(world, tmp_path):
    from safetensors.torch import load_file

    from tpo_train.demo_vision import ORIGIN_FILE, pretrain_vision
    from tpo_train.presets import materialize

    base = materialize("tiny")
    kw = dict(steps=30, batch=4, lr=3e-3, frames_per_clip=2, seed=0)
    a = pretrain_vision(base, world, tmp_path / "a", **kw)
    b = pretrain_vision(base, world, tmp_path / "b", **kw)
    wa, wb, w0 = (load_file(str(p / "model.safetensors")) for p in (a, b, base))
    assert all(np.array_equal(wa[k].numpy(), wb[k].numpy()) for k in wa)  # same seed, same weights
    moved = {k for k in wa if not np.array_equal(wa[k].numpy(), w0[k].numpy())}
    assert moved and all("vision_tower" in k for k in moved)  # only the encoder trained
    origin = json.loads((a / ORIGIN_FILE).read_text())
    assert origin["frames"] == 4 and origin["loss_last"] < origin["loss_first"]
