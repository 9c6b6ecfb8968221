"""Charades-STA: every public packaging loads to the same queries, TimeChat's sample scores as published, and
oracle/random/scripted runs go end to end over the real annotations with generated stand-in videos."""
import json

import pytest
import yaml
from click.testing import CliRunner

from tests.helpers.videos import standin_root
from tpo_eval.api import load_samples
from tpo_eval.cli import main
from tpo_eval.config import ConfigError, DataPaths, load_benchmark, parse_benchmark
from tpo_eval.tg.charades import load_charades_sta
from tpo_eval.types import RawOutput

VARIANTS = ["charades_sta_test.txt", "temporal_grounding_charades.json", "timechat_tvg_example_gt_file.json",
            "charades_test.json"]


@pytest.fixture(scope="module")
def ann(shared_data):
    return shared_data / "charades_sta"


def _load(ann, name, **options):
    cfg = load_benchmark("charades_sta")
    if options:
        raw = yaml.safe_load(open(cfg.path))
        raw["options"].update(options)
        cfg = parse_benchmark(raw, cfg.path)
    return cfg, *load_samples(cfg, DataPaths(None, ann / name))


def _key(samples):
    return [(s.id, s.meta["vid"], s.target, s.question, s.duration) for s in samples]


def test_all_packagings_load_to_the_same_3720_queries(ann):
    ref = _key(_load(ann, VARIANTS[0])[2])
    assert len(ref) == 3720 and len({s[1] for s in ref}) == 1334
    for name in VARIANTS[1:]:
        assert _key(_load(ann, name)[2]) == ref, name
    # The tvr file clipped the ends past the video: exactly the 562 rows where end > duration differ.
    tvr = _key(_load(ann, "charades_sta_test_tvr_format.jsonl")[2])
    diff = [i for i, (a, b) in enumerate(zip(ref, tvr)) if a != b]
    assert len(diff) == 562 == sum(r[2][1] > r[4] for r in ref)
    assert all(tvr[i][2] == (ref[i][2][0], ref[i][4]) for i in diff)
    # clip_end_to_duration turns any packaging into the tvr one.
    _, _, clipped = _load(ann, VARIANTS[0], clip_end_to_duration=True)
    assert _key(clipped) == tvr and sum(s.meta["clipped"] for s in clipped) == 562


def test_query_ids_are_line_numbers_of_the_original_txt(ann):
    lines = (ann / "charades_sta_test.txt").read_text().splitlines()
    samples = _load(ann, "timechat_tvg_example_gt_file.json")[2]
    for k in (0, 1805, 3719):
        vid, s, e = lines[k].split("##")[0].split()
        assert samples[k].id == f"test/{k}" and samples[k].meta["qid"] == k
        assert (samples[k].meta["vid"], samples[k].target) == (vid, (float(s), float(e)))
    tvr = load_charades_sta(ann / "charades_sta_test_tvr_format.jsonl")
    assert (tvr[0].qid, tvr[0].index) == (12404, 0)  # its own qids: predictions keyed by them match via meta


def _score_cli(args):
    return CliRunner().invoke(main, ["score", "charades_sta", *args])


