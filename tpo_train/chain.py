"""Stage chains: one config that runs several stages in order, each starting from the previous one's
``final/``.

Why: the paper's ablations change one stage and then continue through the later stages like the main recipe
(Only-QVHighlights and the MLP head change stage 2, then run stage 3; the textualized ablation replaces all
three
stages). A chain file is a YAML with a ``chain`` list; each entry names a stage config (path or shipped stem)
and the overrides that make it this chain's stage::

    chain:
      - {config: ablation_qvh_only_stage2}
      - {config: stage3_tasks, overrides: [name=ablation_qvh_only_stage3_tasks,
      output_dir=runs/…/stage3_tasks]}

Overrides given on the command line apply to every stage, except ``init_from`` (the first stage's parent) and
``output_dir`` (a root: stage k writes to ``<root>/<its config name>``). Stage k > 1 gets
``init_from=<stage k-1 output_dir>/final``; the stage rules of ``validate_config`` then check each parent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from tpo_eval.io import load_yaml

from .config import ConfigError, load_config, resolve_config_path

__all__ = ["ChainStage", "chain_stages", "is_chain", "load_chain_stage"]


@dataclass(frozen=True)
class ChainStage:
    """One stage of a chain: its config and the overrides that place it in the chain (parent not included)."""

    config: str
    overrides: tuple[str, ...]


def is_chain(config: str | Path) -> bool:
    """Whether ``config`` (path or shipped stem) is a chain file."""
    try:
        p = resolve_config_path(config)
    except ConfigError:
        return False
    doc = load_yaml(p)
    return isinstance(doc, dict) and "chain" in doc


def chain_stages(config: str | Path, overrides: Sequence[str] = ()) -> tuple[list[ChainStage], Optional[str]]:
    """The chain's stages with the command-line overrides merged in, and the first stage's ``init_from`` (or
    None: the first stage's config decides)."""
    p = resolve_config_path(config)
    doc = load_yaml(p)
    entries = doc.get("chain") if isinstance(doc, dict) else None
    if not isinstance(entries, list) or not entries or set(doc) - {"chain"}:
        raise ConfigError(p, ["a chain file has one key, 'chain': a non-empty list of {config, overrides}"])
    first_parent, root, shared = None, None, []
    for o in overrides:
        key = o.split("=", 1)[0].strip()
        if key == "init_from":
            first_parent = o.split("=", 1)[1]
        elif key == "output_dir":
            root = o.split("=", 1)[1]
        else:
            shared.append(o)
    stages = []
    for k, e in enumerate(entries):
        if (
            not isinstance(e, dict)
            or not isinstance(e.get("config"), str)
            or set(e) - {"config", "overrides"}
        ):
            raise ConfigError(
                p,
                [f"chain[{k}]: expected {{config: <stage config>, overrides: [key=value, ...]}}, got {e!r}"],
            )
        own = [str(x) for x in e.get("overrides") or ()]
        if root is not None:
            name = next((x.split("=", 1)[1] for x in own if x.startswith("name=")), Path(e["config"]).stem)
            own = [x for x in own if not x.startswith("output_dir=")] + [f"output_dir={Path(root) / name}"]
        cfg_path = e["config"]
        if not Path(cfg_path).is_absolute() and (p.parent / cfg_path).is_file():
            cfg_path = str(p.parent / cfg_path)
        stages.append(ChainStage(cfg_path, tuple(own + shared)))
    return stages, first_parent


def load_chain_stage(
    stages: list[ChainStage], k: int, first_parent: Optional[str], *, check_paths: bool = True
) -> Any:
    """The config of stage ``k``, its parent set: ``first_parent`` for the first, else the previous stage's
    ``output_dir/final`` (whose manifest is checked only with ``check_paths``: it exists once that stage
    ran)."""
    ov = list(stages[k].overrides)
    if k == 0:
        if first_parent is not None:
            ov.append(f"init_from={first_parent}")
    else:
        prev = load_chain_stage(stages, k - 1, first_parent, check_paths=False)
        ov.append(f"init_from={Path(prev.output_dir) / 'final'}")
    return load_config(stages[k].config, ov, check_paths=check_paths)
