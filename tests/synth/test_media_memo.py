"""The media memo (tpo_train/data/memo.py) changes how long a step takes, never what it computes."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from tpo_train.data.memo import MediaMemo, file_key


def test_memo_computes_once_keeps_within_budget_and_freezes():
    memo = MediaMemo(max_mb=1)
    calls = []

    def make(n):
        def f():
            calls.append(n)
            return np.zeros(n, dtype=np.uint8)

        return f

    a = memo.get("a", make(600_000))
    assert memo.get("a", make(600_000)) is a and calls == [600_000]
    assert not a.flags.writeable  # a consumer cannot change what a later step reads
    memo.get("b", make(600_000))  # 1.2 MB > 1 MiB: "a", least recently used, goes
    memo.get("a", make(600_000))
    assert calls == [600_000] * 3 and (memo.hits, memo.misses) == (1, 3)
    big = memo.get("c", make(2 * 2**20))  # larger than the whole budget: returned, not kept
    assert big.size == 2 * 2**20 and "c" not in memo._lru


def test_memo_off_and_bad_env(monkeypatch):
    monkeypatch.setenv("TPO_MEDIA_CACHE_MB", "0")
    memo = MediaMemo()
    memo.get("a", lambda: np.zeros(3))
    assert len(memo) == 0 and memo.misses == 0
    monkeypatch.setenv("TPO_MEDIA_CACHE_MB", "lots")
    with pytest.raises(ValueError, match="TPO_MEDIA_CACHE_MB='lots'"):
        MediaMemo()


def test_file_key_changes_when_the_file_is_rewritten(tmp_path):
    p = tmp_path / "v.mp4"
    p.write_bytes(b"abc")
    k = file_key(p)
    os.utime(p, ns=(1, 1))
    assert file_key(p) != k


def _stage2_losses(root, out, monkeypatch, mb):
    from tpo_train.config import load_config
    from tpo_train.recipe import Recipe

    monkeypatch.setenv("TPO_MEDIA_CACHE_MB", mb)
    cfg = load_config(
        "demo_stage2",
        [
            f"data.root={root}",
            f"output_dir={out}",
            "init_from=base",
            "train.max_steps=4",
            "train.batch_size=8",
            "train.micro_batch_size=8",
            "train.progress=false",
        ],
    )
    rec = Recipe(cfg)
    rec.run()
    return [(r["loss"], r["temporal_loss"]) for r in rec.history], rec.builder.memo


def test_training_is_bit_identical_with_the_memo_on_or_off(root, tmp_path, monkeypatch):
    import torch

    torch.set_num_threads(1)
    off, memo_off = _stage2_losses(root, tmp_path / "off", monkeypatch, "0")
    on, memo_on = _stage2_losses(root, tmp_path / "on", monkeypatch, "64")
    assert on == off
    assert memo_on.hits > 0 and memo_off.hits == 0  # 32 examples over 16 tiny clips: clips come back
    w_on = json.loads((tmp_path / "on" / "final" / "manifest.json").read_text())["files"]
    w_off = json.loads((tmp_path / "off" / "final" / "manifest.json").read_text())["files"]
    assert w_on["tpo_weights.safetensors"] == w_off["tpo_weights.safetensors"]
