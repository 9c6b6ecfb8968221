"""The world's videos keep the rendered pixels exactly: a fading or recolouring object is, frame by frame,
what the ground truth says it is."""

from __future__ import annotations

import numpy as np


def test_videos_decode_to_the_rendered_frames_exactly(tmp_path):
    from tpo_eval.video.decode import decode
    from tpo_train.synth import writers
    from tpo_train.synth.render import render
    from tpo_train.synth.simulate import plan_clip

    clip = plan_clip(np.random.default_rng([0, 0, 2]), "train_0002", "train", 16, 4.0, 48)
    r = render(clip)
    writers.media(tmp_path, clip, r, frames=False)
    got = decode(tmp_path / "videos" / "train_0002.mp4", "video", lambda a, b, fps: list(range(a, b + 1)))
    assert got.frames.shape == r.frames.shape == (16, 48, 48, 3)
    assert np.array_equal(got.frames, r.frames)
