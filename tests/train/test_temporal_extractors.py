"""The registered temporal-head extractors on hand-made inputs (exact values), the spec checks naming them,
and the saliency-contrast decode."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch


def _frames(n: int = 2) -> np.ndarray:
    f = np.full((n, 64, 64, 3), 60, np.uint8)
    f[..., 2] = 140  # a muted, even saturated backdrop (max channel 140): weighs nothing
    return f


def test_hue_blobs_measures_one_vivid_square_exactly():
    from tpo_train.heads.temporal_features import VIDEO_EXTRACTORS, extract_video

    f = _frames()
    f[0, 10:18, 20:28] = (230, 40, 40)  # red 8x8 square, fully vivid
    f[1, 10:18, 22:30] = (230, 40, 40)  # the same square 2 px to the right
    x = extract_video("hue_blobs", f)
    assert x.shape == (2, VIDEO_EXTRACTORS["hue_blobs"].dim) == (2, 30) and x.dtype == torch.float32
    mass, cx, cy, sx, sy = x[0].view(5, 6)  # rows: moment, columns: hue bin (0 = red)
    assert mass[0].item() == pytest.approx(64 / 4096 * 40) and not mass[1:].any()
    assert cx[0].item() == pytest.approx(23.5 / 63) and cy[0].item() == pytest.approx(13.5 / 63)
    std = np.sqrt((8**2 - 1) / 12) / 63 * 4  # a uniform run of 8 pixels
    assert sx[0].item() == pytest.approx(std, rel=1e-5) and sy[0].item() == pytest.approx(std, rel=1e-5)
    d = extract_video("hue_blobs_delta", f)
    assert d.shape == (2, 60) and torch.equal(d[:, :30], x) and not d[0, 30:].any()
    assert d[1, 30 + 6].item() == pytest.approx(2 / 63 * 4, rel=1e-5)  # Δcx of red, ×4
    assert d[1, 30:].abs().sum().item() == pytest.approx(2 / 63 * 4, rel=1e-5)  # nothing else changed


def test_hue_blobs_bins_the_four_world_colours_apart_and_weighs_fading():
    from tpo_train.heads.temporal_features import extract_video
    from tpo_train.synth.world import COLOURS

    f = _frames(1)
    for k, rgb in enumerate(COLOURS.values()):  # red, green, blue, yellow
        f[0, 4 + 12 * k : 12 + 12 * k, 4:12] = rgb
    mass = extract_video("hue_blobs", f)[0, :6]
    assert mass.tolist() == pytest.approx([0.625, 0.625, 0.625, 0.0, 0.625, 0.0])  # red, yellow, green, blue
    g = _frames(1)
    g[0, :8, :8] = (0.7 * np.array(COLOURS["red"]) + 0.3 * np.array([60, 60, 140])).round()  # fading in
    assert 0 < extract_video("hue_blobs", g)[0, 0].item() < 0.625
    assert not extract_video("hue_blobs", _frames(1)).any()  # the backdrop alone: nothing
    with pytest.raises(ValueError, match=r"hue_blobs: frames must be \(T, H, W, 3\)"):
        extract_video("hue_blobs", np.zeros((2, 8, 8), np.uint8))


def test_words_are_fixed_unit_codes_per_word_whatever_the_case_or_punctuation():
    from tpo_train.heads.temporal_features import TEXT_EXTRACTORS, extract_text

    a = extract_text("words", "the red square appears")
    b = extract_text("words", "The red circle appears.")
    assert a.shape == (4, TEXT_EXTRACTORS["words"].dim) == (4, 32) and a.dtype == torch.float32
    assert torch.allclose(a.norm(dim=1), torch.ones(4))
    assert torch.equal(a[[0, 1, 3]], b[[0, 1, 3]]) and not torch.equal(a[2], b[2])
    gram = a @ a.T - torch.eye(4)
    assert gram.abs().max().item() < 0.6  # different words: different directions
    assert extract_text("words", "?!").shape == (1, 32)  # no word: one row, never an empty query
    with pytest.raises(ValueError, match="unknown temporal text feature extractor 'bpe'; known: words"):
        extract_text("bpe", "x")


def test_spec_checks_name_the_text_extractor_and_its_size():
    from tpo_train.heads.temporal_features import check_dims, describe
    from tpo_train.model.spec import TemporalHeadSpec

    spec = TemporalHeadSpec(video_features="hue_blobs_delta", text_features="words")
    assert check_dims(spec, 64) is None
    assert describe(spec, 64) == "video 'hue_blobs_delta' 60-d, text 'words' 32-d"
    bad = dataclasses.replace(spec, t_feat_dim=64)
    assert check_dims(bad, 64) == "t_feat_dim 64 but the 'words' extractor gives 32-d features"
    glove = dataclasses.replace(spec, text_features="glove")
    assert check_dims(glove, 64) == "text_features 'glove' is not one of model, precomputed, words"


def test_saliency_contrast_decode_reorders_windows_by_the_heads_own_saliency():
    from tpo_train.heads.temporal import TemporalHead, make_temporal_inputs
    from tpo_train.heads.temporal_loss import TemporalPred
    from tpo_train.model.spec import TemporalHeadSpec

    spec = TemporalHeadSpec(hidden=16, nheads=2, num_queries=3, num_dummies=2, total_prompts=2)
    inp = make_temporal_inputs([torch.zeros(4, 8)], [torch.zeros(2, 8)], [8.0])
    logits = torch.log(torch.tensor([[[0.6, 0.4], [0.5, 0.5], [0.4, 0.6]]]))  # fg prob 0.6, 0.5, 0.4
    spans = torch.tensor([[[0.125, 0.25], [0.625, 0.25], [0.5, 1.0]]])  # clips {0}, {2}, all four (c, w)
    sal = torch.tensor([[0.0, 0.0, 2.0, 0.0]])
    pred = TemporalPred(logits, spans, sal, torch.zeros(1, 4), inp.video_mask)
    plain = TemporalHead(spec, 8).decode(pred, inp)[0]
    assert [w[:2] for w in plain.windows] == [(0.0, 2.0), (4.0, 6.0), (0.0, 8.0)]
    head = TemporalHead(dataclasses.replace(spec, decode_saliency=0.5), 8)
    wins = head.decode(pred, inp)[0].windows
    # clip 2 alone: 0.5 + 0.5 x (2 - 0) = 1.5; clip 0: 0.6 + 0.5 x (0 - 2/3); every clip: 0.4 + 0
    assert [w[:2] for w in wins] == [(4.0, 6.0), (0.0, 8.0), (0.0, 2.0)]
    assert [w[2] for w in wins] == pytest.approx([1.5, 0.4, 0.6 - 1 / 3])


def test_a_source_names_its_text_extractor_and_the_head_spec_follows():
    from tpo_train.config import ConfigError, load_config
    from tpo_train.stages import head_specs

    cfg = load_config("demo_stage2", ["data.root=/nowhere"], check_paths=False)
    spec = head_specs(cfg)["temporal"]
    assert (spec.video_features, spec.text_features) == ("hue_blobs_delta", "words")
    both = "data.sources.synth_qvh.features={extractor: hue_blobs_delta, text_extractor: words, text: q}"
    with pytest.raises(ConfigError, match="text: DIR goes with precomputed video files"):
        load_config("demo_stage2", ["data.root=/nowhere", both], check_paths=False)
    mixed = "data.sources.synth_qvh.features={extractor: hue_blobs_delta}"  # model token embeddings instead
    with pytest.raises(ConfigError, match="synth_qvh: video hue_blobs_delta, text model"):
        load_config("demo_stage2", ["data.root=/nowhere", mixed], check_paths=False)
