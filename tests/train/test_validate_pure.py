"""Validation has no side effects: checking a tiny config does not build the tiny data it names."""
from __future__ import annotations


def test_validate_tiny_config_writes_nothing(tmp_path, monkeypatch):
    from tpo_train.config import load_config

    monkeypatch.setenv("TPO_TRAIN_CACHE", str(tmp_path))
    load_config("stage1_tiny", [], check_paths=True)
    assert list(tmp_path.iterdir()) == []  # neither the tiny data nor the tiny base model was built
