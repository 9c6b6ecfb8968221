"""Where the shipped data lives: the benchmark YAMLs and the paper tables.

In a checkout they are the top-level ``benchmarks/`` and ``results/paper/`` folders, where they are edited.
An installed wheel carries the same files as package data, ``tpo_eval/data/benchmarks`` and
``tpo_eval/data/paper`` (setup.py maps the two folders there), found with importlib.resources, so
``pip install .`` users get every benchmark and table without a checkout.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
# package data name → folder in a checkout
_CHECKOUT = {"benchmarks": "benchmarks", "paper": "results/paper", "demo": "results/demo"}


def data_dir(name: str) -> Path:
    """The installed package-data folder ``name`` when present (a wheel install), else the checkout's."""
    packaged = files("tpo_eval").joinpath("data", name)
    if packaged.is_dir():
        return Path(str(packaged))  # installs are plain directories (wheels are unpacked), never zip imports
    return REPO_ROOT / _CHECKOUT[name]
