"""Multi-turn conversations (VideoChat2-IT style): every assistant turn is a target, everything else is -100 —
checked token by token on the tiny tokenizer against the hand-written ChatML text, and through the data
path."""

from __future__ import annotations

import types

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from tpo_train.data.batches import BatchBuilder  # noqa: E402
from tpo_train.data.examples import ConversationExample, Origin, Turn  # noqa: E402

SYSTEM = "Be brief."
TURNS = [("What is the man doing?", "He opens the door."), ("Why?", "To leave.")]


@pytest.fixture(scope="module")
def adapter(tmp_path_factory):
    from tpo_train.model.base import load_adapter
    from tpo_train.tiny import build_tiny_llava_ov

    return load_adapter(build_tiny_llava_ov(tmp_path_factory.mktemp("tiny") / "base"))


def _tok(adapter, text):
    return adapter.tokenizer(text, add_special_tokens=False)["input_ids"]


def _expected(adapter, second_user="Why?"):
    eos = adapter.tokenizer.convert_tokens_to_ids("<|im_end|>")
    p1 = _tok(
        adapter,
        f"<|im_start|>system\n{SYSTEM}<|im_end|>\n<|im_start|>user\nWhat is the man doing?<|im_end|>\n"
        f"<|im_start|>assistant\n",
    )
    a1 = _tok(adapter, "He opens the door.") + [eos]
    p2 = _tok(adapter, f"\n<|im_start|>user\n{second_user}<|im_end|>\n<|im_start|>assistant\n")
    a2 = _tok(adapter, "To leave.") + [eos]
    return p1 + a1 + p2 + a2, [-100] * len(p1) + a1 + [-100] * len(p2) + a2


def test_two_turn_label_mask_is_exact(adapter):
    ex = adapter.encode_turns(SYSTEM, TURNS)
    ids, labels = _expected(adapter)
    assert list(ex.input_ids) == ids and list(ex.labels) == labels
    assert adapter.tokenizer.decode(list(ex.input_ids)) == (
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nWhat is the man doing?<|im_end|>\n"
        "<|im_start|>assistant\nHe opens the door.<|im_end|>\n<|im_start|>user\nWhy?<|im_end|>\n"
        "<|im_start|>assistant\nTo leave.<|im_end|>"
    )
    targets = adapter.tokenizer.decode([t for t in ex.labels if t != -100])
    assert targets == "He opens the door.<|im_end|>To leave.<|im_end|>"
    one = adapter.encode_turns(SYSTEM, TURNS[:1])
    assert one == adapter.encode(
        SYSTEM, TURNS[0][0], answer=TURNS[0][1]
    )  # one turn = the single-turn encoding
    with pytest.raises(ValueError, match="at least one"):
        adapter.encode_turns(SYSTEM, [])


def test_video_goes_with_the_first_user_message(adapter):
    frames = (np.random.RandomState(0).rand(4, 32, 32, 3) * 255).astype(np.uint8)
    ex = adapter.encode_turns(SYSTEM, TURNS, video=frames)
    single = adapter.encode(SYSTEM, TURNS[0][0], answer=TURNS[0][1], video=frames)
    video_id = adapter.model.config.video_token_id
    n_video = sum(t == video_id for t in single.input_ids)
    first_label = next(i for i, t in enumerate(ex.labels) if t != -100)
    assert n_video > 0 and sum(t == video_id for t in ex.input_ids[:first_label]) == n_video
    n = len(single.input_ids)
    assert ex.input_ids[:n] == single.input_ids and ex.labels[:n] == single.labels
    assert ex.vision["pixel_values_videos"].shape == single.vision["pixel_values_videos"].shape


def _builder(adapter, max_text_len=512):
    model = types.SimpleNamespace(adapter=adapter, heads={})
    turns = (Turn(TURNS[0][0], TURNS[0][1], SYSTEM), Turn(TURNS[1][0], TURNS[1][1], SYSTEM))
    ex = ConversationExample("chat/1", "chat", Origin("chat.json", 1), None, None, turns)
    other = ConversationExample(
        "chat/2",
        "chat",
        Origin("chat.json", 2),
        None,
        None,
        (turns[0], Turn("Why?", "To leave.", "Answer in one word.")),
    )
    return BatchBuilder(model, {"chat": [ex, other]}, {}, seed=0, frames=4, max_text_len=max_text_len)


def test_data_path_trains_every_turn(adapter):
    b = _builder(adapter)
    batch = b.build([("chat", 0), ("chat", 1)], step=0)
    for row, second_user in ((0, "Why?"), (1, "Answer in one word.\nWhy?")):  # a later, different instruction
        ids, labels = _expected(adapter, second_user)  # is asked before that turn's question
        n = len(ids)
        assert batch.input_ids[row, :n].tolist() == ids and batch.labels[row, :n].tolist() == labels
        assert (batch.labels[row, n:] == -100).all()
    assert b.truncated_turns == 0


def test_long_conversation_keeps_whole_leading_turns(adapter):
    single = adapter.encode(SYSTEM, TURNS[0][0], answer=TURNS[0][1])
    b = _builder(adapter, max_text_len=len(single.input_ids))  # room for the first turn only
    batch = b.build([("chat", 0)], step=0)
    assert batch.input_ids[0].tolist() == list(single.input_ids) and batch.labels[0].tolist() == list(
        single.labels
    )
    assert b.truncated_turns == 1
    b = _builder(adapter, max_text_len=len(_expected(adapter)[0]))  # exactly fits: nothing cut
    assert (
        b.build([("chat", 0)], step=0).labels[0].tolist() == _expected(adapter)[1] and b.truncated_turns == 0
    )


def test_past_assistant_messages_formatted_unlike_the_generation_prompt(adapter):
    """A template (like LLaVA-OV's own) that writes ``assistant \\n`` for past answers but ``assistant\\n`` as
    the generation prompt, and no newline after ``<|im_end|>``: each answer still follows the generation
    prompt."""
    template = (
        "{% for m in messages %}{{ '<|im_start|>' + m['role'] + ' ' }}"
        "{% for c in m['content'] | selectattr('type', 'equalto', 'text') %}{{ '\n' + c['text'] }}{% endfor "
        "%}"
        "{{ '<|im_end|>' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif "
        "%}"
    )
    old, adapter.processor.chat_template = adapter.processor.chat_template, template
    try:
        ex = adapter.encode_turns("", TURNS)
    finally:
        adapter.processor.chat_template = old
    assert adapter.tokenizer.decode(list(ex.input_ids)) == (
        "<|im_start|>user \nWhat is the man doing?<|im_end|><|im_start|>assistant\nHe opens the "
        "door.<|im_end|><|im_start|>user \nWhy?<|im_end|><|im_start|>assistant\nTo leave.<|im_end|>"
    )
    targets = adapter.tokenizer.decode([t for t in ex.labels if t != -100])
    assert targets == "He opens the door.<|im_end|>To leave.<|im_end|>"
