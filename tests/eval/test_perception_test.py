"""PerceptionTest MC (valid split) from the official mc_question JSON and the lmms-lab parquet layout, with
generated videos: oracle/random runs, area/reasoning/tag breakdowns, the cut-frame mapping, malformed
files."""

import json

import pytest

from tests.helpers.mcq_fixtures import perception_official, write_perception
from tpo_eval.api import RunConfig, evaluate, load_samples
from tpo_eval.config import DataPaths, load_benchmark
from tpo_eval.families.base import AnnotationError

# perception_official(4, 3): video_100v question q has answer_id (v + q) % 3; area physics (v even) / memory;
# reasoning descriptive / predictive / explanatory by q; tags ["motion"] (+ "counting" for q = 1).
SCRIPT = {
    "video_1000/0": "A",
    "video_1000/1": "The answer is C",
    "video_1000/2": "C",
    "video_1001/0": "B",
    "video_1001/1": "A man, so C",
    "video_1001/2": "D",
    "video_1002/0": "(C) o2 video_1002-0",
    "video_1002/1": "",
    "video_1002/2": "B",
    "video_1003/0": "B",
    "video_1003/1": "I pick B",
    "video_1003/2": "C",
}


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    r = tmp_path_factory.mktemp("pt")
    write_perception(r, perception_official(4, 3))
    (r / "cut_frame_mapping_valid.json").write_text(json.dumps({"video_1000": 12}))
    return r


def _run(root, **kw):
    return evaluate(RunConfig("perception_test", data_root=root, progress=False, **kw))


def test_oracle_100_and_random_reproducible(root):
    doc = _run(root, model="mock:oracle")
    assert doc["overall"]["micro"] == {"official/acc": 100.0, "strict/acc": 100.0}
    assert doc["overall"]["n_total"] == 12 and list(doc["tasks"]) == ["valid"]
    a, b = _run(root, model="mock:random", seed=1), _run(root, model="mock:random", seed=1)
    assert a["overall"] == b["overall"] and a["breakdown"] == b["breakdown"]
    assert 0.0 < a["overall"]["micro"]["official/acc"] < 75.0  # chance is 1/3


def test_random_near_chance_on_many_questions(tmp_path):
    write_perception(tmp_path, perception_official(2, 60))  # 120 questions, 2 videos
    acc = _run(tmp_path, model="mock:random", seed=5)["overall"]["micro"]["official/acc"]
    assert 20.0 <= acc <= 46.7  # 1/3 ± 3 sd


def test_breakdowns_hand_computed(root, tmp_path):
    script = tmp_path / "s.json"
    script.write_text(json.dumps(SCRIPT))
    doc = _run(root, model="mock:scripted", model_args={"script": str(script)})
    assert doc["overall"]["micro"]["official/acc"] == pytest.approx(100 * 7 / 12)
    assert doc["overall"]["micro"]["strict/acc"] == 50.0
    b = doc["breakdown"]
    assert b["area"]["physics"]["official/acc"] == pytest.approx(100 * 4 / 6)
    assert b["area"]["memory"]["official/acc"] == 50.0
    assert b["area"]["memory"]["strict/acc"] == pytest.approx(100 * 2 / 6)
    assert (
        b["reasoning"]["descriptive"]["official/acc"] == 75.0
        and b["reasoning"]["predictive"]["official/acc"] == 25.0
    )
    assert (
        b["reasoning"]["predictive"]["strict/acc"] == 0.0
        and b["reasoning"]["explanatory"]["strict/acc"] == 75.0
    )
    assert b["tag"]["motion"]["n_total"] == 12 and b["tag"]["motion"]["official/acc"] == pytest.approx(
        100 * 7 / 12
    )
    assert b["tag"]["counting"] == b["reasoning"]["predictive"]  # the same four questions
    assert doc["overall"]["n_parsed"] == {"official": 11, "strict": 7}


def test_parquet_layout_loads_the_same_questions(root, tmp_path):
    import pandas as pd

    rows = [
        {
            "video_name": v,
            "question": q["question"],
            "question_id": q["id"],
            "options": q["options"],
            "answer_id": str(q["answer_id"]),
            "area": q["area"],
            "reasoning": q["reasoning"],
            "tag": q["tag"],
        }
        for v, e in perception_official(4, 3).items()
        for q in e["mc_question"]
    ]
    pq = tmp_path / "mc_question_val.parquet"
    pd.DataFrame(rows).to_parquet(pq)
    cfg = load_benchmark("perception_test")
    _, a = load_samples(cfg, DataPaths(root))
    _, b = load_samples(cfg, DataPaths(root, pq))
    key = lambda s: (s.id, s.question, s.choices, s.target, dict(s.meta))  # noqa: E731
    assert [key(s) for s in a] == [key(s) for s in b]


def test_cut_frame_mapping_bounds_the_video(root):
    from tpo_eval.runner import Runner

    r = Runner(RunConfig("perception_test", model="mock:oracle", data_root=root, progress=False))
    cut = next(s for s in r.samples if s.id == "video_1000/0")
    assert cut.media.bound == (0.0, 1.2)  # frame 12 at 10 fps
    assert max(r._request(cut, set(), True).timestamps) == pytest.approx(1.2)
    whole = next(s for s in r.samples if s.id == "video_1001/0")
    assert whole.media.bound is None and max(r._request(whole, set(), True).timestamps) == pytest.approx(2.9)


@pytest.mark.parametrize(
    "change,message",
    [
        (
            lambda d: d["video_1001"]["mc_question"][2].pop("area"),
            r"video_1001 mc_question 2: missing field\(s\) area",
        ),
        (
            lambda d: d["video_1002"]["mc_question"][0]["options"].pop(),
            r"video_1002 mc_question 0: expected 3 options, got 2",
        ),
        (
            lambda d: d["video_1000"]["mc_question"][1].update(answer_id=3),
            r"mc_question 1: answer_id 3 is not 0, 1 or 2",
        ),
        (
            lambda d: d["video_1003"]["mc_question"][0].pop("answer_id"),
            r"missing field answer_id \(the test split",
        ),
        (lambda d: d.update(video_1001=[]), r"video_1001: expected an object with an 'mc_question' list"),
    ],
)
def test_malformed_annotations_name_file_and_item(tmp_path, change, message):
    data = perception_official(4, 3)
    change(data)
    write_perception(tmp_path, data, videos=False)
    with pytest.raises(AnnotationError, match=r"mc_question_valid.json item .*" + message):
        load_samples(load_benchmark("perception_test"), DataPaths(tmp_path))


def test_bad_json_names_the_file(tmp_path):
    (tmp_path / "mc_question_valid.json").write_text('{"video_1": {"mc_question": [}')
    with pytest.raises(AnnotationError, match=r"mc_question_valid.json: invalid JSON at line 1 column 30"):
        load_samples(load_benchmark("perception_test"), DataPaths(tmp_path))
