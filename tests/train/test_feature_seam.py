"""The train → checkpoint → score seam of the temporal head: a checkpoint records which features its head was
trained on, and the ``tpo`` eval adapter feeds exactly those (or refuses in one line).

- a stage-3 checkpoint trained with the shipped precomputed-feature config (768-d video / 4096-d text files) is
  scored on Charades-STA (real annotations, stand-in videos) with ``--model-arg video_features=… text_features=…``;
- without the files, or with a head whose dims do not fit, ``tpo-eval run`` exits 2 with one line naming it;
- a head trained on a registered extractor (``rgb_hist``) needs nothing but the frames, in training and scoring.
"""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from tpo_train.model import read_tpo_spec

from ._recipe_helpers import TINY, load, run_stage, tiny_cache  # noqa: F401

NO_MASK = ("model.heads.mask=null", "optim.lr.mask_adapter=null", "optim.lr.box_encoder=null")
LIMIT = 3


@pytest.fixture(scope="module")
def stage3_ckpt(tmp_path_factory):
    """stage3 as shipped (precomputed InternVideo2/LLaMA-sized features), on the tiny model and data."""
    _, final = run_stage("stage3", tmp_path_factory.mktemp("s3"), *TINY, "train.max_steps=2", "init_from=base",
                         *NO_MASK)
    return final


def _features_for(annotations, root, limit):
    """Random CG-DETR-layout feature files (768-d clips, 4096-d tokens) for the first ``limit`` queries."""
    from tpo_eval.api import load_samples
    from tpo_eval.config import DataPaths, load_benchmark

    _, samples = load_samples(load_benchmark("charades_sta"), DataPaths(root, annotations), None, limit)
    rng = np.random.default_rng(0)
    (root / "fv").mkdir(), (root / "ft").mkdir()
    for s in samples:
        np.savez(root / "fv" / f"{s.meta['vid']}.npz", features=rng.normal(size=(12, 768)).astype(np.float32))
        np.savez(root / "ft" / f"qid{s.meta['qid']}.npz", last_hidden_state=rng.normal(size=(7, 4096)))
    return root / "fv", root / "ft"


def test_checkpoint_records_the_feature_kind(stage3_ckpt):
    spec = read_tpo_spec(stage3_ckpt).heads["temporal"]
    assert (spec.video_features, spec.text_features, spec.v_feat_dim, spec.t_feat_dim) == \
        ("precomputed", "precomputed", 768, 4096)


def test_precomputed_checkpoint_scored_on_charades(stage3_ckpt, shared_data, tmp_path):
    from tests.helpers.videos import run_charades_cli

    fv, ft = _features_for(shared_data / "charades_sta", tmp_path, LIMIT)
    doc, rows = run_charades_cli(stage3_ckpt, shared_data / "charades_sta", tmp_path, LIMIT, extra=[
        "--model-arg", f"video_features={fv}", "--model-arg", f"text_features={ft}"])
    assert doc["overall"]["n_total"] == LIMIT and doc["overall"]["n_failed"] == 0
    assert all(len(r["saliency"]) == 12 for r in rows)  # one score per precomputed clip row, not per frame
    assert doc["provenance"]["model"]["temporal_features"].startswith("video 'precomputed' 768-d")


def test_missing_or_mismatched_features_are_one_line(stage3_ckpt, shared_data, tmp_path):
    from click.testing import CliRunner

    from tests.helpers.videos import standin_root
    from tpo_eval.cli import main

    ann = shared_data / "charades_sta"
    root = standin_root(tmp_path / "media", "charades_sta", ann, limit=1)
    args = ["run", "charades_sta", "--model", "tpo", "--ckpt", str(stage3_ckpt), "--data-root", str(root),
            "--annotations", str(ann), "--limit", "1", "--out", str(tmp_path / "run")]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 2
    err = [ln for ln in r.output.splitlines() if ln.startswith("error")]
    assert len(err) == 1 and "precomputed features (video 'precomputed' 768-d, text 'precomputed' 4096-d)" \
        in err[0] and "--model-arg video_features=DIR" in err[0]
    # a head declaring dims its feature kind cannot give: refused at load, before any sample
    spec_file = stage3_ckpt / "tpo_model.json"
    bad = tmp_path / "bad"
    import shutil

    shutil.copytree(stage3_ckpt, bad)
    d = json.loads(spec_file.read_text())
    d["spec"]["heads"]["temporal"]["video_features"] = "rgb_hist"
    (bad / "tpo_model.json").write_text(json.dumps(d))
    args[args.index("--ckpt") + 1], args[-1] = str(bad), str(tmp_path / "run2")
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 2 and "v_feat_dim 768 but the 'rgb_hist' extractor gives 76-d features" in r.output
    assert "Traceback" not in r.output


def test_validate_catches_dims_that_do_not_match_the_files():
    from tpo_train.config import ConfigError

    load("stage3", *TINY, "init_from=base", *NO_MASK)  # the shipped dims match the (tiny) files
    with pytest.raises(ConfigError, match=r"video features of source \w+ are 768-d .* declares v_feat_dim 512"):
        load("stage3", *TINY, "init_from=base", *NO_MASK, "model.heads.temporal.v_feat_dim=512")
    with pytest.raises(ConfigError, match="architecture preset without weights"):
        load("stage3", *TINY, "init_from=base", *NO_MASK, "model.base=llava-ov-7b")


def test_extractor_features_train_and_score_through_one_path():
    from tpo_train.heads.temporal_features import VIDEO_EXTRACTORS, extract_video

    frames = np.zeros((3, 8, 8, 3), np.uint8)
    frames[1, :4, :4] = (255, 0, 0)  # a red quarter in the top-left cell of frame 1
    f = extract_video("rgb_hist", frames)
    assert f.shape == (3, VIDEO_EXTRACTORS["rgb_hist"].dim) and f.dtype == torch.float32
    assert f[0, 0] == 1.0 and f[1, 0] == 0.75 and f[1, 3 * 16] == 0.25  # black bin / red bin (r=3, g=0, b=0)
    assert torch.allclose(f[1, 64:67], torch.tensor([1.0, 0.0, 0.0]))  # mean RGB of the top-left cell


def test_saliency_lands_on_the_benchmarks_clip_grid():
    from tpo_eval.types import Prompt, Request
    from tpo_train.eval_adapter import clip_saliency

    r = Request("q", "span", Prompt("", ""), duration=8.0, clip_length=2.0)
    curve = tuple(float(i) for i in range(16))  # 16 head clips of 0.5 s
    assert clip_saliency(curve, r) == (2.0, 6.0, 10.0, 14.0)  # the head clip under each 2-s clip's centre
    assert clip_saliency(curve, Request("q", "span", Prompt("", ""), duration=8.0)) == curve  # no grid
    assert clip_saliency((), r) is None
    r3 = Request("q", "span", Prompt("", ""), duration=7.0, clip_length=2.0)  # a last, shorter clip counts
    assert len(clip_saliency(curve, r3)) == 4
