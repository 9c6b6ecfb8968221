"""The lenient span parser (``lenient`` beside Charades-STA's ``official``), IoU definitions and the span
extractors. The parser's behaviour is the one it always had, minus clamping to the video, plus two fixes:
frame words only in frame-index mode, and a timed range winning over an earlier bare "N to M"."""

import pytest

from tpo_eval.tg.extract import span_auto, span_text
from tpo_eval.tg.iou import hull_iou
from tpo_eval.tg.spans import parse_span
from tpo_eval.types import Media, RawOutput, Sample

# (model output, video duration, expected (start, end) or None). Real answer shapes first, then malformed
# ones.
CASES = [
    ("23.0 - 27.0 seconds", 30.0, (23.0, 27.0)),
    ("from 23 to 27", 30.0, (23.0, 27.0)),
    ("23.0s-27.0s", 30.0, (23.0, 27.0)),
    ("The given query happens in 23.0-27.0 seconds.", 30.0, (23.0, 27.0)),
    ("[23.0, 27.0]", 30.0, (23.0, 27.0)),
    ("(23, 27)", 30.0, (23.0, 27.0)),
    ("The event happens in the 24.3 - 30.4 seconds.", 40.0, (24.3, 30.4)),
    ("The event happens in 23.5–27.25s.", 30.0, (23.5, 27.25)),  # en dash
    ("It happens between 3.5 and 7 seconds.", 30.0, (3.5, 7.0)),
    ("The action starts at 23 s and ends at 27 s.", 30.0, (23.0, 27.0)),
    ("Start time: 23.0, End time: 27.0", 30.0, (23.0, 27.0)),
    ("00:23 - 00:27", 30.0, (23.0, 27.0)),  # mm:ss
    ("0:00:05 to 0:00:12", 30.0, (5.0, 12.0)),  # hh:mm:ss
    ("23.0, 27.0", 30.0, (23.0, 27.0)),  # a bare pair is the whole answer
    ("from 5 until 9", 30.0, (5.0, 9.0)),
    ("5 ~ 9 sec", 30.0, (5.0, 9.0)),
    (".5 - 2", 30.0, (0.5, 2.0)),
    # Words are never rewritten: lmms-eval's "to" → "-" would have mangled "stops" and "today".
    ("The person stops today, from 5 to 9.", 30.0, (5.0, 9.0)),
    ("Photo of a tomato: it happens from 2 to 4.", 30.0, (2.0, 4.0)),
    # The first span in the text wins, whatever its form.
    ("from 5 to 9, not [20, 30]", 40.0, (5.0, 9.0)),
    # Reversed spans are swapped; nothing is clamped to the video (the scorer may clip GT and predictions
    # alike).
    ("27.0 - 23.0", 30.0, (23.0, 27.0)),
    ("25 - 40 seconds", 30.0, (25.0, 40.0)),
    ("0:01:05 to 0:01:10", 30.0, (65.0, 70.0)),  # all past the end: kept as said
    ("12 - 18", None, (12.0, 18.0)),
    # A range with a time unit or time context wins over an earlier bare "N to M"; between bare ones, the
    # first.
    ("About 2 to 3 people are in the room; 24.3 - 30.4 seconds", 40.0, (24.3, 30.4)),
    ("2 to 3 people; it happens from 24.3 to 30.4", 40.0, (24.3, 30.4)),
    ("In 2 - 3 takes, [5, 9] s", 40.0, (5.0, 9.0)),  # the unit after the bracket
    ("2 to 3 people, 4 to 5 chairs", 40.0, (2.0, 3.0)),
    # Frame numbers are not seconds (frame-index mode reads them, see below).
    ("frame 3 to frame 8", 30.0, None),
    ("frames 3-8", 30.0, None),
    ("Frame 3 to 8 (1.5 - 4.0 s)", 30.0, (1.5, 4.0)),
    # Long inputs parse in linear time (timings: scripts/tg_parse_timing.py).
    (" " * 20_000, 30.0, None),
    ("1" + " " * 20_000 + "to 5 s", 30.0, (1.0, 5.0)),
    ("1-" * 5_000 + " happens in 3 - 4 s", 30.0, (3.0, 4.0)),
    # Malformed or non-answers: no span (IoU 0, still in every denominator).
    ("", 30.0, None),
    ("I don't know.", 30.0, None),
    ("The event happens at 23 seconds.", 30.0, None),  # one time is not a span
    ("The video is 30 seconds long and shows 2 people.", 30.0, None),  # unrelated numbers are not paired
    ("23.0 -", 30.0, None),
    ("start time - end time", 30.0, None),
    ("v2 - 3", 30.0, None),  # a number inside a word
    ("1.2.3 - 4", 30.0, None),  # not a number
    ("seconds", 30.0, None),
]


