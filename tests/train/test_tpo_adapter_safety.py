"""Issue 13: the ``tpo`` adapter refuses pickled (.bin) base weights unless asked, and refuses --model-arg
keys it does not read (a misspelling used to run silently with the default)."""

from __future__ import annotations

import shutil

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("peft")

from tpo_eval.models.base import ModelError, build_model  # noqa: E402
from tpo_eval.models.checks import check_model_args  # noqa: E402
from tpo_train.model import TPOModel, TPOModelSpec, save_tpo_model  # noqa: E402
from tpo_train.tiny import build_tiny_llava_ov  # noqa: E402


def test_pickled_base_weights_need_an_explicit_opt_in(tmp_path):
    from safetensors.torch import load_file

    base = build_tiny_llava_ov(tmp_path / "base")
    ckpt = save_tpo_model(TPOModel.build(TPOModelSpec(base=str(base), heads={}, seed=0)), tmp_path / "tpo")
    pickled = tmp_path / "base_bin"
    shutil.copytree(base, pickled)
    for f in pickled.glob("*.safetensors"):
        torch.save(load_file(str(f)), pickled / "pytorch_model.bin")
        f.unlink()
    with pytest.raises(
        ModelError, match=r"base model .*base_bin has only pickled weights \(pytorch_model.bin\)"
    ):
        build_model("tpo", ckpt=str(ckpt), base=str(pickled))
    m = build_model("tpo", ckpt=str(ckpt), base=str(pickled), allow_bin="true")
    assert m.features is None  # no temporal head: span requests are answered in text
    with pytest.raises(
        ModelError,
        match=r"'max_new_tokns' \(did you mean 'max_new_tokens'\?\): not an argument "
        r"of --model tpo",
    ):
        check_model_args("tpo", {"max_new_tokns": "2"})
    check_model_args("tpo", {"max_new_tokens": "2", "span_mode": "force"})