def test_timechat_sample_with_allow_partial(ann):
    pred = str(ann / "timechat_tvg_example_pred_file.json")
    r = _score_cli(["--predictions", pred, "--annotations", str(ann), "--allow-partial", "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    m = doc["overall"]["micro"]
    assert [round(m[f"official/{k}"], 1) for k in ("R1@0.3", "R1@0.5", "R1@0.7", "mIoU")] == [9.0, 3.4, 1.4, 6.3]
    assert doc["overall"]["n_total"] == 500
    assert doc["overall"]["n_parsed"] == {"official": 220, "lenient": 220}  # 280 empty
    r = _score_cli(["--predictions", pred, "--annotations", str(ann)])
    assert r.exit_code == 2 and "3220 of 3720" in r.output and "--allow-partial" in r.output


def test_frame_index_outputs_are_mapped_through_linspace(ann):
    cfg, family, samples = _load(ann, VARIANTS[0], outputs="frame_indices", frame_count=32)
    s = samples[0]  # 3MSZA, 30.96 s
    a = family.extract("lenient", RawOutput(s.id, text="frames 1 to 32"), s, cfg)
    assert a.value["windows"] == [[0.0, 30.96, 1.0]]
    assert not family.extract("official", RawOutput(s.id, text="frames 1 to 32"), s, cfg).parsed  # "to"
    a = family.extract("official", RawOutput(s.id, text="frames 1 - 32"), s, cfg)
    assert a.value["windows"] == [[0.0, 30.96, 1.0]]


def test_bad_options_are_reported_together():
    cfg = load_benchmark("charades_sta")
    raw = yaml.safe_load(open(cfg.path))
    raw["options"].update(protocol="charades", outputs="frame_indices", clip_end_to_duration="yes")
    with pytest.raises(ConfigError) as e:
        parse_benchmark(raw, cfg.path)
    msg = str(e.value)
    assert "3 problem(s)" in msg and "options.protocol" in msg and "frame_count" in msg and "clip_end" in msg


@pytest.fixture(scope="module")
def standins(ann, tmp_path_factory):
    return standin_root(tmp_path_factory.mktemp("charades"), "charades_sta", ann, limit=6)


def _run_cli(ann, root, out, *extra):
    r = CliRunner().invoke(main, ["run", "charades_sta", "--data-root", str(root), "--annotations", str(ann),
                                  "--limit", "6", "--out", str(out), "--json", *extra])
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def test_oracle_run_over_real_annotations(ann, standins, tmp_path):
    doc = _run_cli(ann, standins, tmp_path / "oracle", "--model", "mock:oracle")
    assert doc["overall"]["micro"] == {f"{lb}/{k}": 100.0 for lb in ("official", "lenient")
                                       for k in ("R1@0.3", "R1@0.5", "R1@0.7", "mIoU")}
    assert doc["overall"]["n_total"] == 6 and doc["overall"]["n_failed"] == 0
    row = json.loads((tmp_path / "oracle" / "predictions.jsonl").read_text().splitlines()[0])
    assert row["id"] == "test/0" and row["answers"]["official"]["windows"] == [[24.3, 30.4, 1.0]]


def test_random_run_is_seeded_and_below_the_oracle(ann, standins, tmp_path):
    a = _run_cli(ann, standins, tmp_path / "a", "--model", "mock:random", "--seed", "5")
    b = _run_cli(ann, standins, tmp_path / "b", "--model", "mock:random", "--seed", "5")
    assert a["overall"] == b["overall"] and a["overall"]["micro"]["official/mIoU"] < 100.0


def test_scripted_text_answers_are_parsed_and_failures_counted(ann, standins, tmp_path):
    # Samples 0-3 are 3MSZA 24.3-30.4 (a 30.96 s video), 4 is AMT7R 4.3-12.5; the texts exercise the parsers.
    script = {"test/0": "The event happens in the 24.3 - 30.4 seconds.", "test/1": "30.4 to 24.3",
              "test/2": "It stops today from 24 to 31 s", "test/3": "I cannot tell.", "test/4": "[4.3, 12.5]"}
    path = tmp_path / "script.json"
    path.write_text(json.dumps(script))
    doc = _run_cli(ann, standins, tmp_path / "s", "--model", "mock:scripted", "--model-arg", f"script={path}")
    rows = [json.loads(x) for x in (tmp_path / "s" / "predictions.jsonl").read_text().splitlines()]
    iou = {lb: {r["id"]: r["scores"][lb]["mIoU"] for r in rows} for lb in ("official", "lenient")}
    lenient, official = iou["lenient"], iou["official"]
    assert lenient["test/0"] == lenient["test/1"] == lenient["test/4"] == 1.0
    assert lenient["test/3"] == lenient["test/5"] == 0.0
    assert lenient["test/2"] == pytest.approx((30.4 - 24.3) / (31 - 24.0))  # said past the video's end: kept
    # TimeChat reads only the hyphen range; "to", brackets and the rest are misses.
    assert official == {"test/0": 1.0, **{f"test/{i}": 0.0 for i in range(1, 6)}}
    assert doc["overall"]["n_total"] == 6 and doc["overall"]["n_failed"] == 1  # test/5 has no scripted output
    assert doc["overall"]["n_parsed"] == {"official": 1, "lenient": 4}
    assert doc["overall"]["micro"]["lenient/R1@0.7"] == pytest.approx(400 / 6)  # test/2: IoU 6.1 / 7
    assert doc["overall"]["micro"]["official/R1@0.7"] == pytest.approx(100 / 6)
