"""Charades-STA ``official`` = TimeChat's reference scorer: its text extraction quirk by quirk, the same
matches as a literal (backtracking) restatement of it on seeded random text, and whole-benchmark answer sets
over the real 3720 test queries giving the reference's numbers (``lenient`` beside them)."""

import json
import random
from pathlib import Path

import pytest
import yaml

from tests.helpers import timechat_literal as literal
from tests.helpers.tg_cases import CASES, jittered_spans, texts
from tpo_eval.api import load_samples, score_outputs
from tpo_eval.config import DataPaths, load_benchmark, parse_benchmark
from tpo_eval.families.temporal_grounding import PARSE_CAP
from tpo_eval.tg.iou import hull_iou
from tpo_eval.tg.timechat import extract_span, range_pairs
from tpo_eval.types import RawOutput

# (model output, TimeChat's span or None = a miss). Each row is one quirk of
# utils/format_tvg.py::extract_time.
QUIRKS = [
    ("The event happens in the 24.3 - 30.4 seconds.", (24.3, 30.4)),
    ("24.3-30.4", (24.3, 30.4)),
    ("3 -\n 7", (3.0, 7.0)),  # the whitespace may span lines
    ("The event happens in 30.4 - 24.3 seconds", (24.3, 30.4)),  # reversed: swapped
    ("happens in 7 - 7", (7.0, 7.0)),
    ("24.3 to 30.4 seconds", None),  # "to" is not a range (lmms-eval's is)
    ("The event happens in 24.3 to 30.4 seconds.", None),  # one keyword sentence: one number
    ("24.3–30.4 seconds", None),  # en dash
    ("[24.3, 30.4]", None),
    ("between 24.3 and 30.4", None),
    ("-5 - 10", (5.0, 10.0)),  # no signs
    ("On 2023-10-05 it happens in 3 - 7 seconds", (10.0, 2023.0)),  # the first range anywhere wins
    ("3. - 7", (3.0, 7.0)),  # float("3.") reads
    ("1..5 - 3", None),  # float("1..5") stops the reference
    ("happens in 3 - 7 s, not 1...2 - 3", None),  # ... even in a later range
    ("1.2.3 - 4", (2.3, 4.0)),  # the match starts inside the run
    ("A specific example is : 20.8 - 30.0 seconds. It happens in 1 - 2 s.", (20.8, 30.0)),  # not removed
    ("It starts at 24.3 seconds!It ends at 30.4 seconds", (24.3, 30.4)),  # ! splits sentences
    ("It starts at 24.3 seconds. It ends at 30.4 seconds.", None),  # a full stop does not
    ("It starts at 24.3s\nIt ends at 30.4s", (24.0, 30.0)),  # "24.3s": no \b after the decimals
    ("START: 3\nEND: 7", (3.0, 7.0)),  # lower-cased first
    ("He is bending at 5\nHis friend waves at 9", (5.0, 9.0)),  # "end" inside words is a keyword
    ("starts at 5\nends", None),  # an odd number out is dropped
    ("starts at 5\nthe end 9\nend 3", (5.0, 9.0)),
    ("starts at 1\nends at 2\nstarts at 3\nends at 4", (1.0, 2.0)),
    ("starts at 00:00:18 and ends at 00:00:23", None),  # the hh:mm:ss step can never pair
    ("starts at 00:00:18\nends at 00:00:23", (0.0, 0.0)),  # first number of each sentence: "00"
    ("١٢ - ١٥", (12.0, 15.0)),  # \d is any Unicode digit
    ("", None),
    ("I don't know.", None),
]


@pytest.mark.parametrize("text,expected", QUIRKS, ids=[repr(q[0])[:40] for q in QUIRKS])
def test_timechat_quirks(text, expected):
    assert extract_span(text) == expected
    lit = literal.extract_time(text)
    assert (tuple(lit[0]) if lit else None) == expected  # the literal restatement agrees


def test_same_matches_as_the_reference_regex_on_random_text():
    rng = random.Random(0)
    alphabet = list("0123456789..-- \n!?s:,") + ["start", "end", "happen", "to", "seconds", "x", "١"]
    for _ in range(4000):
        s = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
        assert range_pairs(s.lower()) == literal.RANGE.findall(s.lower()), s
        lit = literal.extract_time(s)
        assert extract_span(s) == (tuple(lit[0]) if lit else None), s


def test_adversarial_lengths_still_parse():
    # The reference regex backtracks polynomially on these; the scan reads each character a bounded number of
    # times (timings: scripts/tg_parse_timing.py).
    assert extract_span(" " * 20_000) is None
    assert extract_span("1" * 20_000 + " x") is None
    assert extract_span("1" + " " * 20_000 + "- 5") == (1.0, 5.0)
    assert extract_span("start 1 " * 3000) is None  # one sentence: one keyword number
    assert extract_span("start 1\n" * 3000) == (1.0, 1.0)


# ---- whole benchmark ---------------------------------------------------------------------------------------
# Reference numbers, computed with tests/helpers/timechat_literal.py (a line-by-line restatement of TimeChat's
# extract_time + eval_tvg.py) and pinned: R1@0.3, R1@0.5, R1@0.7, mIoU in percent over all 3720 queries.
REFERENCE = {
    "oracle": (100.0, 100.0, 100.0, 100.0),
    "constant": (0.0, 0.0, 0.0, 0.7979),  # "0 - 999 seconds"
    "overshoot": (0.3763, 0.0, 0.0, 13.2848),  # "start - start+60 seconds": 14 gold spans are >= 18 s
    "jittered": (42.2312, 31.3978, 15.7527, 27.7995),
}
LENIENT = {**REFERENCE, "jittered": (83.3065, 62.0699, 30.1344, 54.8671)}
KEYS = ("R1@0.3", "R1@0.5", "R1@0.7", "mIoU")
TXT = "charades_sta_test.txt"


