"""Same seed → byte-identical annotation files and identical decoded frames; another seed → another world; a
rerun into the same folder is a no-op; a folder holding other settings is refused."""
from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from tpo_eval.video.decode import decode
from tpo_train.cli import main
from tpo_train.synth import WorldError, generate_world

from .conftest import SEED


def _frames(path):
    return decode(path, "video", lambda a, b, fps: list(range(a, b + 1))).frames


def test_same_seed_same_bytes_and_frames(world, tmp_path):
    again = generate_world(tmp_path / "again", seed=SEED, preset="tiny")
    assert not again.reused and again.settings_sha256 == world.settings_sha256
    assert again.files == world.files and len(world.files) > 20
    for rel in world.files:  # the manifest's hashes, and the bytes themselves
        assert (again.root / rel).read_bytes() == (world.root / rel).read_bytes(), rel
    assert (again.root / "world.json").read_bytes() == (world.root / "world.json").read_bytes()
    for vid in ("train_0000", "heldout_0003"):
        a, b = _frames(world.root / "videos" / f"{vid}.mp4"), _frames(again.root / "videos" / f"{vid}.mp4")
        assert a.shape == (16, 48, 48, 3) and np.array_equal(a, b)


def test_other_seed_other_world(world, tmp_path):
    other = generate_world(tmp_path / "other", seed=SEED + 1, preset="tiny")
    assert other.settings_sha256 != world.settings_sha256
    differ = [rel for rel in world.files if other.files.get(rel) != world.files[rel]]
    assert "charades/heldout/charades_sta.txt" in differ and "gt/train.jsonl" in differ
    assert not np.array_equal(_frames(world.root / "videos" / "train_0000.mp4"),
                              _frames(other.root / "videos" / "train_0000.mp4"))


def test_rerun_reuses_and_other_settings_are_refused(world, tmp_path):
    before = {p: p.stat().st_mtime_ns for p in world.root.rglob("*.json*")}
    again = generate_world(world.root, seed=SEED, preset="tiny")
    assert again.reused and again.files == world.files
    assert {p: p.stat().st_mtime_ns for p in world.root.rglob("*.json*")} == before
    with pytest.raises(WorldError, match="holds another world"):
        generate_world(world.root, seed=SEED + 1, preset="tiny")
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(WorldError, match="not a synthetic world"):
        generate_world(tmp_path / "busy", seed=SEED, preset="tiny")


def test_cli_reuses_and_exits_2_on_a_foreign_folder(world, tmp_path):
    r = CliRunner().invoke(main, ["synth", "--out", str(world.root), "--seed", str(SEED), "--preset", "tiny"])
    assert r.exit_code == 0, r.output
    assert r.stdout.startswith(f"reused {world.root}") and "best constant span" in r.stdout
    r = CliRunner().invoke(main, ["synth", "--out", str(world.root), "--seed", "9", "--preset", "tiny"])
    assert r.exit_code == 2 and "holds another world" in r.output
