"""Video-MME end to end on a parquet in the HF schema with generated videos and .srt subtitles: oracle/random
runs, the official denominator, breakdown tables, subtitles for sampled frames, malformed files."""

import json
from pathlib import Path

import pytest

from tests.helpers.mcq_fixtures import videomme_rows, write_videomme
from tpo_eval.api import RunConfig, evaluate, load_samples
from tpo_eval.config import DataPaths, load_benchmark
from tpo_eval.families.base import AnnotationError

SRT = (
    '1\n00:00:00,000 --> 00:00:01,000\n<font color="white" size=".72c">first line</font>\n\n'
    '2\n00:00:01,000 --> 00:00:02,000\n<font color="white" size=".72c">second</font>\n\n'
    "3\n00:00:02,500 --> 00:00:02,800\nthird\ncue\n"
)

# Scripted responses for videomme_rows(6, 3): video v, question q, gold "ABCD"[(v + q) % 4].
# Durations: v0/v3 short, v1/v4 medium, v2/v5 long; domains: v0-2 Knowledge, v3-5 Film & Television.
SCRIPT = {
    "001-1": "A",
    "001-2": "B",
    "001-3": "I am not sure what happens in this video at all, sorry about that",
    "002-1": "The answer is B",
    "002-2": "Best option: C",
    "002-3": "D",
    "003-1": "C",
    "003-2": "A",
    "003-3": "Based on the video, A",
    "004-1": "D",
    "004-2": "(A) option a of 3-1",
    "004-3": "",
    "005-1": "C",
    "005-2": "B",
    "005-3": "C",
    "006-1": "B",
    "006-2": "C",
    "006-3": "D",
}


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    root = tmp_path_factory.mktemp("videomme")
    write_videomme(root, videomme_rows(6, 3), subtitles={"yt000": SRT})
    return root


def _run(root, bench="videomme", **kw):
    return evaluate(RunConfig(bench, data_root=root, progress=False, **kw))


def test_oracle_is_100_and_breakdowns_cover_every_question(small):
    doc = _run(small, model="mock:oracle")
    assert list(doc["tasks"]) == ["short", "medium", "long"] and doc["overall"]["n_total"] == 18
    assert doc["overall"]["micro"] == {"official/acc": 100.0, "strict/acc": 100.0}
    assert set(doc["breakdown"]) == {"duration", "domain", "sub_category", "task_type"}
    assert sum(c["n_total"] for c in doc["breakdown"]["task_type"].values()) == 18
    assert doc["breakdown"]["domain"]["Knowledge"]["official/acc"] == 100.0


def test_random_is_near_chance_and_reproducible(tmp_path):
    write_videomme(tmp_path, videomme_rows(6, 20))  # 120 questions on 6 videos
    a = _run(tmp_path, model="mock:random", seed=3)
    assert a["overall"] == _run(tmp_path, model="mock:random", seed=3)["overall"]
    acc = a["overall"]["micro"]["official/acc"]
    assert acc == a["overall"]["micro"]["strict/acc"]  # bare letters: both extractors agree
    assert 13.0 <= acc <= 37.0  # chance 25 %, ±3 sd for 120 questions


def test_official_denominator_and_breakdowns_hand_computed(small, tmp_path):
    script = tmp_path / "script.json"
    script.write_text(json.dumps(SCRIPT))
    doc = _run(small, model="mock:scripted", model_args={"script": str(script)}, out_dir=tmp_path / "run")
    t, ov = doc["tasks"], doc["overall"]
    # official counts answered questions only (001-3 and 004-3 are unanswered); strict counts all 18
    assert t["short"]["official/acc"] == 100.0 and t["short"]["n_excluded"] == {"official": 2, "strict": 0}
    assert t["short"]["strict/acc"] == pytest.approx(100 * 4 / 6)
    assert t["medium"]["official/acc"] == pytest.approx(100 * 4 / 6) and t["medium"]["strict/acc"] == 50.0
    assert t["long"]["official/acc"] == pytest.approx(100 * 4 / 6)
    assert t["long"]["strict/acc"] == pytest.approx(100 * 4 / 6)
    assert ov["micro"]["official/acc"] == 75.0 and ov["n_excluded"]["official"] == 2
    assert ov["micro"]["strict/acc"] == pytest.approx(100 * 11 / 18)
    assert ov["macro"]["official/acc"] == pytest.approx((100 + 200 / 3 + 200 / 3) / 3)
    b = doc["breakdown"]
    assert b["duration"]["short"] == t["short"]
    assert (
        b["domain"]["Knowledge"]["official/acc"] == 62.5
        and b["domain"]["Film & Television"]["official/acc"] == 87.5
    )
    assert b["domain"]["Knowledge"]["strict/acc"] == pytest.approx(100 * 4 / 9)
    assert b["sub_category"]["Movie & TV Show"] == b["domain"]["Film & Television"]
    tt = b["task_type"]
    assert tt["Counting Problem"]["official/acc"] == pytest.approx(100 * 5 / 6)
    assert tt["OCR Problems"]["official/acc"] == pytest.approx(100 * 4 / 6)
    assert (
        tt["Action Reasoning"]["official/acc"] == 75.0
        and tt["Action Reasoning"]["n_excluded"]["official"] == 2
    )
    assert tt["Action Reasoning"]["strict/acc"] == 50.0
    rows = {
        r["id"]: r for r in map(json.loads, (tmp_path / "run" / "predictions.jsonl").read_text().splitlines())
    }
    assert rows["002-2"]["answers"] == {"official": "B", "strict": None}
    assert rows["001-3"]["scores"]["official"] == {"acc": 0.0, "excluded": 1.0}


