"""Checkpoints: manifest contents, loud errors for bad folders, exact mid-stage resume, and loading a training
checkpoint with the TPO model loader that the ``tpo`` eval adapter uses."""

from __future__ import annotations

import hashlib
import json
from importlib import metadata
from pathlib import Path

import pytest

from tpo_train.checkpoint import (
    CheckpointError,
    latest_checkpoint,
    list_checkpoints,
    read_manifest,
    verify_files,
)

from ._recipe_helpers import TINY, run_stage, tiny_cache  # noqa: F401

# stage 2 with the region and temporal heads (no SAM2: resume does not depend on it and it keeps this fast)
STAGE2 = (*TINY, "init_from=base", "~model.heads.mask", "optim.lr.mask_adapter=null")


@pytest.fixture(scope="module")
def interrupted(tmp_path_factory):
    """One uninterrupted 4-step run that also leaves checkpoints at steps 2 (and final)."""
    out = tmp_path_factory.mktemp("full")
    rec, final = run_stage("stage2_tiny", out, *STAGE2, "train.max_steps=4", "train.save_every=2")
    return rec, out, final


def test_resume_mid_stage_repeats_the_loss_sequence(interrupted, tmp_path):
    full, out, _ = interrupted
    assert [r["step"] for r in full.history] == [1, 2, 3, 4]
    # resume from step 2 into a fresh folder holding only that checkpoint
    import shutil

    resumed_out = tmp_path / "resumed"
    shutil.copytree(out / "step-000002", resumed_out / "step-000002")
    rec, _ = run_stage(
        "stage2_tiny", resumed_out, *STAGE2, "train.max_steps=4", "train.save_every=2", "train.resume=auto"
    )
    assert rec.start_step == 2 and [r["step"] for r in rec.history] == [3, 4]
    for key in ("loss", "lm_loss", "temporal_loss", "grad_norm"):
        a = [r.get(key) for r in full.history[2:]]
        b = [r.get(key) for r in rec.history]
        assert a == pytest.approx(b, abs=1e-6), key
    rows = [json.loads(x) for x in (resumed_out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [3, 4]


def test_resume_refuses_a_changed_config(interrupted, tmp_path):
    _, out, _ = interrupted
    import shutil

    shutil.copytree(out / "step-000002", tmp_path / "step-000002")
    with pytest.raises(CheckpointError, match="config differs"):
        run_stage(
            "stage2_tiny", tmp_path, *STAGE2, "train.max_steps=4", "train.resume=auto", "optim.lr.lora=1e-3"
        )
    with pytest.raises(CheckpointError, match="already finished"):
        run_stage("stage2_tiny", out, *STAGE2, "train.resume=" + str(out / "final"))


def test_manifest_describes_the_checkpoint(interrupted):
    rec, out, final = interrupted
    assert [p.name for p in list_checkpoints(out)] == ["step-000002", "final"] and latest_checkpoint(
        out
    ) == final
    man = read_manifest(final)
    assert (man["stage"], man["step"], man["total_steps"], man["final"], man["parent"]) == (
        "stage2",
        4,
        4,
        True,
        None,
    )
    assert man["config"] == rec.cfg.to_dict() and man["config_sha256"] == rec.cfg.sha256
    assert man["packages"]["torch"] == metadata.version("torch")
    assert set(man["git"]) == {"sha", "dirty"} and man["world_size"] == 1
    assert man["token_init"] == "randn"  # the released code's std-1 task tokens (model.token_init default)
    for name, src in man["data"].items():
        digest = (
            hashlib.sha256(Path(src["path"]).read_bytes()).hexdigest() if src["path"].endswith("l") else None
        )
        if digest:
            assert src["sha256"] == digest, name
        assert src["n_bad"] == 0 and src["n_examples"] > 0
    assert verify_files(final, man) == []
    assert not (final / "trainer_state.pt").exists() and (out / "step-000002" / "trainer_state.pt").exists()
    mid = read_manifest(out / "step-000002")
    assert (mid["step"], mid["final"]) == (2, False)


def test_corruption_and_bad_folders_are_reported(interrupted, tmp_path):
    _, out, final = interrupted
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(final, copy)
    (copy / "tpo_weights.safetensors").write_bytes(b"x")
    assert verify_files(copy, read_manifest(copy)) == ["tpo_weights.safetensors"]
    with pytest.raises(CheckpointError, match=f"does not exist; checkpoints next to it: {out}/step-000002"):
        read_manifest(out / "step-000009")
    with pytest.raises(CheckpointError, match="it holds checkpoints"):
        read_manifest(out)


def test_checkpoint_loads_with_the_tpo_model_loader(interrupted):
    """The eval side's ``tpo`` adapter loads checkpoints with ``load_tpo_model``: same weights as trained."""
    import torch

    from tpo_train.model import load_tpo_model, trainable_state_dict

    rec, _, final = interrupted
    loaded = load_tpo_model(final)
    assert sorted(loaded.heads) == ["region", "temporal"]
    a, b = trainable_state_dict(rec.model), trainable_state_dict(loaded)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


class _Marker:
    """A pickle payload that, if ever unpickled, creates a file (harmless proof that code ran)."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_tampered_trainer_state_never_runs_code(interrupted, tmp_path):
    """Issue 13: trainer state loads with weights_only=True after its hash is checked; a payload never
    runs."""
    import shutil
    from types import SimpleNamespace

    import torch

    from tpo_train.checkpoint import load_trainer_state, manifest_sha

    _, out, _ = interrupted
    ckpt = tmp_path / "step-000002"
    shutil.copytree(out / "step-000002", ckpt)
    man = read_manifest(ckpt)
    # every file is hashed, the resume state and the processor folder included
    assert {"trainer_state.pt", "config.yaml", "tpo_weights.safetensors", "tpo_model.json"} <= set(
        man["files"]
    )
    assert any(f.startswith("processor/") for f in man["files"])
    main = SimpleNamespace(is_main=True, rank=0)
    state = load_trainer_state(ckpt, main)  # the real state loads safely
    assert state["step"] == 2 and isinstance(state["rng"]["numpy"][1], list)
    marker = tmp_path / "PAYLOAD_RAN"
    torch.save({"step": 2, "engine": _Marker(marker), "rng": {}}, ckpt / "trainer_state.pt")
    with pytest.raises(CheckpointError, match="trainer_state.pt differ from the sha256"):
        load_trainer_state(ckpt, main)
    assert not marker.exists()
    # an attacker who also rewrites the manifest's hash still gets no code run: the load is weights_only
    man["files"]["trainer_state.pt"] = hashlib.sha256((ckpt / "trainer_state.pt").read_bytes()).hexdigest()
    (ckpt / "manifest.json").write_text(json.dumps(man))
    assert manifest_sha(ckpt)
    with pytest.raises(CheckpointError, match="weights_only"):
        load_trainer_state(ckpt, main)
    assert not marker.exists()
