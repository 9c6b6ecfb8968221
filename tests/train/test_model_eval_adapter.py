"""The ``tpo`` model adapter of tpo-eval: a tiny TPO checkpoint answers MCQ text requests and scores
Charades-STA (real annotations, generated stand-in videos) through its temporal head via ``tpo-eval run``."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("peft")

from tpo_eval.types import Prompt, Request  # noqa: E402

# noqa: E402
from tpo_train.model import RegionHeadSpec, TemporalHeadSpec, TPOModel, TPOModelSpec, save_tpo_model
from tpo_train.tiny import build_tiny_llava_ov  # noqa: E402


@pytest.fixture(scope="module")
def tiny_ckpt(tmp_path_factory):
    root = tmp_path_factory.mktemp("tpo_ckpt")
    base = build_tiny_llava_ov(root / "base")
    # model features: the head reads the base model's own frame and token features (LM width)
    heads = {
        "temporal": TemporalHeadSpec(hidden=32, nheads=4, num_queries=5, num_dummies=4),
        "region": RegionHeadSpec(),
    }
    model = TPOModel.build(TPOModelSpec(base=str(base), heads=heads, seed=3))
    return save_tpo_model(model, root / "tpo")


def _adapter(ckpt, **kw):
    from tpo_eval.models.base import build_model

    return build_model("tpo", ckpt=str(ckpt), **kw)


def _request(kind, frames, user="What is the person doing?", prefix="", duration=None):
    return Request(
        sample_id="x",
        kind=kind,
        prompt=Prompt(system="", user=user, assistant_prefix=prefix),
        frames=frames,
        duration=duration,
    )


def test_mcq_and_span_requests(tiny_ckpt):
    m = _adapter(tiny_ckpt)
    assert m.supports == frozenset({"mcq", "generate", "span"})
    frames = (np.random.RandomState(0).rand(16, 48, 48, 3) * 255).astype(np.uint8)
    mcq = m.predict([_request("mcq", frames, prefix="Best option:(")])[0]
    direct = m.model.generate(
        m.model.adapter.encode("", "What is the person doing?", "Best option:(", video=frames),
        max_new_tokens=100,
    )
    assert mcq.error is None and mcq.text == direct.text and mcq.windows is None
    span = m.predict([_request("span", frames, user="Find a person opening the door.", duration=30.0)])[0]
    assert span.error is None and len(span.windows) == 5 and len(span.saliency) == 16
    assert [w[2] for w in span.windows] == sorted((w[2] for w in span.windows), reverse=True)
    assert all(0.0 <= s <= e <= 30.0 for s, e, _ in span.windows)
    other = m.predict(
        [_request("span", frames[::-1].copy(), user="Find a person opening the door.", duration=30.0)]
    )[0]
    assert other.saliency != span.saliency  # the head reads the frames
    bad = m.predict([_request("span", frames, duration=None)])[0]
    assert bad.error is not None and "duration" in bad.error  # a recorded failure, not a crash


def test_bad_checkpoint_folder_is_a_model_error(tmp_path):
    from tpo_eval.models.base import ModelError

    with pytest.raises(ModelError, match="tpo_model.json"):
        _adapter(tmp_path)


def test_charades_run_scores_the_temporal_head(tiny_ckpt, shared_data, tmp_path):
    from tests.helpers.videos import run_charades_cli

    doc, rows = run_charades_cli(tiny_ckpt, shared_data / "charades_sta", tmp_path, limit=4)
    assert doc["overall"]["n_total"] == 4 and doc["overall"]["n_failed"] == 0
    assert doc["overall"]["n_parsed"] == {"official": 4, "lenient": 4}  # head windows: read alike
    for row in rows:
        assert len(row["windows"]) == 5 and len(row["saliency"]) == 16
        assert (
            row["answers"]["official"]["windows"][0] == row["windows"][0]
        )  # the head's top window is scored
    # the recorded per-sample R1@0.5 follows from the head's first window and the gold span
    from tpo_eval.tg.iou import hull_iou

    gold = {"test/0": (24.3, 30.4), "test/1": (24.3, 30.4), "test/2": (24.3, 30.4), "test/3": (24.3, 30.4)}
    for row in rows:
        s, e, _ = row["windows"][0]
        iou = hull_iou((s, e), gold[row["id"]])
        assert row["scores"]["official"]["mIoU"] == pytest.approx(iou)
    assert doc["overall"]["micro"]["official/mIoU"] == pytest.approx(
        100 * sum(r["scores"]["official"]["mIoU"] for r in rows) / 4
    )
