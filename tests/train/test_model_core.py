"""TPO model core on a tiny LLaVA-OV: tokens, LoRA placement, gradient flow, frozen parts, losses, state
dicts."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("peft")

from tpo_train.model import (  # noqa: E402
    NEW_TOKENS,
    TPOModel,
    TPOModelSpec,
    collate,
    load_tpo_model,
    load_trainable_state_dict,
    save_tpo_model,
    trainable_state_dict,
)
from tpo_train.tiny import build_tiny_llava_ov  # noqa: E402

from ._model_synth import region_examples, spec, temporal_examples  # noqa: E402


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    return build_tiny_llava_ov(tmp_path_factory.mktemp("tiny_base"), seed=0)


@pytest.fixture(scope="module")
def model(base):
    return TPOModel.build(spec(base))


def _batch(m, n_region=2, n_temporal=2, track=False):
    a = m.adapter
    rex, rt = region_examples(a, n_region)
    tex, ti, tt, _ = temporal_examples(a, n_temporal)
    exs, boxes = rex + tex, None
    if track:
        frames = np.zeros((4, 32, 32, 3), np.uint8)
        exs.append(
            a.encode(
                "",
                "Track the object in the video using a box with initial coordinates <track_box>.",
                answer="<track_begin><tracking>",
                video=frames,
            )
        )
        boxes = torch.tensor([[0.1, 0.2, 0.5, 0.6]])
    return collate(
        exs, a.pad_id, input_boxes=boxes, head_inputs={"temporal": ti}, targets={"region": rt, "temporal": tt}
    )


def test_new_tokens_are_single_ids_with_mean_rows(base, model):
    from transformers import LlavaOnevisionForConditionalGeneration

    orig = LlavaOnevisionForConditionalGeneration.from_pretrained(base)
    n_base = orig.get_input_embeddings().num_embeddings
    tok = model.adapter.tokenizer
    ids = tok.convert_tokens_to_ids(list(NEW_TOKENS))
    assert ids == list(range(n_base, n_base + 7))  # appended after the base vocabulary, in TPO's order
    assert tok("<time_begin><temp>", add_special_tokens=False)["input_ids"] == ids[1:3]
    for table, ref in (
        (model.adapter.input_embeddings().weight, orig.get_input_embeddings().weight),
        (model.adapter.output_embeddings().base_layer.weight, orig.lm_head.weight),
    ):
        assert table.shape[0] == n_base + 7
        assert torch.equal(table[:n_base], ref)
        assert torch.allclose(table[n_base:], ref.mean(0).expand(7, -1), atol=1e-7)


def test_lora_only_on_language_model(model):
    lora = [n for n, _ in model.param_groups()["lora"]]
    assert lora and all(".language_model." in n or n.startswith("base.lm_head.") for n in lora)
    suffixes = {n.split(".lora_")[0].rsplit(".", 1)[-1] for n in lora}
    assert suffixes == {
        "q_proj",
        "k_proj",
        "v_proj",
        "o_proj",
        "gate_proj",
        "up_proj",
        "down_proj",
        "lm_head",
    }
    a = dict(model.named_parameters())[
        "base.model.language_model.layers.0.self_attn.q_proj.lora_A.default.weight"
    ]
    assert a.shape == (16, 64)
    assert model.base.lm_head.scaling["default"] == 2.0  # α / r = 32 / 16
    assert not any("lora_" in n for n, _ in model.adapter.vision_modules()["vision_tower"].named_parameters())


def test_gradients_reach_trainables_and_base_rows_stay_bit_identical(base):
    torch.manual_seed(0)
    m = TPOModel.build(spec(base))
    emb_before = m.adapter.input_embeddings().weight.detach().clone()
    head_before = m.adapter.output_embeddings().base_layer.weight.detach().clone()
    vision_before = {n: p.detach().clone() for n, p in m.param_groups()["vision_tower"]}
    batch = _batch(m, track=True)
    trainable = [p for p in m.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(trainable, lr=1e-2, weight_decay=0.1)
    for _ in range(2):  # after one step LoRA B and zero-initialised head layers are non-zero: all grads flow
        opt.zero_grad()
        m(batch).loss.backward()
        opt.step()
    groups = m.param_groups()
    for g in ("lora", "box_encoder", "heads.region", "heads.temporal"):
        dead = [n for n, p in groups[g] if p.grad is None or not bool(p.grad.abs().sum() > 0)]
        assert not dead, f"{g}: no gradient for {dead[:3]}"
    tokens = dict(m.task_tokens.items())
    for task in ("region", "temporal", "mask"):  # the tracking example puts <tracking> in the batch
        assert float(tokens[task].grad.abs().sum()) > 0, task
    for g in ("vision_tower", "projector"):
        assert all(p.grad is None and not p.requires_grad for _, p in groups[g])
    assert all(torch.equal(p, vision_before[n]) for n, p in groups["vision_tower"])
    assert torch.equal(m.adapter.input_embeddings().weight, emb_before)
    assert torch.equal(m.adapter.output_embeddings().base_layer.weight, head_before)


def test_task_token_init_randn_by_default_scaled_as_an_option(base):
    """Released TPO draws the task tokens with std 1; ``scaled`` multiplies the same seeded draw by the std of
    the base embedding table. A spec saved before the field existed reads back as ``scaled``."""
    m = TPOModel.build(spec(base, token_init="randn"))
    s = TPOModel.build(spec(base, token_init="scaled"))
    std = float(s.adapter.input_embeddings().weight.float().std())
    for task in ("region", "temporal", "mask"):
        assert torch.allclose(s.task_tokens[task], m.task_tokens[task] * std, rtol=1e-6, atol=0)
    assert m.spec.token_init == "randn" and abs(float(m.task_tokens["temporal"].std()) - 1.0) < 0.3
    old = m.spec.to_dict()
    del old["token_init"]
    assert TPOModelSpec.from_dict(old).token_init == "scaled"
    with pytest.raises(ValueError, match="token_init"):
        spec(base, token_init="zeros")


def test_trained_new_rows_leave_base_rows_untouched(base):
    m = TPOModel.build(spec(base, train_new_rows=True))
    n_base = min(m.token_ids.new_ids)
    emb0 = m.adapter.input_embeddings().weight.detach().clone()
    batch = _batch(m, n_region=2, n_temporal=1)
    opt = torch.optim.AdamW([p for p in m.parameters() if p.requires_grad], lr=1e-2, weight_decay=0.1)
    for _ in range(2):
        opt.zero_grad()
        m(batch).loss.backward()
        opt.step()
    assert float(m.new_rows.output_delta.detach().abs().sum()) > 0
    assert float(m.new_rows.input_delta.detach().abs().sum()) > 0
    assert torch.equal(m.adapter.input_embeddings().weight[:n_base], emb0[:n_base])
    assert torch.equal(m.adapter.input_embeddings().weight, emb0)  # the deltas live apart from the table


def test_loss_is_lm_ce_plus_weighted_heads_and_placeholders_are_not_targets(model):
    model.eval()
    batch = _batch(model, n_region=1, n_temporal=1)
    with torch.no_grad():
        out = model(batch)
    placeholders = torch.tensor(list(model.token_ids.placeholder.values()))
    assert bool(torch.isin(batch.labels, placeholders).any())  # encode labels the whole answer ...
    labels = batch.labels.masked_fill(torch.isin(batch.input_ids, placeholders), -100)[:, 1:]
    ce = lambda lab: torch.nn.functional.cross_entropy(
        out.logits[:, :-1].flatten(0, 1),
        lab.flatten(),  # noqa: E731
        ignore_index=-100,
    )
    assert torch.allclose(out.lm_loss, ce(labels))  # ... and forward drops the placeholders from the targets
    assert not torch.allclose(out.lm_loss, ce(batch.labels[:, 1:]))
    # per example "<box_begin><boxes>" / "<time_begin><temp>" + end of turn: trigger and eos are the targets
    assert int((labels != -100).sum()) == 2 * 2
    expected = (
        out.lm_loss + 1.0 * out.head_losses["region"]["total"] + 0.05 * out.head_losses["temporal"]["total"]
    )
    assert torch.allclose(out.loss, expected)


def test_input_errors_name_the_problem(model):
    batch = _batch(model, n_region=1, n_temporal=1)
    with pytest.raises(ValueError, match="placeholder"):
        model(
            dataclasses.replace(
                batch, targets={**batch.targets, "region": region_examples(model.adapter, 3)[1]}
            )
        )
    with pytest.raises(ValueError, match="input box"):
        model(dataclasses.replace(batch, input_boxes=torch.zeros(1, 4)))
    with pytest.raises(ValueError, match="no such head"):
        model(dataclasses.replace(batch, targets={"mask": object()}))


def test_state_dict_roundtrip_reproduces_outputs(base, model, tmp_path):
    model.eval()
    with torch.no_grad():  # perturb so the round trip is not trivially the seeded init
        for _, p in model.param_groups()["lora"]:
            p.add_(0.01)
    batch = _batch(model, n_region=1, n_temporal=1)
    with torch.no_grad():
        ref = model(batch)
    out_dir = save_tpo_model(model, tmp_path / "ckpt")
    loaded = load_tpo_model(out_dir).eval()
    with torch.no_grad():
        got = loaded(batch)
    assert torch.equal(got.logits, ref.logits)
    assert torch.equal(got.head_preds["region"], ref.head_preds["region"])
    sd = trainable_state_dict(model)
    assert not any(k.startswith(("base.model.vision_tower", "base.model.multi_modal_projector")) for k in sd)
    with pytest.raises(ValueError, match="unexpected"):
        load_trainable_state_dict(loaded, {**sd, "heads.region.extra": torch.zeros(1)})
    with pytest.raises(ValueError, match="missing"):
        load_trainable_state_dict(loaded, {k: v for k, v in sd.items() if not k.startswith("heads.temporal")})


def test_merge_lora_folds_the_update_and_keeps_the_outputs(base):
    """Scoring folds LoRA into the base layers (tpo_train/model/lora.py): same logits up to float rounding, no
    peft wrapper left."""
    from peft.tuners.lora import LoraLayer

    from tpo_train.model.lora import merge_lora

    m = TPOModel.build(spec(base, dropout=0.0)).eval()
    lm = m.adapter.model
    ids = torch.tensor([m.adapter.tokenizer("Where is the red box? It moves left.")["input_ids"]])
    with torch.no_grad():
        plain = lm(input_ids=ids).logits  # LoRA B starts at zero: the update is still nothing
        g = torch.Generator().manual_seed(0)
        for n, p in m.named_parameters():
            if "lora_B" in n:
                p.copy_(torch.randn(p.shape, generator=g) * 0.1)
        before = lm(input_ids=ids).logits
        wrapped = sum(isinstance(x, LoraLayer) for x in lm.modules())
        merged = merge_lora(lm)
        after = lm(input_ids=ids).logits
    assert merged == wrapped > 0
    assert not any(isinstance(x, LoraLayer) for x in lm.modules())
    assert (before - plain).abs().max() > 1e-3  # the folded update changes the outputs
    torch.testing.assert_close(after, before, rtol=1e-5, atol=1e-5)
