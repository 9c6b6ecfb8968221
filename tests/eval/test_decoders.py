"""Decoder backends: one frame-exact contract, seek-only reads, the measured ``auto`` order, runs using it."""
import json

import numpy as np
import pytest
from click.testing import CliRunner

from tests.helpers.mcq_fixtures import videomme_rows, write_videomme
from tpo_eval.api import RunConfig, evaluate
from tpo_eval.cli import main
from tpo_eval.registries import DECODERS
from tpo_eval.rundir import RunDirError
from tpo_eval.video import auto
from tpo_eval.video.decode import (VideoDecodeError, decode, decoder_order, open_reader, read_index,
                                   using_decoders, write_index_video)
from tpo_eval.video.sampling import segment_midpoints
from tpo_eval.video.synth import write_bench_video


def _installed():
    out = []
    for name in DECODERS.names():
        try:
            DECODERS.get(name).check_installed()
            out.append(name)
        except ImportError as e:
            print(f"decoder {name} skipped: {e}")
    return out


INSTALLED = _installed()
# Unsorted, repeated, first and last frame, two in one GOP, one per GOP further on.
IDX = [59, 3, 3, 17, 0, 58, 31, 12, 13]
# Lossy clips: every backend must return the same frame (its index mark) and pixels within this tolerance of
# the others (all three agree bit for bit here; colour conversion of 4:2:0 is where FFmpeg builds may differ).
LOSSY_MAX, LOSSY_MEAN = 3, 0.5

# RGB in the bitstream, so no colour conversion: every backend must return identical arrays. x264 drops
# B-frames when lossless (qp 0), so a qp 1 clip adds them (decoding is deterministic; conversion is not).
LOSSLESS = {"x264rgb_qp0.mp4": dict(codec="libx264rgb", options={"g": "10"}),
            "x264rgb_qp1_bframes.mp4": dict(codec="libx264rgb", options={"preset": "veryfast", "qp": "1",
                                                                         "bf": "2", "g": "10"}),
            "ffv1.mkv": dict(codec="ffv1", options={"g": "10"})}
LOSSY = {"h264_bframes.mp4": dict(codec="libx264", options={"bf": "3", "g": "12"}),
         "h264.mkv": dict(codec="libx264"), "mpeg4.avi": {}, "vp8.webm": {}}


def _read_all(path, idx=IDX):
    out = {}
    for name in INSTALLED:
        r = open_reader(name, path)
        try:
            out[name] = (r.num_frames, r.fps, r.get(idx))
        finally:
            r.close()
    return out


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    d = tmp_path_factory.mktemp("clips")
    specs = {**LOSSLESS, **LOSSY}
    return {n: write_index_video(d / n, 60, fps=10, size=64, texture=True, **kw) for n, kw in specs.items()}


def test_at_least_two_backends_are_compared():
    assert {"decord", "pyav"} <= set(INSTALLED)


@pytest.mark.parametrize("name", sorted(LOSSLESS))
def test_rgb_coded_clips_decode_to_identical_arrays(clips, name):
    got = _read_all(clips[name])
    ref_n, ref_fps, ref = got["pyav"]
    assert (ref_n, ref_fps, ref.shape) == (60, 10.0, (len(IDX), 64, 64, 3))
    assert [read_index(f, 32) for f in ref] == IDX
    for backend, (n, fps, frames) in got.items():
        assert (n, fps) == (60, 10.0), backend
        assert np.array_equal(frames, ref), backend


@pytest.mark.parametrize("name", sorted(LOSSY))
def test_lossy_clips_agree_within_tolerance(clips, name):
    got = _read_all(clips[name])
    ref = got["pyav"][2]
    for backend, (n, fps, frames) in got.items():
        assert (n, fps) == (60, 10.0), backend
        assert [read_index(f, 32) for f in frames] == IDX, backend
        diff = np.abs(frames.astype(np.int16) - ref)
        assert diff.max() <= LOSSY_MAX and diff.mean() <= LOSSY_MEAN, backend