def test_subtitles_are_the_cues_at_the_sampled_frames(small):
    cfg = load_benchmark("videomme_subtitles")
    family, samples = load_samples(cfg, DataPaths(small))
    s0 = next(s for s in samples if s.id == "001-1")
    user = family.build_prompt(s0, cfg, timestamps=(0.0, 0.4, 2.6, 2.9)).user
    assert user.startswith(
        "This video's subtitles are listed below:\nfirst line\nthird cue\nSelect the best answer"
    )
    assert user.endswith("\nD. option d of 0-0\nThe best answer is:")
    assert "second" not in user
    none = family.build_prompt(next(s for s in samples if s.id == "002-1"), cfg, timestamps=(0.0,)).user
    assert none.startswith("This video's subtitles are listed below:\nNo subtitles available\n")
    # the real run decodes 16 frames over 3 s (linspace 0..29 at 10 fps): every cue has a sampled frame
    doc = _run(small, bench="videomme_subtitles", model="mock:oracle", tasks=("short",))
    assert doc["overall"]["micro"]["official/acc"] == 100.0
    plain = load_benchmark("videomme")
    assert "subtitles" not in family.build_prompt(s0, plain, timestamps=(0.0,)).user


def _rows_with(change):
    rows = videomme_rows(2, 2)
    change(rows)
    return rows


@pytest.mark.parametrize(
    "change,message",
    [
        (
            lambda r: r[1].pop("task_type"),
            r"test-00000-of-00001.parquet item 1: missing field\(s\) task_type",
        ),
        (lambda r: r[2].update(options=["A. x", "B. y", "C. z"]), r"item 2: expected 4 options, got 3"),
        (
            lambda r: r[0].update(answer="E"),
            r"item 0: answer 'E' is not one of the option letters A, B, C, D",
        ),
        (
            lambda r: r[3].update(duration="huge"),
            r"item 3: duration 'huge' is not one of the tasks short, medium, long",
        ),
        (lambda r: r[3].update(question_id="001-1"), r"item 001-1: duplicate sample id"),
    ],
)
def test_malformed_parquet_names_file_and_item(tmp_path, change, message):
    write_videomme(tmp_path, _rows_with(change), videos=False)
    with pytest.raises(AnnotationError, match=message):
        load_samples(load_benchmark("videomme"), DataPaths(tmp_path))


def test_malformed_official_json_and_srt(tmp_path):
    bad = tmp_path / "videomme.json"
    bad.write_text(
        '[{"video_id": "001", "duration": "short", "domain": "x", "sub_category": "y", "questions": ['
    )
    with pytest.raises(AnnotationError, match=r"videomme.json: invalid JSON at line 1"):
        load_samples(load_benchmark("videomme"), DataPaths(None, bad))
    bad.write_text(
        json.dumps(
            [
                {
                    "video_id": "001",
                    "duration": "short",
                    "domain": "x",
                    "sub_category": "y",
                    "questions": [
                        {
                            "question_id": "001-1",
                            "question": "q",
                            "task_type": "t",
                            "options": ["A. a", "B. b", "C. c", "D. d"],
                        }
                    ],
                }
            ]
        )
    )
    with pytest.raises(
        AnnotationError, match=r"video 0 \(video_id '001'\) question 0: missing field\(s\) answer"
    ):
        load_samples(load_benchmark("videomme"), DataPaths(None, bad))
    write_videomme(
        tmp_path, videomme_rows(1, 1), subtitles={"yt000": "1\n00:00:01 -> 00:00:02\nbroken\n"}, videos=False
    )
    with pytest.raises(AnnotationError, match=r"yt000.srt item cue 1: no 'HH:MM:SS,mmm --> HH:MM:SS,mmm'"):
        load_samples(load_benchmark("videomme_subtitles"), DataPaths(tmp_path))


def test_official_json_annotations_load_like_the_parquet(tmp_path):
    from tpo_eval.families.videomme_format import to_official
    from tpo_eval.types import RawOutput

    write_videomme(tmp_path, videomme_rows(3, 2), videos=False)
    cfg = load_benchmark("videomme")
    _, a = load_samples(cfg, DataPaths(tmp_path))
    off = tmp_path / "official.json"
    off.write_text(json.dumps(to_official(a, {s.id: RawOutput(s.id, "A") for s in a})))
    _, b = load_samples(cfg, DataPaths(tmp_path, off))
    assert [(s.id, s.task, s.choices, s.target, s.meta["domain"]) for s in a] == [
        (s.id, s.task, s.choices, s.target, s.meta["domain"]) for s in b
    ]
    assert Path(a[0].media.paths[0]).name == "yt000.mp4"
