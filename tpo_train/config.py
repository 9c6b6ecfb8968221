"""Training configs: YAML files (``tpo_train/configs/``) loaded into frozen, typed dataclasses.

A config is checked in full before anything heavy is built: unknown keys (with did-you-mean), wrong types,
values outside their choices, stage rules (which stage may start from which checkpoint), and, unless
``check_paths=False``, the files it names (base model, parent checkpoint manifest, data sources). Every
problem is collected and raised once in a :class:`ConfigError`.

Two conveniences keep the shipped stage configs small: ``extends: other.yaml`` deep-merges this file over
another, and ``key=value`` overrides (``optim.lr.lora=1e-5``, ``train.max_steps=2``) are applied to the raw
mapping before validation, so a bad override is reported like a bad YAML key.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Optional

import yaml

from tpo_eval.io import ConfigError, sha256_bytes
from tpo_eval.schema import build

from ._schema import CONFIG_DIR, _read_yaml, apply_overrides, deep_merge

__all__ = [
    "ConfigError",
    "TPOConfig",
    "load_config",
    "apply_overrides",
    "deep_merge",
    "shipped_configs",
    "resolve_config_path",
    "_read_yaml",
]


Stage = Literal["stage1", "stage2", "stage3_tasks", "stage3"]


@dataclass(frozen=True)
class LoRACfg:
    """LoRA on the language model (paper: r 16, alpha 32, dropout 0.1, attention + MLP + ``lm_head``)."""

    r: int = 16
    alpha: int = 32
    dropout: float = 0.1
    targets: tuple[str, ...] = (
        "q_proj",
        "k_proj",
        "v_proj",
        "o_proj",
        "gate_proj",
        "up_proj",
        "down_proj",
        "lm_head",
    )


@dataclass(frozen=True)
class ModelCfg:
    """What to build. ``base`` is a local transformers checkpoint dir or a preset name (see ``presets.py``).

    ``heads`` maps a task (``temporal``, ``region``, ``mask``) to the keyword arguments of its head spec in
    ``tpo_train.model.spec`` (e.g. ``region: {loss: mse}``); tasks not listed get no head. The temporal head
    takes
    one extra key, ``kind: detr | mlp`` (the MLP ablation of paper Table 11). ``head_weights`` scale each
    head's loss in the total (TPO: temporal 0.05). ``train_new_rows`` learns the added tokens' embedding rows.
    ``token_init``: ``randn`` (std 1, released TPO code) or ``scaled`` (std of the base embedding table).
    """

    base: str = "llava-ov-7b"
    heads: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    head_weights: Mapping[str, float] = field(
        default_factory=lambda: {"temporal": 0.05, "region": 1.0, "mask": 1.0}
    )
    lora: LoRACfg = field(default_factory=LoRACfg)
    train_new_rows: bool = False
    token_init: Literal["randn", "scaled"] = "randn"
    frames: int = 16


@dataclass(frozen=True)
class OptimCfg:
    """AdamW with per-module peak LRs. A Table-5 group absent from ``lr`` is frozen."""

    lr: Mapping[str, float] = field(default_factory=dict)
    weight_decay: float = 0.02
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    schedule: Literal["cosine", "constant"] = "cosine"
    warmup_ratio: float = 0.2
    min_lr_ratio: float = 0.0
    grad_clip: float = 1.0


@dataclass(frozen=True)
class DeepSpeedCfg:
    """Knobs of the generated DeepSpeed JSON (the rest follows from ``train`` and ``optim``)."""

    zero_stage: int = 2
    offload_optimizer: bool = False
    overlap_comm: bool = True
    bucket_size: int = 200_000_000


@dataclass(frozen=True)
class TrainCfg:
    """Loop settings. ``batch_size`` is the global batch per optimiser step (the paper's "total batch size").

    ``engine: auto`` = DeepSpeed when started by a launcher (``deepspeed``/``torchrun`` set ``LOCAL_RANK``),
    else plain PyTorch. ``resume``: a checkpoint dir of this run, or ``auto`` (its latest, if any).
    """

    batch_size: int = 128
    micro_batch_size: int = 1
    epochs: int = 1
    max_steps: Optional[int] = None
    precision: Literal["bf16", "fp32"] = "bf16"
    engine: Literal["auto", "torch", "deepspeed"] = "auto"
    resume: Optional[str] = None
    log_every: int = 1
    save_every: Optional[int] = None
    loggers: tuple[Literal["jsonl", "tensorboard", "wandb"], ...] = ("jsonl",)
    progress: bool = True
    deepspeed: DeepSpeedCfg = field(default_factory=DeepSpeedCfg)


@dataclass(frozen=True)
class FeaturesCfg:
    """Temporal-head features of a source: precomputed files in the CG-DETR layout (``{video}/{vid}.pt|npz``,
    ``{text}/qid{qid}``), or ``extractor``: a registered extractor computed from the sampled frames
    (``tpo_train.heads.temporal_features.VIDEO_EXTRACTORS``). Query features: ``text`` files, or
    ``text_extractor``: a registered extractor of the sentence (``TEXT_EXTRACTORS``, e.g. ``words``), else the
    base model's own token embeddings."""

    video: Optional[str] = None
    extractor: Optional[str] = None
    text: Optional[str] = None
    text_extractor: Optional[str] = None
    clip_len: float = 1.0
    normalize: bool = True
    tef: bool = True


@dataclass(frozen=True)
class SourceCfg:
    """One annotation file. ``weight`` = passes over it per epoch (0.5: a seeded half); ``samples`` = exact
    count."""

    format: str
    path: str
    media: str = ""
    weight: float = 1.0
    samples: Optional[int] = None
    features: Optional[FeaturesCfg] = None


@dataclass(frozen=True)
class DataCfg:
    """Data mixture of one stage. Relative source paths are under ``root``; ``textualize`` renders task
    targets as plain text instead of trigger + placeholder (the "textualized task data" ablation).
    ``subsample`` maps a task to a total: a fixed subset of that many examples drawn with ``seed`` across the
    task's sources, the same in every epoch (the paper's 400K stage-3 region data; ``data/subsample.py``)."""

    root: str = "data"
    seed: int = 0
    sources: Mapping[str, SourceCfg] = field(default_factory=dict)
    subsample: Mapping[str, int] = field(default_factory=dict)
    textualize: bool = False
    max_bad_fraction: float = 0.0
    max_text_len: int = 512


@dataclass(frozen=True)
class TPOConfig:
    """A resolved training config (one stage)."""

    name: str
    stage: Stage
    output_dir: str
    init_from: Optional[str] = None
    seed: int = 42
    model: ModelCfg = field(default_factory=ModelCfg)
    optim: OptimCfg = field(default_factory=OptimCfg)
    train: TrainCfg = field(default_factory=TrainCfg)
    data: DataCfg = field(default_factory=DataCfg)
    source_path: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain-YAML form (tuples as lists) for manifests and ``config.yaml`` in checkpoints."""
        return _plain(dataclasses.asdict(self))

    @property
    def sha256(self) -> str:
        body = {k: v for k, v in self.to_dict().items() if k != "source_path"}
        return sha256_bytes(yaml.safe_dump(body, sort_keys=True))


def _plain(x: Any) -> Any:
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    return x


# ---------------------------------------------------------------------------------------------- entry points
def load_config(path: str | Path, overrides: Sequence[str] = (), *, check_paths: bool = True) -> TPOConfig:
    """Load, override and validate a training config; raise :class:`ConfigError` listing every problem.

    Args:
        path: a YAML file, or the stem of a shipped config (``stage2`` → ``tpo_train/configs/stage2.yaml``).
        overrides: ``key=value`` strings applied after ``extends`` and before validation.
        check_paths: also check the files the config names (base model, ``init_from`` manifest, data).
    """
    p = resolve_config_path(path)
    errors: list[str] = []
    raw = _read_yaml(p, errors)
    unreadable = bool(errors)  # a YAML syntax error: building would only add noise about missing keys
    raw = apply_overrides(raw, overrides, errors)
    raw.setdefault("name", p.stem)
    raw["source_path"] = str(p)
    cfg = None if unreadable else build(TPOConfig, raw, "", errors, expand_vars=True)
    if cfg is not None:
        from .stages import validate_config  # stage rules live with the stage semantics

        errors.extend(validate_config(cfg, check_paths=check_paths))
    if errors:
        raise ConfigError(p, errors)
    return cfg


def resolve_config_path(path: str | Path) -> Path:
    """A path as given, else a shipped config by stem (``stage1`` or ``stage1.yaml``)."""
    p = Path(path)
    if p.is_file():
        return p.resolve()
    shipped = CONFIG_DIR / (p.name if p.suffix else f"{p.name}.yaml")
    if shipped.is_file() and len(p.parts) == 1:
        return shipped
    known = sorted(q.stem for q in CONFIG_DIR.glob("*.yaml"))
    close = difflib.get_close_matches(p.stem, known, n=3)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    raise ConfigError(p, [f"config file not found.{hint} Shipped configs: {', '.join(known)}"])


def shipped_configs() -> list[Path]:
    """Every YAML under ``tpo_train/configs`` (recursive, so none is silently skipped)."""
    return sorted(CONFIG_DIR.rglob("*.yaml"))
