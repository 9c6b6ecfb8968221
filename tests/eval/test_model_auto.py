"""``--model auto`` (the default with ``--ckpt``) picks the adapter from the checkpoint folder's files: a TPO
model
folder from tpo-train, a transformers image-text-to-text model, or a remote-code checkpoint (which then needs
``--trust-remote-code``). Detection reads JSON only: no weights, no model code."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from tests.helpers.videochat_tpo_standin import CONFIG as VIDEOCHAT_TPO_CONFIG
from tpo_eval.cli import main
from tpo_eval.models.auto import TPO_MANIFEST, auto_model, detect
from tpo_eval.models.base import ModelError


def _folder(tmp_path, name, files):
    d = tmp_path / name
    d.mkdir()
    for f, content in files.items():
        (d / f).write_text(json.dumps(content))
    return d


def test_three_folder_kinds(tmp_path):
    tpo = _folder(tmp_path, "tpo", {TPO_MANIFEST: {"format_version": 1, "spec": {}}})
    ov = _folder(
        tmp_path,
        "ov",
        {
            "config.json": {
                "model_type": "llava_onevision",
                "architectures": ["LlavaOnevisionForConditionalGeneration"],
            }
        },
    )
    remote = _folder(tmp_path, "VideoChat-TPO", {"config.json": VIDEOCHAT_TPO_CONFIG})
    assert detect(tpo)[::2] == ("tpo", False)
    assert detect(ov)[::2] == ("hf", False)
    assert detect(remote)[::2] == ("videochat_tpo", True)
    # A TPO folder also holding a config.json is still a TPO folder: the manifest decides.
    (ov / TPO_MANIFEST).write_text("{}")
    assert detect(ov)[0] == "tpo"


def test_other_remote_code_and_unknown_folders(tmp_path):
    itt = _folder(
        tmp_path,
        "itt",
        {
            "config.json": {
                "model_type": "custom_vlm",
                "auto_map": {
                    "AutoConfig": "cfg.C",
                    "AutoModelForImageTextToText": "modeling_custom.CustomVLM",
                },
            }
        },
    )
    assert detect(itt)[::2] == ("hf", True)
    other = _folder(tmp_path, "other", {"config.json": {"auto_map": {"AutoModel": "m.Thing"}}})
    with pytest.raises(ModelError, match="remote code .*AutoModel.* that no adapter knows"):
        detect(other)
    bert = _folder(tmp_path, "bert", {"config.json": {"model_type": "bert"}})
    with pytest.raises(ModelError, match="model_type 'bert', not an image-text-to-text model"):
        detect(bert)
    empty = _folder(tmp_path, "empty", {"notes.json": {}})
    with pytest.raises(
        ModelError, match=r"neither tpo_model.json nor config.json \(found: \['notes.json'\]\)"
    ):
        detect(empty)
    with pytest.raises(ModelError, match="no such folder"):
        detect(tmp_path / "missing")


def test_manifest_name_matches_tpo_train():
    """tpo_eval must not import tpo_train, so the manifest name is a copy; this pins it to the original."""
    pytest.importorskip("torch")
    from tpo_train.model.state import SPEC_FILE

    assert TPO_MANIFEST == SPEC_FILE


def test_auto_builds_the_detected_adapter(tmp_path):
    remote = _folder(tmp_path, "VideoChat-TPO", {"config.json": VIDEOCHAT_TPO_CONFIG})
    with pytest.raises(
        ModelError,
        match=r"^--ckpt .*VideoChat-TPO runs its own Python: config.json auto_map loads "
        r"modeling_videochate.MultiModalLLM_PT .*--trust-remote-code$",
    ):
        auto_model(ckpt=str(remote))
    pytest.importorskip("torch")
    tpo = _folder(tmp_path, "tpo", {TPO_MANIFEST: {"format_version": -1, "spec": {}}})
    with pytest.raises(ModelError, match="format_version -1"):  # the tpo adapter's own reading of the folder
        auto_model(ckpt=str(tpo))
    with pytest.raises(ModelError, match="needs --ckpt"):
        auto_model(ckpt=None)


def test_auto_builds_hf_for_a_transformers_checkpoint(tmp_path):
    pytest.importorskip("torch")
    from tpo_eval.models.hf import HFVideoModel
    from tpo_train.tiny import build_tiny_llava_ov

    m = auto_model(ckpt=str(build_tiny_llava_ov(tmp_path / "ov", seed=0)))
    assert isinstance(m, HFVideoModel) and m.fingerprint()["model"] == "hf"


def test_cli_default_model(tmp_path, shared_data):
    """Without --ckpt the default stays hf (which asks for a checkpoint); with --ckpt it is auto."""
    from tests.helpers.videos import standin_root

    ann = shared_data / "mvbench"
    root = standin_root(tmp_path / "data", "mvbench", ann, limit=1, tasks=["action_antonym"])
    base = [
        "run",
        "mvbench",
        "--data-root",
        str(root),
        "--annotations",
        str(ann),
        "--tasks",
        "action_antonym",
        "--limit",
        "1",
        "--no-progress",
    ]
    r = CliRunner().invoke(main, base)
    assert r.exit_code == 2 and "--model hf needs --ckpt" in r.stderr
    bert = _folder(tmp_path, "bert", {"config.json": {"model_type": "bert"}})
    r = CliRunner().invoke(main, base + ["--ckpt", str(bert)])
    assert r.exit_code == 2 and "--model auto: " in r.stderr and "model_type 'bert'" in r.stderr
