"""What a synthetic world is: its presets, settings (and their hash), manifest and training sources.

Kept apart from :mod:`.generate` (which builds the folder) so that code reading a world — the CLI, the demo,
the tests — can name its settings and records without the building code. ``WorldSettings.sha256`` hashes the
settings and ``VERSION`` only, never source code: a world is reused exactly when these match.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tpo_eval.io import sha256_json

VERSION = 3  # 2: videos written lossless (libx264rgb) instead of mpeg4; 3: MCQ options in alphabetical order
SPLITS = ("train", "heldout")
PRESETS: dict[str, dict[str, Any]] = {
    "demo": {"n_train": 1024, "n_heldout": 96, "size": 64, "frames": 32, "fps": 4.0},
    "tiny": {"n_train": 16, "n_heldout": 16, "size": 48, "frames": 16, "fps": 4.0},
}
#: training sources (``data.sources.<name>``) of a world, relative to ``data.root`` = the world folder
TRAINING_SOURCES: dict[str, dict[str, str]] = {
    "synth_charades": {"format": "cgdetr_jsonl", "path": "temporal/charades_train.jsonl", "media": "videos"},
    "synth_qvh": {"format": "cgdetr_jsonl", "path": "temporal/qvh_train.jsonl", "media": "videos"},
    "synth_refcoco": {"format": "refcoco_jsonl", "path": "region/refcoco_train.jsonl", "media": "images"},
    "synth_mevis": {"format": "mevis", "path": "mask/mevis_train", "media": "frames"},
    "synth_sav": {"format": "sav", "path": "mask/sav_train", "media": "frames"},
    "synth_mcq_it": {"format": "videochat2_it", "path": "conversation/mcq_train.json", "media": "videos"},
    "synth_caption_it": {
        "format": "videochat2_it",
        "path": "conversation/caption_train.json",
        "media": "videos",
    },
    "synth_grounding_it": {
        "format": "videochat2_it",
        "path": "conversation/grounding_text_train.json",
        "media": "videos",
    },
}
QID_OFFSET = {"train": 0, "heldout": 500_000}


class WorldError(ValueError):
    """The output folder cannot take this world (other settings, or not a world); one line, names the
    folder."""


@dataclass(frozen=True)
class WorldSettings:
    seed: int = 0
    preset: str = "demo"
    n_train: int = 256
    n_heldout: int = 96
    size: int = 64
    frames: int = 32
    fps: float = 4.0
    clip_length: float = 1.0  # QVHighlights clip length in seconds (benchmarks/synth_qvh.yaml says the same)
    annotators: int = 3

    @classmethod
    def from_preset(cls, preset: str = "demo", seed: int = 0, **overrides: Any) -> WorldSettings:
        if preset not in PRESETS:
            raise WorldError(f"unknown preset {preset!r}; known: {', '.join(PRESETS)}")
        return cls(seed=seed, preset=preset, **{**PRESETS[preset], **overrides})

    def sha256(self) -> str:
        return sha256_json({"version": VERSION, **dataclasses.asdict(self)})


@dataclass(frozen=True)
class WorldManifest:
    root: Path
    settings: dict[str, Any]
    settings_sha256: str
    counts: dict[str, Any]
    baselines: dict[str, Any]
    files: dict[str, str] = field(default_factory=dict)  # annotation file → sha256
    reused: bool = False

    @classmethod
    def read(cls, root: Path) -> WorldManifest:
        d = json.loads((root / "world.json").read_text(encoding="utf-8"))
        return cls(root, d["settings"], d["settings_sha256"], d["counts"], d["baselines"], d["files"], True)
