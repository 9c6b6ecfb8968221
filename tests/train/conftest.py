"""Fixtures shared by the training tests."""

import pytest
import torch


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One intra-op thread: tiny models are many small ops, and on a shared 2-core CPU spinning worker threads
    made these tests up to 10× slower."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="session", autouse=True)
def arrow_cache(tmp_path_factory):
    """The sources' Arrow caches (``tpo_train/data/arrow.py``) in a folder of this session, never the user's
    ~/.cache: tests that read data without moving ``TPO_TRAIN_CACHE`` would leave an entry per temp file."""
    from tpo_train.data import sources

    folder = tmp_path_factory.mktemp("arrow")
    mp = pytest.MonkeyPatch()
    mp.setattr(sources, "arrow_cache", lambda: folder)
    yield folder
    mp.undo()
