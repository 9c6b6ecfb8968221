"""Benchmark configs: every shipped YAML validates; a bad one reports every problem at once."""

import pytest
import yaml

from tpo_eval.api import load_samples
from tpo_eval.config import BENCHMARK_DIR, ConfigError, DataPaths, benchmark_paths, load_benchmark


def test_every_shipped_benchmark_validates():
    paths = sorted(BENCHMARK_DIR.glob("*.yaml"))
    assert len(paths) >= 1 and len(paths) == len(benchmark_paths())
    for p in paths:
        cfg = load_benchmark(p)
        assert cfg.name == p.stem and cfg.tasks and cfg.extractors


def test_all_errors_reported_at_once(tmp_path):
    raw = yaml.safe_load((BENCHMARK_DIR / "mvbench.yaml").read_text())
    raw["samplr"] = {}
    raw["extractors"]["strict"] = "no_such_extractor"
    raw["tasks"][0]["bund"] = True
    raw["tasks"][1]["read_mode"] = "frames"  # without fps
    raw["aggregation"] = ["micro", "mean"]
    p = tmp_path / "bad.yaml"
    p.write_text(yaml.safe_dump(raw))
    with pytest.raises(ConfigError) as e:
        load_benchmark(p)
    errs = e.value.errors
    assert len(errs) == 5, errs
    text = str(e.value)
    for needle in (
        "samplr: unknown key (did you mean 'sampler'?)",
        "unknown extractor 'no_such_extractor'",
        "tasks[0].bund: unknown key (did you mean 'bound'?)",
        "read_mode 'frames' needs fps",
        "unknown 'mean'",
    ):
        assert needle in text


def test_unknown_benchmark_suggests(tmp_path):
    with pytest.raises(ConfigError, match="Did you mean 'mvbench'"):
        load_benchmark("mvbnech")


def test_invalid_yaml_is_a_config_error(tmp_path):
    p = tmp_path / "x.yaml"
    p.write_text("name: [unclosed")
    with pytest.raises(ConfigError, match="invalid YAML"):
        load_benchmark(p)


def test_missing_annotation_files_listed_together(tmp_path):
    cfg = load_benchmark("mvbench")
    with pytest.raises(ConfigError) as e:
        load_samples(cfg, DataPaths(tmp_path, tmp_path / "json"), ("action_count", "state_change"))
    assert len(e.value.errors) == 2 and "action_count.json not found" in str(e.value)


def test_benchmarks_dir_adds_users_yamls_and_overrides_a_shipped_name(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from tpo_eval.cli import main

    monkeypatch.delenv("TPO_EVAL_BENCHMARKS", raising=False)
    raw = yaml.safe_load((BENCHMARK_DIR / "mvbench.yaml").read_text())
    (tmp_path / "mvbench.yaml").write_text(yaml.safe_dump({**raw, "description": "my MVBench"}))
    (tmp_path / "mine.yaml").write_text(yaml.safe_dump({**raw, "name": "mine"}))
    res = CliRunner().invoke(main, ["--benchmarks-dir", str(tmp_path), "ls"])
    assert res.exit_code == 0, res.output
    lines = res.output.split("task families:")[0].splitlines()
    assert f"  mvbench                {tmp_path / 'mvbench.yaml'}" in lines
    assert f"  mine                   {tmp_path / 'mine.yaml'}" in lines
    assert load_benchmark("mvbench").description == "my MVBench"
    monkeypatch.delenv("TPO_EVAL_BENCHMARKS")
    assert load_benchmark("mvbench").path == str(BENCHMARK_DIR / "mvbench.yaml")
