"""Shared test fixtures and the `slow` marker (skipped unless --runslow)."""
from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = (REPO / ".." / "shared" / "data").resolve()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--runslow", action="store_true", default=False, help="also run tests marked slow")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--runslow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --runslow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real public files in ../shared/data; tests that need them skip when the folder is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} is absent (it ships beside the repo, not in it)")
    return SHARED_DATA


@pytest.fixture(scope="session", autouse=True)
def _decoder_cache(tmp_path_factory: pytest.TempPathFactory):
    """A private ``--decoder auto`` cache holding the static order, so runs never measure the machine's
    decoders (tests/eval/test_decoders.py measures them on purpose) nor read or write the user's ~/.cache."""
    import os

    from tpo_eval.video import auto

    old = os.environ.get("TPO_EVAL_CACHE")
    os.environ["TPO_EVAL_CACHE"] = str(tmp_path_factory.mktemp("tpo_eval_cache"))
    auto.save(auto.BACKENDS, "tests: static order")
    yield
    if old is None:
        os.environ.pop("TPO_EVAL_CACHE", None)
    else:
        os.environ["TPO_EVAL_CACHE"] = old
