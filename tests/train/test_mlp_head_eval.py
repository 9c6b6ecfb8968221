"""The MLP temporal-head ablation (main paper Table 11) end to end: the head kind lives in the model spec, so
a checkpoint of ``ablation_mlp_head`` loads through ``load_tpo_model`` and is scored on Charades-STA (real
annotations, generated stand-in videos) by ``tpo-eval run --model tpo``, with its spans from the MLP head."""

from __future__ import annotations

import json

import pytest
import torch

from tpo_train.heads.temporal_mlp import MLPTemporalHead
from tpo_train.model import TemporalHeadSpec, TPOModelSpec

from ._recipe_helpers import TINY, load, run_stage, tiny_cache  # noqa: F401

# no mask head: SAM2 adds build time on both sides and nothing here is about masks
NO_MASK = ("model.heads.mask=null", "optim.lr.mask_adapter=null", "optim.lr.box_encoder=null")


def test_spec_records_the_head_kind():
    spec = TPOModelSpec(base="b", heads={"temporal": TemporalHeadSpec(kind="mlp", mlp_hidden=8)})
    d = json.loads(json.dumps(spec.to_dict()))
    assert d["heads"]["temporal"]["kind"] == "mlp" and TPOModelSpec.from_dict(d) == spec
    del d["heads"]["temporal"]["kind"]  # a folder written before the kind existed holds a DETR head
    assert TPOModelSpec.from_dict(d).heads["temporal"].kind == "detr"
    with pytest.raises(ValueError, match="'conv' is not one of detr, mlp"):
        TemporalHeadSpec(kind="conv")
    from tpo_train.config import ConfigError

    with pytest.raises(ConfigError, match=r"model.heads.temporal.kind: 'conv' is not 'detr' or 'mlp'"):
        load("ablation_mlp_head_stage2", "model.heads.temporal.kind=conv", check_paths=False)


@pytest.fixture(scope="module")
def mlp_run(tmp_path_factory):
    return run_stage(
        "ablation_mlp_head_stage2",
        tmp_path_factory.mktemp("mlp"),
        *TINY,
        "train.max_steps=3",
        "init_from=base",
        *NO_MASK,
    )


def test_mlp_checkpoint_loads_from_its_spec(mlp_run):
    from tpo_train.model import load_tpo_model, read_tpo_spec

    rec, final = mlp_run
    assert isinstance(rec.model.heads["temporal"], MLPTemporalHead)
    assert [r["temporal_loss"] for r in rec.history if "temporal_loss" in r]  # the MLP head trained
    assert read_tpo_spec(final).heads["temporal"].kind == "mlp"
    loaded = load_tpo_model(final)  # the spec alone rebuilds the MLP head
    assert isinstance(loaded.heads["temporal"], MLPTemporalHead)
    trained = dict(rec.model.heads["temporal"].named_parameters())
    for name, p in loaded.heads["temporal"].named_parameters():
        assert torch.equal(p, trained[name]), name


def test_charades_run_scores_the_mlp_head(mlp_run, shared_data, tmp_path, monkeypatch):
    from tests.helpers.videos import run_charades_cli
    from tpo_eval.tg.iou import hull_iou

    _, final = mlp_run
    decoded = []  # what the MLP head itself answered, in request order
    real_decode = MLPTemporalHead.decode

    def spy(self, pred, inputs=None):
        assert pred.shape == (1, 2)  # one (start, end) per request: the MLP's own output, no DETR queries
        out = real_decode(self, pred, inputs)
        decoded.extend(out)
        return out

    monkeypatch.setattr(MLPTemporalHead, "decode", spy)
    doc, rows = run_charades_cli(final, shared_data / "charades_sta", tmp_path, limit=3)
    assert doc["overall"]["n_total"] == 3 and doc["overall"]["n_failed"] == 0
    assert doc["overall"]["n_parsed"] == {"official": 3, "lenient": 3}  # head windows: read alike
    assert len(decoded) == 3
    gold, duration = (24.3, 30.4), 30.96  # test/0..2 of the real Charades-STA test file (video 3MSZA)
    for row, head_out in zip(rows, decoded):
        # exactly the MLP head's one window (score 1.0), and no saliency curve (the DETR head gives
        # num_queries ranked windows and a per-clip curve)
        assert row["windows"] == [list(w) for w in head_out.windows] and row["saliency"] is None
        ((s, e, score),) = row["windows"]
        assert score == 1.0 and 0.0 <= s < e <= duration
        assert row["answers"]["official"]["windows"][0] == row["windows"][0]
        assert row["scores"]["official"]["mIoU"] == pytest.approx(hull_iou((s, e), gold))
    assert doc["overall"]["micro"]["official/mIoU"] == pytest.approx(
        100 * sum(r["scores"]["official"]["mIoU"] for r in rows) / 3
    )


def test_checkpoint_from_before_the_kind_field(mlp_run, tmp_path):
    """An ablation checkpoint whose spec has no ``kind`` (written before it existed) reads as DETR from the
    spec alone; ``checkpoint.load_model`` takes the MLP kind from the manifest's config and loads it."""
    import shutil

    from tpo_train.checkpoint import load_model
    from tpo_train.model import load_tpo_model

    rec, final = mlp_run
    old = shutil.copytree(final, tmp_path / "old")
    meta = json.loads((old / "tpo_model.json").read_text())
    for key in ("kind", "mlp_hidden"):
        del meta["spec"]["heads"]["temporal"][key]
    (old / "tpo_model.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="unexpected key"):
        load_tpo_model(old)
    model = load_model(old)
    assert isinstance(model.heads["temporal"], MLPTemporalHead)
    assert torch.equal(model.heads["temporal"].mlp[2].weight, rec.model.heads["temporal"].mlp[2].weight)
