"""The forward gate keeps torch.fx tracing (which patches nn.Module.__call__ for every thread) and
training threads apart: tracing the live model over and over never breaks a training run."""

import sys
import threading

import pytest

from netarium.analysis.diagram import extract
from netarium.models.gate import ForwardGate
from netarium.training import Config, Run, Worker


def test_tracing_while_a_worker_trains_never_breaks_training():
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # switch threads often, so a forward pass would land inside a trace
    try:
        _trace_while_training()
    finally:
        sys.setswitchinterval(old)


def _trace_while_training():
    run = Run(Config(task={"name": "circle", "n_samples": 200}, model={"name": "mlp", "hidden": [8, 8]}, device="cpu"))
    worker = Worker(run).start()
    worker.play()
    worker.wait_for(lambda s: s.step > 0)
    for _ in range(150):  # each trace patches nn.Module.__call__ while the worker steps the same model
        diagram = extract(run.model, run.task.X_train[:4])
        assert diagram.learned_count() == 3
    snap = worker.wait_for(lambda s: s.step > 0)
    worker.stop()
    assert run.state == "running" and worker.error == "" and snap.state != "failed"


def test_exclusive_waits_for_shared_and_blocks_new_shared():
    gate = ForwardGate()
    order: list[str] = []
    inside = threading.Event()
    release = threading.Event()

    def reader():
        with gate.shared():
            order.append("reader in")
            inside.set()
            release.wait(5)
            order.append("reader out")

    t = threading.Thread(target=reader)
    t.start()
    inside.wait(5)

    def writer():
        with gate.exclusive():
            order.append("writer")

    w = threading.Thread(target=writer)
    w.start()
    w.join(0.2)
    assert order == ["reader in"]  # the writer waits for the reader
    release.set()
    t.join(5)
    w.join(5)
    assert order == ["reader in", "reader out", "writer"]


def test_shared_is_reentrant_and_exclusive_refuses_inside_it():
    gate = ForwardGate()
    with gate.shared(), gate.shared():
        with pytest.raises(RuntimeError, match="wait on itself"):
            with gate.exclusive():
                pass
    with gate.exclusive():  # free again
        pass
