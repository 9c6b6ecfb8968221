"""Run the ``videochat_tpo`` adapter on the authors' released model code with tiny random weights (CPU,
minutes).

    python scripts/check_videochat_tpo_release.py RELEASE_DIR [--work DIR] [--weights FILE]

RELEASE_DIR is a local copy of the ``inference/`` folder of github.com/OpenGVLab/TPO (or of the HF checkpoint
folder): only its Python and ``config.json`` are used, nothing is downloaded and no weights are needed. The
code runs from a scratch copy under --work with a shrunk config (vision 32², 64-d, 2 blocks, 4 frames; 8 query
tokens; a 1-layer Mistral of width 4096, which the release hard-codes), a 2-layer ``bert-base-uncased``
stand-in
in a private HF cache (the release loads it by name), random weights, and the stand-in tokenizer of the tests.
SAM2 is not built (as in the adapter). It needs the packages the release imports (easydict, pycocotools, timm,
scikit-image). It prints the MCQ answer (the release's own ``generate_answer``), a multi-image answer, and the
temporal head's windows for seeded random features. Random weights depend on how a transformers version
initialises, so to compare versions pass the first run's ``WORK/VideoChat-TPO/model.safetensors`` as
``--weights`` to the second.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BERT = {
    "architectures": ["BertForMaskedLM"],
    "model_type": "bert",
    "hidden_size": 768,
    "num_hidden_layers": 2,
    "num_attention_heads": 12,
    "intermediate_size": 256,
    "vocab_size": 8,
    "max_position_embeddings": 64,
    "type_vocab_size": 2,
    "hidden_act": "gelu",
    "layer_norm_eps": 1e-12,
    "initializer_range": 0.02,
    "pad_token_id": 0,
}
MISTRAL = {
    "architectures": ["MistralForCausalLM"],
    "model_type": "mistral",
    "hidden_size": 4096,
    "intermediate_size": 128,
    "num_hidden_layers": 1,
    "num_attention_heads": 32,
    "num_key_value_heads": 8,
    "vocab_size": 32768,
    "max_position_embeddings": 2048,
    "rms_norm_eps": 1e-5,
    "rope_theta": 1e6,
    "bos_token_id": 1,
    "eos_token_id": 2,
    "tie_word_embeddings": False,
}


def scratch(release: Path, work: Path) -> tuple[Path, Path]:
    ckpt, mistral = work / "VideoChat-TPO", work / "mistral"
    shutil.rmtree(ckpt, ignore_errors=True)
    shutil.copytree(
        release,
        ckpt,
        ignore=shutil.ignore_patterns(
            "*.safetensors",
            "*.bin",
            "*.model",
            "*.pyc",
            "added_tokens.json",
            "special_tokens_map.json",
            "model.safetensors.index.json",
        ),
    )
    cfg = json.loads((ckpt / "config.json").read_text())
    cfg["model_config"]["vision_encoder"].update(
        img_size=32,
        patch_size=16,
        d_model=64,
        encoder_embed_dim=64,
        encoder_depth=2,
        encoder_num_heads=2,
        num_frames=4,
    )
    cfg["model_config"]["bridge"].update(num_query_token=4, extra_num_query_token=4)
    (ckpt / "config.json").write_text(json.dumps(cfg, indent=1))
    snap = work / "hf" / "hub" / "models--bert-base-uncased"
    (snap / "snapshots" / "0").mkdir(parents=True, exist_ok=True)
    (snap / "refs").mkdir(exist_ok=True)
    (snap / "refs" / "main").write_text("0")
    (snap / "snapshots" / "0" / "vocab.txt").write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\nvideo\na\n")
    (snap / "snapshots" / "0" / "config.json").write_text(json.dumps(BERT))
    mistral.mkdir(exist_ok=True)
    (mistral / "config.json").write_text(json.dumps(MISTRAL))
    return ckpt, mistral


def random_weights(ckpt: Path, mistral: Path) -> None:
    import torch
    from safetensors.torch import save_model
    from transformers import AutoConfig
    from transformers.dynamic_module_utils import get_class_from_dynamic_module

    from tests.helpers.videochat_tpo_standin import _tokenizer
    from tpo_eval.models.videochat_tpo import hub_offline
    from tpo_eval.models.videochat_tpo_io import (
        SegmentTokenizer,
        legacy_model_classes,
        legacy_transformers_names,
        on_sys_path,
    )

    tok = SegmentTokenizer(_tokenizer(ckpt), n_query=8)
    legacy_transformers_names()
    with hub_offline(), on_sys_path(ckpt):
        config = AutoConfig.from_pretrained(ckpt, trust_remote_code=True, local_files_only=True)
        config.model_config["llm"]["pretrained_llm_path"] = str(mistral)
        cls = get_class_from_dynamic_module(config.auto_map["AutoModel"], ckpt, local_files_only=True)
        legacy_model_classes(cls)
        torch.manual_seed(0)
        model = type(cls.__name__, (cls,), {"build_sam": lambda self: None})(config, _tokenizer=tok)
    save_model(model, str(ckpt / "model.safetensors"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("release", type=Path)
    ap.add_argument("--work", type=Path, default=Path(tempfile.mkdtemp(prefix="vctpo-release-")))
    ap.add_argument("--weights", type=Path, help="model.safetensors of an earlier run (else random, seed 0)")
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    os.environ["HF_HOME"] = str(args.work / "hf")  # before huggingface_hub is imported: the private cache
    os.environ["HF_HUB_CACHE"] = str(args.work / "hf" / "hub")
    sys.path.insert(0, str(ROOT))
    weights = args.weights.read_bytes() if args.weights else None
    ckpt, mistral = scratch(args.release, args.work)
    if weights is None:
        random_weights(ckpt, mistral)
    else:
        (ckpt / "model.safetensors").write_bytes(weights)
        from tests.helpers.videochat_tpo_standin import _tokenizer

        _tokenizer(ckpt)

    import numpy as np
    import torch
    import transformers

    from tpo_eval.models.videochat_tpo import VideoChatTPOModel
    from tpo_eval.models.videochat_tpo_io import span_windows
    from tpo_eval.types import Prompt, Request

    m = VideoChatTPOModel(ckpt=str(ckpt), trust_remote_code="true", llm_config=str(mistral))
    fp = m.fingerprint()
    print(
        f"transformers {transformers.__version__}: loaded {fp['architecture']}, weights {fp['weights']}, "
        f"temporal head built: {hasattr(m.model, 'cg_model')}"
    )
    frames = np.random.RandomState(0).randint(0, 255, (16, 48, 64, 3)).astype(np.uint8)
    mcq = Request(
        "mcq",
        "mcq",
        Prompt("Watch.\n", "Question: what?\nOptions:\n(A) x\n(B) y", "Best option:("),
        frames=frames,
    )
    print("mcq:", repr(m.predict([mcq])[0].text[:80]))
    multi = Request("multi", "multi_image", mcq.prompt, frames=[frames[0], frames[3][:30]])
    print("multi_image:", repr(m.predict([multi])[0].text[:80]))
    span = Request(
        "span", "span", Prompt("", "Find the person opening a door."), frames=frames, duration=30.0
    )
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        _, emb = m._prompt_embeds(span)
        trig = m.model.lm.get_input_embeddings()(torch.tensor([[m.tokenizer.time_start_token]]))
        token = m.model.temporal_token.to(torch.bfloat16).reshape(1, 1, -1)
        prompt = m._lm(torch.cat([emb, trig.to(emb.dtype), token.to(emb.dtype)], 1)).hidden_states[-1][:, -1:]
        tef = torch.stack([torch.arange(30) / 30, torch.arange(1, 31) / 30], 1)
        v = torch.cat([torch.randn(30, 768, generator=g), tef], 1).to(torch.bfloat16)
        q = torch.randn(12, 4096, generator=g).to(torch.bfloat16)
        out = m.model.cg_model(q[None], torch.ones(1, 12), v[None], torch.ones(1, 30), prompt_token=prompt)
    print("temporal head windows:", span_windows(out["pred_logits"][0], out["pred_spans"][0], 30.0, 1.0)[:3])


if __name__ == "__main__":
    main()
