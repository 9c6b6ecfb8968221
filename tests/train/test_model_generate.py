"""After a few hundred task-assignment steps on a tiny mixture (templates of the seed's Tables 8–11 plus MCQ
chat), greedy generation emits the right trigger for every instruction template (with fills never seen in
training) and the routed head returns an output of the right type; chat prompts get no trigger."""

from __future__ import annotations

import random

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("peft")

from tpo_train.data.templates import TEMPLATE_SETS  # noqa: E402
from tpo_train.heads.base import BoxOutput, SpanOutput  # noqa: E402
from tpo_train.heads.temporal import make_temporal_inputs  # noqa: E402
from tpo_train.model import TPOModel, collate  # noqa: E402
from tpo_train.tiny import build_tiny_llava_ov  # noqa: E402

from ._model_synth import DT, DV, spec  # noqa: E402

STEPS = 500
TRAIN_FILLS = ("the cat", "a man running", "the red ball", "two dogs", "the door", "a woman", "the blue car")
TEST_FILLS = ("the green chair", "a person opening a box")
TASK_OF_SET = {"temporal": "temporal", "region": "region", "segmentation": "mask", "tracking": "mask"}
MCQ = (
    "Question: What is the person doing?\nOptions:\n(A) {x}\n(B) sitting\n(C) jumping\n"
    "Only give the best option."
)


def _prompt(set_name: str, template: str, fill: str) -> str:
    return template.format(query=fill, expr=fill, obj=fill, box="<track_box>")


def _example(a, rng: random.Random, video: np.ndarray, fills=TRAIN_FILLS):
    """One training example of the mixture: (encoded example, n <track_box> tokens)."""
    kind = rng.choice(list(TEMPLATE_SETS) + ["chat"])
    fill = rng.choice(fills)
    if kind == "chat":
        ans = rng.choice(["(A) ", "(B) ", "(C) "]) + "a person is sitting on a chair."
        return a.encode("", MCQ.format(x=fill), answer=ans, video=video), 0
    template = rng.choice(TEMPLATE_SETS[kind])
    task = TASK_OF_SET[kind]
    trig = {
        "temporal": "<time_begin><temp>",
        "region": "<box_begin><boxes>",
        "mask": "<track_begin><tracking>",
    }[task]
    return a.encode("", _prompt(kind, template, fill), answer=trig, video=video), int(kind == "tracking")


def test_generation_emits_the_right_trigger_and_head_output(tmp_path):
    torch.manual_seed(0)
    base = build_tiny_llava_ov(tmp_path / "base", seed=0)
    m = TPOModel.build(spec(base, dropout=0.0))
    m.set_trainable(["lora"])  # stage-1 style: task assignment through the LM only
    a = m.adapter
    rng = random.Random(0)
    video = (np.random.RandomState(0).rand(4, 32, 32, 3) * 255).astype(np.uint8)
    opt = torch.optim.AdamW([p for p in m.parameters() if p.requires_grad], lr=3e-3, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=STEPS, pct_start=0.1)
    m.train()
    for _ in range(STEPS):
        pairs = [_example(a, rng, video) for _ in range(8)]
        n_box = sum(n for _, n in pairs)
        batch = collate([e for e, _ in pairs], a.pad_id, input_boxes=torch.rand(n_box, 4) if n_box else None)
        opt.zero_grad()
        m(batch).loss.backward()
        opt.step()
        sched.step()
    m.eval()
    temporal_inputs = make_temporal_inputs([torch.randn(8, DV)], [torch.randn(4, DT)], [8.0])
    wrong = []
    for set_name, templates in TEMPLATE_SETS.items():
        task = TASK_OF_SET[set_name]
        for k, template in enumerate(templates):
            for fill in TEST_FILLS:
                ex = a.encode("", _prompt(set_name, template, fill), video=video)
                boxes = torch.tensor([[0.1, 0.2, 0.6, 0.7]]) if set_name == "tracking" else None
                gen = m.generate(
                    ex, head_inputs={"temporal": temporal_inputs}, input_boxes=boxes, max_new_tokens=3
                )
                if not gen.token_ids or gen.token_ids[0] != m.token_ids.trigger[task]:
                    wrong.append((set_name, k, fill, gen.raw_text))
                    continue
                assert gen.token_ids[1] == m.token_ids.placeholder[task]
                if task == "temporal":
                    out = gen.first("temporal")
                    assert isinstance(out, SpanOutput) and len(out.saliency) == 8
                    assert all(0.0 <= s <= e <= 8.0 for s, e, _ in out.windows)
                elif task == "region":
                    out = gen.first("region")
                    assert isinstance(out, BoxOutput) and all(0.0 <= v <= 1.0 for v in out.box)
                else:  # no mask head in this model: the trigger is emitted, nothing is routed
                    assert gen.head_outputs == ()
    assert not wrong, f"{len(wrong)} wrong trigger(s), e.g. {wrong[:3]}"
    for fill in TEST_FILLS:
        gen = m.generate(a.encode("", MCQ.format(x=fill), video=video), max_new_tokens=3)
        assert gen.head_outputs == () and gen.text.startswith("("), gen.raw_text
