"""training.threads: the thread count read from the environment, and a block run on a set number of threads."""

import pytest
import torch

from netarium.schema import SchemaError
from netarium.training.threads import torch_threads, using_threads


def test_torch_threads_reads_the_environment(monkeypatch):
    monkeypatch.delenv("NETARIUM_THREADS", raising=False)
    assert torch_threads() == 1 and torch_threads(default=3) == 3
    monkeypatch.setenv("NETARIUM_THREADS", " 2 ")
    assert torch_threads() == 2
    for bad in ("0", "-1", "two", "1.5"):
        monkeypatch.setenv("NETARIUM_THREADS", bad)
        with pytest.raises(SchemaError, match="positive whole number"):
            torch_threads()


def test_using_threads_sets_and_restores_even_on_error():
    before = torch.get_num_threads()
    other = 1 if before != 1 else 2
    with using_threads(other):
        assert torch.get_num_threads() == other
    assert torch.get_num_threads() == before
    with pytest.raises(RuntimeError, match="boom"), using_threads(other):
        assert torch.get_num_threads() == other
        raise RuntimeError("boom")
    assert torch.get_num_threads() == before
    with using_threads(None):  # None: left as it is
        assert torch.get_num_threads() == before