@pytest.fixture(scope="module")
def bench(shared_data):
    cfg = load_benchmark("charades_sta")
    family, samples = load_samples(cfg, DataPaths(None, shared_data / "charades_sta" / TXT))
    assert len(samples) == 3720
    return cfg, family, samples


def _score(cfg, family, samples, outs):
    outputs = {s.id: RawOutput(s.id, text=t) for s, t in zip(samples, outs)}
    return score_outputs(cfg, family, samples, outputs).doc


@pytest.mark.parametrize("case", CASES)
def test_whole_benchmark_cases_give_the_reference_numbers(bench, case):
    cfg, family, samples = bench
    outs = texts(case, samples)
    doc = _score(cfg, family, samples, outs)
    m, ov = doc["overall"]["micro"], doc["overall"]
    ref = literal.score([s.target for s in samples], [literal.extract_time(t) for t in outs])
    assert tuple(round(ref[k], 4) for k in KEYS) == REFERENCE[case]
    for k in KEYS:
        assert m[f"official/{k}"] == pytest.approx(ref[k], abs=1e-9), k
        assert round(m[f"lenient/{k}"], 4) == LENIENT[case][KEYS.index(k)], k
    assert ov["n_total"] == 3720 and doc["spans"] == {
        "parse_cap_chars": PARSE_CAP,
        "clip_end_to_duration": False,
        "n_gt_clipped": 0,
        "clipped": "nothing",
    }
    assert ov["n_parsed"]["lenient"] == 3720


def test_jittered_lenient_reads_every_phrasing_as_written(bench):
    """The lenient numbers follow from the jittered spans themselves, without any parser."""
    cfg, family, samples = bench
    spans = jittered_spans(samples)
    ious = [hull_iou((a, b) if a <= b else (b, a), s.target) for (a, b, _), s in zip(spans, samples)]
    doc = _score(cfg, family, samples, texts("jittered", samples))
    assert doc["overall"]["micro"]["lenient/mIoU"] == pytest.approx(100 * sum(ious) / len(ious))
    hits = sum(i >= 0.7 for i in ious)
    assert doc["overall"]["micro"]["lenient/R1@0.7"] == pytest.approx(100 * hits / 3720)
    # Official reads templates 0 and 5 (ranges) and 3 (two keyword sentences); 1, 2 and 4 are misses.
    assert doc["overall"]["n_parsed"]["official"] == sum(k in (0, 3, 5) for _, _, k in spans)


def test_clipping_is_one_option_for_ground_truth_and_predictions(bench, shared_data):
    cfg, _, samples = bench
    raw = yaml.safe_load(Path(cfg.path).read_text(encoding="utf-8"))
    raw["options"]["clip_end_to_duration"] = True
    clip_cfg = parse_benchmark(raw, cfg.path)
    family, clipped = load_samples(clip_cfg, DataPaths(None, shared_data / "charades_sta" / TXT))
    # The oracle says the raw annotation; both sides are clipped, so it stays exact.
    doc = _score(clip_cfg, family, clipped, texts("oracle", samples))
    assert doc["overall"]["micro"]["official/mIoU"] == 100.0
    assert doc["spans"] == {
        "parse_cap_chars": PARSE_CAP,
        "clip_end_to_duration": True,
        "n_gt_clipped": 562,
        "clipped": "ground truth and predictions",
    }
    # "0 - 999" becomes the whole video: IoU = gold length / duration, for both extractors.
    doc = _score(clip_cfg, family, clipped, texts("constant", samples))
    expect = 100 * sum((s.target[1] - s.target[0]) / s.duration for s in clipped) / 3720
    assert doc["overall"]["micro"]["official/mIoU"] == pytest.approx(expect)
    assert doc["overall"]["micro"]["lenient/mIoU"] == pytest.approx(expect)


def test_head_windows_are_scored_as_given(bench):
    cfg, family, samples = bench
    s = samples[0]  # 3MSZA 24.3-30.4, a 30.96 s video
    raws = {s.id: RawOutput(s.id, text="0 - 1", windows=((24.3, 40.0, 0.9), (0.0, 1.0, 0.1)))}
    rows = score_outputs(cfg, family, [s], raws).scores
    for label in ("official", "lenient"):
        assert rows[label][0].values["mIoU"] == pytest.approx((30.4 - 24.3) / (40.0 - 24.3))  # not clipped


def test_timechat_sample_file_reads_the_same_under_both_labels(shared_data, tmp_path):
    from click.testing import CliRunner

    from tpo_eval.cli import main

    ann = shared_data / "charades_sta"
    pred = str(ann / "timechat_tvg_example_pred_file.json")
    r = CliRunner().invoke(
        main,
        [
            "score",
            "charades_sta",
            "--predictions",
            pred,
            "--annotations",
            str(ann),
            "--allow-partial",
            "--json",
        ],
    )
    assert r.exit_code == 0, r.output
    m = json.loads(r.stdout)["overall"]["micro"]
    published = [9.0, 3.4, 1.4, 6.3]  # R1@0.3/0.5/0.7 as TimeChat states them; mIoU as recomputed
    assert [round(m[f"{lb}/{k}"], 1) for lb in ("official", "lenient") for k in KEYS] == published * 2