def test_pyav_reaches_sampled_frames_by_seeking_not_from_the_start(tmp_path):
    # 40 s at 25 fps, keyframe every 25 frames, B-frames: 16 midpoints decode at most one GOP each, and far
    # fewer frames than the 1000 a pass over the video would.
    gop = 25
    p = write_bench_video(tmp_path / "long.mp4", 40, fps=25, width=128, height=64, gop=gop, mark=64)
    r = open_reader("pyav", p)
    idx = segment_midpoints(0, r.num_frames - 1, r.fps, 16)
    frames = r.get(idx)
    r.close()
    assert r.num_frames == 1000 and [read_index(f, 64) for f in frames] == idx
    assert r.frames_decoded <= len(set(idx)) * gop
    assert r.frames_decoded < 1000 // 2
    # One frame near the end costs at most one GOP.
    r = open_reader("pyav", p)
    assert read_index(r.get([990])[0], 64) == 990 and r.frames_decoded <= gop
    r.close()


def test_decode_falls_back_in_order_and_a_named_decoder_stands_alone(clips, monkeypatch):
    def broken(self, path):
        raise RuntimeError("cannot open")

    monkeypatch.setattr(DECODERS.get("decord"), "__init__", broken)
    s = lambda a, b, fps: segment_midpoints(a, b, fps, 8)  # noqa: E731
    with using_decoders(("decord", "pyav")):
        d = decode(clips["mpeg4.avi"], "video", s)
    assert d.backend == "pyav" and [read_index(f, 32) for f in d.frames] == list(d.indices)
    with pytest.raises(VideoDecodeError, match="decord: RuntimeError: cannot open"):
        decode(clips["mpeg4.avi"], "video", s, decoder="decord")


def test_auto_measures_correct_backends_and_caches_the_order(tmp_path, monkeypatch):
    monkeypatch.setenv("TPO_EVAL_CACHE", str(tmp_path))
    clip = write_bench_video(tmp_path / "probe.mp4", 4, fps=25, width=192, height=96, gop=25, mark=64)
    res = auto.measure(clip, num=8, repeats=1, mark=64, n_frames=100)
    assert all(res[n]["ok"] for n in INSTALLED), res
    assert auto.order_from(res) == sorted(INSTALLED, key=lambda n: res[n]["seconds"])
    # A backend returning the wrong frames is measured but left out of the order.
    cls = DECODERS.get("pyav")
    monkeypatch.setattr(cls, "get", lambda self, idx, _get=cls.get: _get(self, [min(i + 1, 99) for i in idx]))
    bad = auto.measure(clip, num=8, repeats=1, mark=64, n_frames=100)
    assert not bad["pyav"]["ok"] and "pyav" not in auto.order_from(bad)
    # Measured once per host and library versions, then read back.
    monkeypatch.setattr(auto, "measure", lambda *a, **k: {"pyav": {"ok": True, "seconds": 1.0}})
    auto._memo.clear()
    assert auto.ranking() == ["pyav"]
    monkeypatch.setattr(auto, "measure", lambda *a, **k: pytest.fail("measured twice"))
    auto._memo.clear()
    assert auto.ranking() == ["pyav"] and decoder_order("auto") == ("pyav",)
    assert json.loads((tmp_path / "decoders.json").read_text())[auto.fingerprint()]["order"] == ["pyav"]


def test_run_records_the_decoder_in_settings_and_refuses_mixing(tmp_path):
    write_videomme(tmp_path, videomme_rows(2, 1))
    out = tmp_path / "run"
    doc = evaluate(RunConfig("videomme", data_root=tmp_path, out_dir=out, progress=False, decoder="pyav"))
    prov = doc["provenance"]
    assert doc["overall"]["n_failed"] == 0 and prov["settings"]["decoder"] == "pyav"
    assert prov["decoder_order"] == ["pyav"]
    with pytest.raises(RunDirError, match="other settings"):
        evaluate(RunConfig("videomme", data_root=tmp_path, out_dir=out, progress=False, decoder="decord"))
    # auto: the choice is hashed, the measured order (here the tests' static one) is provenance.
    doc = evaluate(RunConfig("videomme", data_root=tmp_path, out_dir=tmp_path / "auto", progress=False))
    assert doc["provenance"]["settings"]["decoder"] == "auto"
    assert doc["provenance"]["decoder_order"] == list(auto.BACKENDS)
    r = CliRunner().invoke(main, ["run", "videomme", "--data-root", str(tmp_path), "--model", "mock:oracle",
                                  "--decoder", "ffmpeg"])
    assert r.exit_code == 2 and "'ffmpeg' is not one of" in r.output
