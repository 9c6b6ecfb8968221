"""Package layout (metadata and dependencies are in setup.cfg).

benchmarks/ and results/paper/ stay at the top of the checkout, where they are edited and reviewed as data;
the wheel carries them as package data, tpo_eval/data/benchmarks and tpo_eval/data/paper, which
tpo_eval.resources finds with importlib.resources. A package_dir mapping does this without moving or copying a
file in the checkout.
"""

from setuptools import find_packages, setup

DATA = {
    "tpo_eval.data.benchmarks": "benchmarks",
    "tpo_eval.data.paper": "results/paper",
    "tpo_eval.data.demo": "results/demo",  # the demo table's spec (its measured files stay in the checkout)
}

setup(
    packages=find_packages(include=["tpo_eval", "tpo_eval.*", "tpo_train", "tpo_train.*"]) + list(DATA),
    package_dir=DATA,
    package_data={
        "tpo_train": ["configs/*.yaml", "paper_recipe.yaml", "assets/demo_base/*"],
        "tpo_eval.data.benchmarks": ["*.yaml"],
        "tpo_eval.data.paper": ["*.yaml", "*.csv", "*.md"],
        "tpo_eval.data.demo": ["*.yaml", "*.csv"],
    },
)
