"""Several benchmarks in one `tpo-eval run`, --gen-kwargs checked and hashed, --log-samples rows, the default
run directory, and `--data-root hf:OWNER/NAME` resolved offline from a local Hugging Face cache."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.helpers.videos import standin_root
from tpo_eval.cli import main
from tpo_eval.hfdata import SnapshotMissingError, resolve_data_root
from tpo_eval.models.base import parse_gen_kwargs
from tpo_eval.models.checks import check_gen_kwargs


@pytest.fixture(scope="module")
def data(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    mv_ann, ch_ann = shared_data / "mvbench", shared_data / "charades_sta"
    mv = standin_root(
        tmp_path_factory.mktemp("mv"), "mvbench", mv_ann, limit=1, tasks=["action_count", "state_change"]
    )
    ch = standin_root(tmp_path_factory.mktemp("ch"), "charades_sta", ch_ann, limit=2)
    return {"mvbench": (mv, mv_ann), "charades_sta": (ch, ch_ann)}


def _args(data: dict[str, tuple[Path, Path]], *names: str) -> list[str]:
    out = []
    for n in names:
        root, ann = data[n]
        out += ["--data-root", f"{n}={root}", "--annotations", f"{n}={ann}"]
    return out


def test_two_benchmarks_one_command_one_dir_each_and_a_summary(data, tmp_path: Path) -> None:
    out = tmp_path / "runs"
    # MVBench: only the two tasks with stand-in videos exist under its root, so --skip-missing records the
    # other
    # 18 tasks' samples as failures (counted, never dropped); Charades-STA (one task): its first query.
    res = CliRunner().invoke(
        main,
        [
            "run",
            "mvbench,charades_sta",
            "--model",
            "mock:oracle",
            *_args(data, "mvbench", "charades_sta"),
            "--limit",
            "1",
            "--skip-missing",
            "--out",
            str(out),
            "--no-progress",
            "--gen-kwargs",
            "max_new_tokens=7,temperature=0",
            "--log-samples",
        ],
    )
    assert res.exit_code == 0, res.output
    mv = json.loads((out / "mvbench" / "results.json").read_text())
    ch = json.loads((out / "charades_sta" / "results.json").read_text())
    assert (mv["overall"]["n_total"], mv["overall"]["n_failed"]) == (20, 18)
    assert (
        mv["tasks"]["action_count"]["official/acc"] == 100.0 and mv["tasks"]["action_count"]["n_failed"] == 0
    )
    assert (ch["overall"]["n_total"], ch["overall"]["micro"][ch["primary"]]) == (1, 100.0)
    lines = res.stdout.splitlines()
    assert lines[0].split() == ["benchmark", "primary", "score", "n", "failed", "run", "directory"]
    assert lines[2].split() == ["mvbench", "official/acc", "10.00", "20", "18", str(out / "mvbench")]
    assert lines[3].split() == ["charades_sta", ch["primary"], "100.00", "1", "0", str(out / "charades_sta")]
    # --gen-kwargs: typed, merged over the benchmark's generation block, and part of the hashed settings.
    gen = mv["provenance"]["settings"]["generation"]
    assert gen["max_new_tokens"] == 7 and gen["temperature"] == 0.0 and isinstance(gen["temperature"], float)
    # --log-samples: each row carries the exact prompt and the gold answer.
    rows = [json.loads(x) for x in (out / "mvbench" / "predictions.jsonl").read_text().splitlines()]
    row = next(r for r in rows if r["id"] == "action_count/0")
    smp = row["sample"]
    assert smp["question"] in smp["prompt"]["user"] and smp["prompt"]["assistant_prefix"] == "Best option:("
    assert smp["gold"]["text"] == smp["gold"]["choices"][smp["gold"]["target"]]
    assert row["output"].startswith("ABCDE"[smp["gold"]["target"]])
    failed = next(r for r in rows if r["error"])
    assert (
        failed["sample"]["prompt"] is None and failed["sample"]["gold"]["choices"]
    )  # never sent, still logged
    chrow = json.loads((out / "charades_sta" / "predictions.jsonl").read_text().splitlines()[0])
    assert chrow["sample"]["gold"]["target"] == list(chrow["windows"][0][:2])

    # Same --out, other generation settings: refused (the settings hash differs), nothing overwritten.
    again = CliRunner().invoke(
        main,
        [
            "run",
            "mvbench",
            "--model",
            "mock:oracle",
            *_args(data, "mvbench"),
            "--limit",
            "1",
            "--skip-missing",
            "--out",
            str(out / "mvbench"),
            "--no-progress",
            "--gen-kwargs",
            "max_new_tokens=8",
        ],
    )
    assert again.exit_code == 2 and "holds predictions made with other settings" in again.stderr


def test_every_benchmark_is_checked_before_any_model_runs(data, tmp_path: Path) -> None:
    out = tmp_path / "runs"
    empty = tmp_path / "no_videos"
    empty.mkdir()
    args = [
        "run",
        "mvbench,charades_sta",
        "--model",
        "mock:oracle",
        "--limit",
        "1",
        "--out",
        str(out),
        "--no-progress",
        *_args(data, "mvbench"),
        "--annotations",
        f"charades_sta={data['charades_sta'][1]}",
    ]
    res = CliRunner().invoke(main, args + ["--data-root", f"charades_sta={empty}", "--tasks", "action_count"])
    assert res.exit_code == 2 and "--tasks selects tasks of one benchmark" in res.stderr
    res = CliRunner().invoke(main, args + ["--data-root", f"charades_sta={empty}"])
    assert res.exit_code == 2 and not out.exists()
    err = res.stderr
    assert (
        "mvbench: 18 media file(s) missing" in err
        and f"charades_sta: 1 media file(s) missing (first: {empty}" in err
    )
    res = CliRunner().invoke(main, args + ["--data-root", f"charades={empty}"])
    assert res.exit_code == 2
    assert res.stderr.strip() == (
        f"error: --data-root 'charades={empty}': 'charades' is not a benchmark of this "
        "run (did you mean 'charades_sta'?); benchmarks: mvbench, charades_sta"
    )


def test_gen_kwargs_are_checked_against_the_adapter_before_anything_loads(data) -> None:
    assert parse_gen_kwargs("max_new_tokens=32, temperature=0.2,do_sample=true") == {
        "max_new_tokens": 32,
        "temperature": 0.2,
        "do_sample": True,
    }
    assert check_gen_kwargs("hf", {"temperature": 0, "top_k": 5}) == {"temperature": 0.0, "top_k": 5}
    with pytest.raises(ValueError) as e:
        check_gen_kwargs("hf", {"max_new_token": 5, "top_k": 0.5, "do_sample": "yes"})
    assert str(e.value) == (
        "--gen-kwargs: 'max_new_token' is not a generation setting of --model hf (did you mean "
        "'max_new_tokens'?); "
        "top_k=0.5: expected int; do_sample='yes': expected bool. Accepted by hf: do_sample, max_new_tokens, "
        "num_beams, repetition_penalty, temperature, top_k, top_p"
    )
    with pytest.raises(ValueError, match="expects KEY=VALUE"):
        parse_gen_kwargs("max_new_tokens")
    root, ann = data["mvbench"]
    # --model hf without --ckpt would fail to load; the bad key is reported first, so nothing was loaded.
    res = CliRunner().invoke(
        main,
        [
            "run",
            "mvbench",
            "--model",
            "hf",
            "--data-root",
            str(root),
            "--annotations",
            str(ann),
            "--gen-kwargs",
            "temprature=0",
        ],
    )
    assert res.exit_code == 2 and "(did you mean 'temperature'?)" in res.stderr


def test_hf_data_root_resolves_a_local_snapshot_offline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(SnapshotMissingError) as e:
        resolve_data_root("hf:OpenGVLab/MVBench")
    assert str(e.value) == (
        f"no local snapshot of dataset OpenGVLab/MVBench under {tmp_path / 'hf' / 'hub'} "
        "(nothing is downloaded at run time); fetch it first: huggingface-cli download "
        "OpenGVLab/MVBench --repo-type dataset"
    )
    # The cache layout huggingface-cli leaves: refs/main names the snapshot folder.
    repo = tmp_path / "hf" / "hub" / "datasets--OpenGVLab--MVBench"
    sha = "0123456789abcdef0123456789abcdef01234567"
    (repo / "snapshots" / sha / "json").mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(sha)
    assert resolve_data_root("hf:OpenGVLab/MVBench") == repo / "snapshots" / sha
    assert resolve_data_root("/data/MVBench") == Path("/data/MVBench")
    with pytest.raises(ValueError, match="expected hf:OWNER/NAME"):
        resolve_data_root("hf:MVBench")
    for cmd in (
        ["run", "mvbench", "--model", "mock:oracle"],
        ["score", "mvbench", "--predictions", str(tmp_path)],
    ):
        res = CliRunner().invoke(main, cmd + ["--data-root", "hf:OpenGVLab/Nope"])
        assert res.exit_code == 2 and res.stderr.startswith(
            "error: no local snapshot of dataset OpenGVLab/Nope "
        )


def test_data_root_from_the_environment_keeps_spaces(
    data, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, ann = data["mvbench"]
    spaced = tmp_path / "my data"
    spaced.symlink_to(root)
    monkeypatch.setenv("TPO_EVAL_DATA_ROOT", str(spaced))
    monkeypatch.setenv("TPO_EVAL_ANNOTATIONS", str(ann))
    res = CliRunner().invoke(
        main,
        [
            "run",
            "mvbench",
            "--model",
            "mock:oracle",
            "--tasks",
            "action_count",
            "--limit",
            "1",
            "--out",
            str(tmp_path / "r"),
            "--no-progress",
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["overall"]["micro"]["official/acc"] == 100.0


def test_a_benchmark_failing_at_run_time_is_reported_and_the_others_still_run(data, tmp_path: Path) -> None:
    out = tmp_path / "runs"
    (out / "charades_sta").mkdir(
        parents=True
    )  # holds predictions made with other settings: refused at run time
    (out / "charades_sta" / "predictions.jsonl").write_text(
        json.dumps({"id": "test/0", "settings": "x"}) + "\n"
    )
    res = CliRunner().invoke(
        main,
        [
            "run",
            "charades_sta,mvbench",
            "--model",
            "mock:oracle",
            "--limit",
            "1",
            "--skip-missing",
            "--out",
            str(out),
            "--no-progress",
            *_args(data, "mvbench", "charades_sta"),
        ],
    )
    assert res.exit_code == 2
    assert (out / "mvbench" / "results.json").is_file() and not (
        out / "charades_sta" / "results.json"
    ).exists()
    rows = {ln.split()[0]: ln.split() for ln in res.stdout.splitlines()[2:]}
    assert rows["charades_sta"][1:3] == ["FAILED", "RunDirError:"] and rows["mvbench"][2] == "10.00"
    assert res.stderr.splitlines()[-1] == "error: 1 of 2 benchmark(s) failed: charades_sta (see above)"


def test_several_benchmarks_share_one_model_adapter(
    data, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tpo_eval.api as api
    import tpo_eval.pipeline as pipeline

    built = []
    real = api.build_run_model
    monkeypatch.setattr(api, "build_run_model", lambda rc: built.append(rc.benchmark) or real(rc))
    # the runner builds its own adapter through pipeline.build_run_model; the suite's comes from the API
    monkeypatch.setattr(pipeline, "build_run_model", lambda rc: pytest.fail("the runner built its own model"))
    res = CliRunner().invoke(
        main,
        [
            "run",
            "mvbench,charades_sta",
            "--model",
            "mock:oracle",
            "--limit",
            "1",
            "--skip-missing",
            "--out",
            str(tmp_path),
            "--no-progress",
            *_args(data, "mvbench", "charades_sta"),
        ],
    )
    assert res.exit_code == 0, res.output
    assert built == ["mvbench"]


def test_a_shared_adapter_takes_each_benchmarks_max_new_tokens_unless_a_model_arg_fixes_it() -> None:
    from types import SimpleNamespace

    from tpo_eval.models.hf import HFVideoModel

    m = SimpleNamespace(_max_new_tokens_arg=None, generation_keys=HFVideoModel.generation_keys)
    HFVideoModel.set_generation(m, {"max_new_tokens": 50, "do_sample": False})
    assert (m.max_new_tokens, m.gen_kwargs) == (50, {"do_sample": False})
    HFVideoModel.set_generation(m, {"temperature": 0.5})  # the next benchmark: no max_new_tokens of its own
    assert (m.max_new_tokens, m.gen_kwargs) == (None, {"temperature": 0.5})
    m._max_new_tokens_arg = 8
    HFVideoModel.set_generation(m, {"max_new_tokens": 50})
    assert m.max_new_tokens == 8
