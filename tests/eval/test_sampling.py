"""Frame selection: exact indices, checked on decoded videos whose frames encode their own index."""
import pytest

from tpo_eval.video.decode import decode, read_index, write_index_frames, write_index_video
from tpo_eval.video.sampling import linspace_indices, segment_midpoints


def test_segment_midpoints_unbounded_hand_computed():
    # 100 frames (0..99), 16 segments: seg = 99/16 = 6.1875; frame i = int(3.09375 + round(6.1875 i)):
    # round(18.5625)=19 → 22, round(49.5)=50 (half to even) → 53, round(86.625)=87 → 90
    idx = segment_midpoints(0, 99, 25.0, 16)
    assert idx == [3, 9, 15, 22, 28, 34, 40, 46, 53, 59, 65, 71, 77, 83, 90, 96]


def test_segment_midpoints_with_bound_and_fps():
    # bound 1.5–4.5 s at 10 fps → frames 15..45; seg = 30/4 = 7.5 → 15+3.75+{0,8,15,22} → 18, 26, 33, 40
    assert segment_midpoints(0, 99, 10.0, 4, (1.5, 4.5)) == [18, 26, 33, 40]


def test_bound_past_the_end_is_clipped_to_last_frame():
    # end 20 s at 10 fps = 200 > 49 → end_idx 49; start 3 s → 30; seg = 19/4 = 4.75;
    # 30 + 2.375 + round(4.75 i) with round(9.5) = 10 (half to even) → 32, 37, 42, 46
    assert segment_midpoints(0, 49, 10.0, 4, (3.0, 20.0)) == [32, 37, 42, 46]


def test_frame_folders_are_numbered_from_one():
    # TVQA: 30 files 00001..00030 at 3 fps, bound 1–8 s → 3..24; seg = 21/16 = 1.3125
    idx = segment_midpoints(1, 30, 3.0, 16, (1.0, 8.0))
    assert idx == [3, 4, 6, 7, 8, 10, 11, 12, 13, 15, 16, 17, 19, 20, 21, 23]


def test_linspace_includes_both_ends():
    assert linspace_indices(0, 99, 25.0, 5) == [0, 24, 49, 74, 99]


@pytest.mark.parametrize("bad", [(0, -1, 4), (0, 10, 0)])
def test_invalid_ranges_raise(bad):
    first, last, num = bad
    with pytest.raises(ValueError):
        segment_midpoints(first, last, 10.0, num)


@pytest.mark.parametrize("ext", [".mp4", ".webm", ".avi"])
def test_decoded_frames_are_the_sampled_frames(tmp_path, ext):
    p = write_index_video(tmp_path / f"v{ext}", 100, fps=10)
    for bound in (None, (1.5, 4.5)):
        d = decode(p, "video", lambda a, b, fps: segment_midpoints(a, b, fps, 16, bound))
        assert d.fps == 10.0
        assert [read_index(f) for f in d.frames] == segment_midpoints(0, 99, 10.0, 16, bound)
        assert d.timestamps[0] == d.indices[0] / 10.0


def test_frame_folder_decoding(tmp_path):
    folder = write_index_frames(tmp_path / "clip", 30)
    d = decode(folder, "frames", lambda a, b, fps: segment_midpoints(a, b, fps, 16, (1.0, 8.0)), fps=3.0)
    assert [read_index(f) for f in d.frames] == segment_midpoints(1, 30, 3.0, 16, (1.0, 8.0))


def test_pyav_fallback_matches_decord(tmp_path):
    p = write_index_video(tmp_path / "v.mp4", 60, fps=10)
    s = lambda a, b, fps: segment_midpoints(a, b, fps, 8)  # noqa: E731
    a, b = decode(p, "video", s, decoder="decord"), decode(p, "video", s, decoder="pyav")
    assert (a.backend, b.backend) == ("decord", "pyav")
    assert a.indices == b.indices and [read_index(f) for f in b.frames] == list(b.indices)
