"""The CLI as a user meets it: real subprocesses for exit codes and output, in-process for speed."""

import json
import subprocess
import sys

import pytest

from netarium.cli import main
from netarium.experiments import EXPERIMENTS
from netarium.experiments.playground import SEEDS
from netarium.tasks import TASKS
from netarium.training.store import RunStore


def netarium(*args, env=None, timeout=300):
    return subprocess.run([sys.executable, "-m", "netarium.cli", *args], capture_output=True, text=True, timeout=timeout, env=env)


def test_list_json_has_every_registry_with_parameters(capsys):
    assert main(["list", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [t["name"] for t in data["tasks"]] == TASKS.names()
    assert [e["id"] for e in data["experiments"]] == EXPERIMENTS.ids()
    spiral = next(t for t in data["tasks"] if t["name"] == "spiral")
    noise = next(p for p in spiral["parameters"] if p["name"] == "noise")
    assert noise["default"] == 0.0 and "0.5" in noise["allowed"]
    assert {o["name"] for o in data["optimizers"]} == {"sgd", "adam", "adamw", "rmsprop", "muon"}
    assert {m["name"] for m in data["models"]} >= {"mlp", "residual-mlp"}


def test_list_text(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "tasks:" in out and "playground" in out and "noise=0.0" in out


@pytest.mark.parametrize("args,needle", [
    (["run", "playground", "--set", "task.noise=0.9"], "task.noise"),
    (["run", "playground", "--set", "model.activation=swish"], "relu, tanh"),
    (["run", "nope"], "one of playground"),
    (["run", "playground", "--set", "bogus"], "key=value"),
    (["run", "playground", "--seed", "abc"], "invalid int value"),
    (["run", "playground", "--set", "loss=bce", "--set", "task.name=digits"], "bce needs a task with 2 classes"),
    (["frobnicate"], "invalid choice"),
    (["bench", "nope"], "unknown benchmark"),
])
def test_bad_arguments_exit_2_with_one_line_naming_the_key(args, needle, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("netarium: error:")
    assert needle in err


def test_bad_config_file_is_one_line(tmp_path, capsys):
    bad = tmp_path / "c.json"
    bad.write_text('{"task": {"name": "circle", "noise": 3}}')
    assert main(["run", "playground", "--config", str(bad)]) == 2
    assert "task.noise" in capsys.readouterr().err
    assert main(["run", "playground", "--config", str(tmp_path / "missing.json")]) == 2


def test_run_json_layout_and_save(tmp_path, monkeypatch):
    monkeypatch.setenv("NETARIUM_HOME", str(tmp_path))
    out = tmp_path / "r.json"
    code = main(["run", "playground", "--steps", "60", "--set", "eval_every=20", "--json", str(out), "--save", "--quiet", "--check"])
    data = json.loads(out.read_text())
    assert set(data) == {"experiment", "config", "steps", "seconds", "final", "history", "check", "extra"}
    assert data["experiment"] == "playground" and data["steps"] == 60 and data["config"]["steps"] == 60
    assert data["extra"]["seeds"] == list(range(SEEDS)) and set(data["extra"]) >= {"seed1_test_acc", "seed47_first_epoch"}
    assert data["check"]["passed"] is False and "and 42 more" in data["check"]["reason"]  # 60 steps: 2.4 epochs
    assert [s for s, _ in data["history"]["test_acc"]] == [20, 40, 60]
    assert data["final"]["test_acc"] == data["history"]["test_acc"][-1][1]
    assert set(data["check"]) == {"passed", "numbers", "reason"}
    assert code == (0 if data["check"]["passed"] else 1)
    store = RunStore(tmp_path / "netarium.db")
    (rec,) = store.list_runs()
    assert rec.experiment == "playground" and rec.steps == 60 and rec.config == data["config"]
    assert rec.final["test_acc"] == pytest.approx(data["final"]["test_acc"])
    assert [s for s, _ in store.history(rec.id)["test_acc"]] == [20, 40, 60]
    assert store.load_checkpoint(rec.id)["layers.0.linear.weight"].shape == (4, 2)


def test_playground_check_passes_as_a_real_process(tmp_path):
    """`netarium run playground --check` exits 0 (the issue's acceptance)."""
    proc = netarium("run", "playground", "--check", "--json", str(tmp_path / "p.json"))
    assert proc.returncode == 0, proc.stderr
    assert "check PASSED" in proc.stderr
    numbers = json.loads((tmp_path / "p.json").read_text())["check"]["numbers"]
    assert numbers["median_first_epoch"] <= 50 and numbers["seeds_by_epoch_100"] >= 0.75 * SEEDS


def test_check_failure_exits_1(capsys):
    assert main(["run", "playground", "--steps", "1", "--check", "--quiet"]) == 1
    assert "check FAILED" in capsys.readouterr().err


def test_bad_argument_in_a_real_process_has_no_traceback():
    proc = netarium("run", "playground", "--set", "optimizer.lr=-1")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and proc.stderr.strip().count("\n") == 0
    assert "optimizer.lr" in proc.stderr


def test_diverging_run_says_why(capsys):
    code = main(["run", "playground", "--steps", "300", "--set", "optimizer.name=sgd", "--set", "optimizer.lr=10",
                 "--set", "task.name=reg-plane", "--set", "model.activation=relu", "--set", "model.hidden=64,64", "--quiet"])
    err = capsys.readouterr().err
    assert code == 1 and "diverged" in err and "lower the learning rate" in err
