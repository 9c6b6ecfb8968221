"""Build a tiny stand-in for the released VideoChat-TPO checkpoint folder (random weights, our own remote
code).

Layout, as released: ``config.json`` (``architectures: [MultiModalLLM_PT]``, ``auto_map`` → ``model_config`` /
``modeling_videochate``, ``model_config.{bridge,llm,vision_encoder,...}``, ``build_decoder``), the modeling
files, ``third_party/``, weights and a Llama-style tokenizer whose ``tokenizer_config.json`` names the
``MultimodalLlamaTokenizer`` class the release does not ship. The remote code lives in
``tests/helpers/videochat_tpo_remote/``. Beside the folder: the temporal-feature encoder's weights and the
JSON ``--model-arg temporal_config=`` reads (the release hard-codes internal paths for them).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

REMOTE = Path(__file__).with_name("videochat_tpo_remote")
SPECIAL = ["<box_begin>", "<time_begin>", "<temp>", "<boxes>", "<track_begin>", "<tracking>", "<track_box>"]
_CORPUS = [
    "Carefully watch the video and pay attention to the cause and sequence of events, the detail and "
    "movement "
    "of objects, and the action and pose of persons. Based on your observations, select the best option.",
    "Question: What is the person doing? Options: (A) walking (B) running (C) sitting (D) jumping",
    "Only give the best option. Best Option: (A) (B) (C) (D) [INST] [/INST] <Video> </Video> <Image> "
    "</Image>",
    "Localize the visual content described by the given textual query in the video, and output the start and "
    "end timestamps in seconds. The video contains 16 frames sampled at 0.5, 1.7, 2.9 seconds.",
    "person turn a light on. a person opens a door. someone is holding a cup 0 1 2 3 4 5 6 7 8 9",
]

CONFIG = {
    "_name_or_path": "",
    "architectures": ["MultiModalLLM_PT"],
    "auto_map": {
        "AutoConfig": "model_config.VideoChatEConfig",
        "AutoModel": "modeling_videochate.MultiModalLLM_PT",
    },
    "model_config": {
        "bridge": {
            "extra_num_query_token": 4,
            "name": "qformer",
            "num_query_token": 4,
            "qformer_attention_probs_dropout_prob": 0.1,
            "qformer_drop_path_rate": 0.2,
            "qformer_hidden_dropout_prob": 0.1,
        },
        "freeze_bridge": False,
        "freeze_llm": False,
        "freeze_vision_encoder": False,
        "llm": {
            "lora_alpha": 32,
            "lora_dropout": 0.1,
            "lora_r": 16,
            "name": "mistral_7b",
            "pretrained_llm_path": "mistralai/Mistral-7B-Instruct-v0.3",
            "use_lora": False,
            "hidden_size": 32,
            "num_hidden_layers": 1,
        },
        "loss": {"use_vision_regression_loss": False},
        "pretrained_paths": {},
        "vision_encoder": {
            "name": "vit_l14",
            "img_size": 16,
            "patch_size": 8,
            "d_model": 16,
            "encoder_embed_dim": 16,
            "encoder_depth": 1,
            "encoder_num_heads": 2,
            "drop_path_rate": 0.0,
            "num_frames": 4,
            "tubelet_size": 1,
            "use_checkpoint": False,
            "checkpoint_num": 0,
            "return_index": -2,
            "vit_add_ln": True,
            "pretrained": None,
        },
    },
    "torch_dtype": "float32",
    "transformers_version": "4.38.0",
    "use_flash_attention": False,
    "use_cache": True,
    "build_decoder": True,
    "hidden_size": 32,
}


def _tokenizer(out: Path):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    tok.train_from_iterator(
        _CORPUS * 4,
        trainers.BpeTrainer(vocab_size=300, special_tokens=["<unk>", "<s>", "</s>"], show_progress=False),
    )
    tok.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", 1)])
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<s>", eos_token="</s>", unk_token="<unk>", pad_token="<unk>"
    )
    fast.add_tokens(SPECIAL)  # ids right after the base vocabulary, as 32000..32006 in the release
    fast.save_pretrained(out)
    cfg = json.loads((out / "tokenizer_config.json").read_text())
    cfg["tokenizer_class"] = "MultimodalLlamaTokenizer"  # what the release names (and does not ship)
    (out / "tokenizer_config.json").write_text(json.dumps(cfg, indent=2))
    return fast


def build_videochat_tpo_standin(root: Path, seed: int = 0) -> tuple[Path, Path]:
    """Write ``root/VideoChat-TPO`` (the checkpoint) and ``root/temporal_features.json``; return both
    paths."""
    import torch
    from safetensors.torch import save_file
    from transformers import AutoConfig, AutoModel

    from tpo_eval.models.videochat_tpo_io import SegmentTokenizer

    ckpt = Path(root) / "VideoChat-TPO"
    ckpt.mkdir(parents=True, exist_ok=True)
    for f in REMOTE.rglob("*.py"):
        dst = ckpt / f.relative_to(REMOTE)
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(f, dst)
    (ckpt / "config.json").write_text(json.dumps(CONFIG, indent=2))
    tok = SegmentTokenizer(_tokenizer(ckpt), n_query=8)
    torch.manual_seed(seed)
    config = AutoConfig.from_pretrained(ckpt, trust_remote_code=True, local_files_only=True)
    model = AutoModel.from_config(config, trust_remote_code=True, _tokenizer=tok)
    model.save_pretrained(ckpt)
    (ckpt / "config.json").write_text(json.dumps(CONFIG, indent=2))  # keep the released shape exactly
    # The temporal head's feature encoder (InternVideo2-CLIP + a LLaMA text encoder in the release).
    feat = Path(root) / "internvideo2_clip_standin.safetensors"
    enc = {
        "patch.weight": torch.randn(8, 3 * 8 * 8) * 0.05,
        "patch.bias": torch.zeros(8),
        "_text.embed.weight": torch.randn(97, 32),
        "_text.mix.weight": torch.randn(32, 32) * 0.2,
        "_text.mix.bias": torch.zeros(32),
    }
    save_file(enc, str(feat))
    tcfg = Path(root) / "temporal_features.json"
    tcfg.write_text(
        json.dumps(
            {
                "model_cls": "InternVideo2_CLIP",
                "vision_encoder": {
                    "name": "internvideo2",
                    "img_size": 8,
                    "clip_embed_dim": 8,
                    "num_frames": 8,
                },
                "text_encoder": {"transformer_width": 32},
                "vision_ckpt_path": str(feat),
            },
            indent=2,
        )
    )
    return ckpt, tcfg
