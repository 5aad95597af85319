"""Pages refresh slower while more sessions train than the server has cores (ui/transport.py)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

import netarium.ui.transport as transport
from netarium.training.config import Config
from netarium.training.live import LiveRun

CFG = Config(task={"name": "circle", "n_samples": 100}, model={"name": "mlp", "hidden": [2]}, device="cpu")


def test_refresh_slows_with_the_sessions_training_per_core(monkeypatch):
    monkeypatch.setattr(transport, "server_cores", lambda: 2)
    runs = [LiveRun(CFG, idle_pause_seconds=None, free_seconds=None) for _ in range(10)]
    monkeypatch.setattr(transport, "SESSIONS", SimpleNamespace(live=lambda kind=None: runs))  # only these count
    try:
        assert transport.refresh_seconds() == transport.TICK_SECONDS  # nothing plays
        for r in runs[:2]:
            r.play()
        assert transport.refresh_seconds() == transport.TICK_SECONDS  # 2 sessions, 2 cores: full speed
        for r in runs[2:6]:
            r.play()
        assert transport.refresh_seconds() == pytest.approx(3 * transport.TICK_SECONDS)  # 6 on 2 cores
        for r in runs[6:]:
            r.play()
        assert transport.refresh_seconds() == pytest.approx(transport.MAX_SLOWDOWN * transport.TICK_SECONDS)  # capped
    finally:
        for r in runs:
            r.close()
