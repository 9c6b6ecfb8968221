"""The wheel installs and works without the checkout: built offline, installed into a fresh venv that reuses
this interpreter's installed dependencies (torch is GBs: never reinstalled), run from outside the repo."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# What a source distribution holds; the copy keeps build/ and *.egg-info out of the checkout.
_SOURCES = (
    "setup.py",
    "setup.cfg",
    "pyproject.toml",
    "README.md",
    "tpo_eval",
    "tpo_train",
    "benchmarks",
    "results/paper",
    "results/demo",
)


def _run(cmd: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    return r


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    for rel in _SOURCES:
        p = REPO / rel
        if p.is_dir():
            shutil.copytree(p, src / rel, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            (src / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(p, src / rel)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "TPO_EVAL_BENCHMARKS")}
    env.update(PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1", HF_HUB_OFFLINE="1")
    pip = [sys.executable, "-m", "pip"]
    r = _run(
        pip + ["wheel", "--no-deps", "--no-build-isolation", "-q", ".", "-w", str(tmp / "dist")], src, env
    )
    assert r.returncode == 0, r.stderr[-3000:]
    assert "warning" not in (r.stdout + r.stderr).lower(), r.stdout + r.stderr  # a quiet build
    wheel = next((tmp / "dist").glob("tpo_eval-*.whl"))
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    # Reuse the installed dependencies: this interpreter's site-packages as a plain path entry. Its .pth files
    # (among them the checkout's editable install) are not processed, so only the wheel provides tpo_eval.
    site = Path(sysconfig.get_paths(vars={"base": str(venv), "platbase": str(venv)})["purelib"])
    (site / "reuse_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    r = _run(
        pip + ["--python", str(venv / "bin" / "python"), "install", "--no-deps", "-q", str(wheel)], tmp, env
    )
    assert r.returncode == 0, r.stderr[-3000:]
    return venv, env


def test_wheel_carries_benchmarks_and_tables_and_runs_offline(
    venv: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    v, env = venv
    bin_ = v / "bin"
    r = _run(
        [
            str(bin_ / "python"),
            "-c",
            "import tpo_eval.config as c, tpo_eval.tables as t; "
            "print(c.__file__); print(c.BENCHMARK_DIR); print(t.PAPER_DIR)",
        ],
        tmp_path,
        env,
    )
    assert r.returncode == 0, r.stderr
    mod, bench_dir, paper_dir = (Path(x) for x in r.stdout.split())
    site = str(v / "lib")
    assert str(mod).startswith(site) and str(bench_dir).startswith(site) and str(paper_dir).startswith(site)
    assert bench_dir.parts[-3:] == ("tpo_eval", "data", "benchmarks")

    ls = _run([str(bin_ / "tpo-eval"), "ls"], tmp_path, env)
    assert ls.returncode == 0, ls.stderr
    shipped = sorted(p.stem for p in (REPO / "benchmarks").glob("*.yaml"))
    listed = [x.split()[0] for x in ls.stdout.split("task families:")[0].splitlines()[1:]]
    assert sorted(listed) == shipped and all(
        str(bench_dir) in x for x in ls.stdout.splitlines()[1 : len(shipped)]
    )

    verify = _run([str(bin_ / "tpo-eval"), "verify"], tmp_path, env)
    assert verify.returncode == 0, verify.stdout[-2000:]
    assert verify.stdout.splitlines()[-1].endswith("12 known published inconsistencies (errata)")
    table = _run([str(bin_ / "tpo-eval"), "table", "mvbench", "--format", "markdown"], tmp_path, env)
    assert table.returncode == 0 and "| VideoChat-TPO " in table.stdout


def test_installed_cli_scores_qvhighlights_like_the_official_evaluator(
    venv: tuple[Path, dict[str, str]], tmp_path: Path, shared_data: Path
) -> None:
    v, env = venv
    qvh = shared_data / "qvhighlights"
    r = _run(
        [
            str(v / "bin" / "tpo-eval"),
            "score",
            "qvhighlights",
            "--predictions",
            str(qvh / "sample_val_preds.jsonl"),
            "--annotations",
            str(qvh),
            "--json",
        ],
        tmp_path,
        env,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    micro = json.loads(r.stdout)["overall"]["micro"]
    official = json.loads((qvh / "sample_val_preds_metrics_raw.json").read_text())["brief"]
    assert {k: micro[f"official/{k}"] for k in official} == official


def test_wheel_carries_the_demo_base(venv: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    """The demo's stages name ``model.base: demo_base``: the installed package must find its weights."""
    v, env = venv
    r = _run(
        [
            str(v / "bin" / "python"),
            "-c",
            "from tpo_train.presets import materialize; print(materialize('demo_base'))",
        ],
        tmp_path,
        env,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    folder = Path(r.stdout.split()[-1])
    assert str(folder).startswith(str(v / "lib")), folder
    shipped = REPO / "tpo_train" / "assets" / "demo_base"
    assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in shipped.iterdir())
    assert (folder / "model.safetensors").read_bytes() == (shipped / "model.safetensors").read_bytes()
