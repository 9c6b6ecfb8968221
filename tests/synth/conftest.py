"""One tiny synthetic world per test session (seed 3), shared by the synth tests."""
from __future__ import annotations

from pathlib import Path

import pytest

from tpo_train.synth import WorldManifest, generate_world

SEED = 3


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> WorldManifest:
    return generate_world(tmp_path_factory.mktemp("synth") / "world", seed=SEED, preset="tiny")


@pytest.fixture(scope="session")
def root(world: WorldManifest) -> Path:
    return world.root