@pytest.mark.parametrize("text,duration,expected", CASES, ids=[repr(c[0][:40]) for c in CASES])
def test_parse_span(text, duration, expected):
    assert parse_span(text, duration) == (pytest.approx(expected) if expected else None)


def test_table_is_large_and_includes_malformed_outputs():
    assert len(CASES) >= 25 and sum(c[2] is None for c in CASES) >= 8


@pytest.mark.parametrize(
    "text,expected",
    [
        ("frame 1 to frame 32", (0.0, 31.0)),  # 1-based indices over np.linspace(0, 31, 32): one second apart
        ("[4, 8]", (3.0, 7.0)),
        ("frames 40 - 35", (31.0, 31.0)),  # out-of-range indices map to the last frame of the grid
        ("frame 3 to frame 8", (2.0, 7.0)),
        ("2 to 3 people; frames 4 - 8", (3.0, 7.0)),  # the frame word is time context here
        ("00:04 - 00:08", None),  # a clock time is not a frame index
    ],
)
def test_frame_index_outputs(text, expected):
    assert parse_span(text, 31.0, frame_count=32) == expected


def test_zero_based_frame_indices():
    assert parse_span("[4, 8]", 31.0, frame_count=32, frame_base=0) == (4.0, 8.0)


def test_frame_indices_need_a_duration():
    with pytest.raises(ValueError, match="frame_count"):
        parse_span("3 - 5", None, frame_count=16)


def test_hull_iou_matches_the_timechat_definition():
    assert hull_iou((0, 10), (5, 15)) == pytest.approx(5 / 15)
    assert hull_iou((0, 2), (5, 15)) == 0.0
    assert hull_iou((3, 3), (3, 3)) == 0.0  # degenerate: 0, not a division error
    assert hull_iou((24.3, 30.4), (24.3, 30.4)) == 1.0


def _sample(duration=30.0):
    return Sample(
        id="test/0",
        task="test",
        media=Media(paths=("x.mp4",)),
        question="q",
        target=(5.0, 9.0),
        duration=duration,
    )


def test_extractor_prefers_head_windows_and_keeps_their_order():
    raw = RawOutput(
        "test/0", text="from 1 to 2", windows=((20.0, 25.0, 0.3), (5.0, 9.0, 0.9)), saliency=(0.1, 0.5)
    )
    a = span_auto(raw, _sample())
    assert a.parsed and a.value == {"windows": [[20.0, 25.0, 0.3], [5.0, 9.0, 0.9]], "saliency": [0.1, 0.5]}
    assert span_text(raw, _sample()).value == {"windows": [[1.0, 2.0, 1.0]], "saliency": None}


def test_extractor_unparsed_and_empty_head_output():
    assert not span_auto(RawOutput("test/0", text="no idea"), _sample()).parsed
    # A head that returned no window is an unanswered query, not a cue to parse the text.
    assert not span_auto(RawOutput("test/0", text="5 - 9", windows=()), _sample()).parsed


def test_runaway_outputs_are_parsed_from_a_capped_prefix():
    """10 MB of output does not stall scoring: the first PARSE_CAP characters are parsed (a span within them
    still counts) and the cap is recorded in the results."""
    from tpo_eval.api import load_samples, score_outputs
    from tpo_eval.config import DataPaths, load_benchmark
    from tpo_eval.families.temporal_grounding import PARSE_CAP
    from tpo_eval.types import RawOutput

    cfg = load_benchmark("synth_charades")
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        (root / "charades" / "heldout").mkdir(parents=True)
        (root / "charades" / "heldout" / "charades_sta.txt").write_text("v0 1.0 3.0##a query\n")
        (root / "charades" / "heldout" / "durations.csv").write_text("id,length\nv0,8.0\n")
        family, samples = load_samples(cfg, DataPaths(root, None))
        text = "The given query happens in 1.0 - 3.0 seconds." + " " * (10 * PARSE_CAP) + "0 - 8 seconds"
        doc = score_outputs(cfg, family, samples, {samples[0].id: RawOutput(samples[0].id, text=text)}).doc
    assert doc["overall"]["micro"]["official/R1@0.7"] == 100.0
    assert doc["spans"]["parse_cap_chars"] == PARSE_CAP
