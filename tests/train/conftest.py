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
