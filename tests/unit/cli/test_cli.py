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
    assert "NETARIUM_MAX_SESSIONS" in out and "NETARIUM_SESSION_FREE_SECONDS" in out


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


BAD_CONFIGS = {
    "binary": (bytes(range(256)) * 8, "binary file"),
    "latin-1": ('{"task": "café"}'.encode("latin-1"), "not UTF-8 text (byte 0xe9 at offset 13)"),
    "deep": (b"[" * 100_000 + b"]" * 100_000, "nested deeper than 32 levels"),
    "deep-object": (b'{"seed": ' * 5_000 + b"1" + b"}" * 5_000, "nested deeper than 32 levels"),
    "huge": (b" " * (1 << 20) + b"{}", "larger than 1 MiB"),
    "list": (b"[1, 2]", "must be a JSON object, not a list"),
    "string": (b'"spiral"', "must be a JSON object, not a string"),
    "empty": (b"", "is empty"),
    "not-json": (b"{seed: 1}", "not valid JSON (Expecting property name enclosed in double quotes, line 1 column 2)"),
    "nan": (b'{"seed": NaN}', "NaN is not a number JSON allows"),
    "duplicate": (b'{"seed": 1, "seed": 2}', "duplicate key 'seed'"),
    "bad-value": (b'{"task": {"name": "circle", "noise": 3}}', "task.noise"),
    "unhashable-name": (b'{"task": {"name": [1]}}', "task.name: unknown task [1]"),
}


@pytest.mark.parametrize("case", list(BAD_CONFIGS))
def test_every_bad_config_file_is_exit_2_and_one_line_naming_the_file(case, tmp_path, capsys):
    content, problem = BAD_CONFIGS[case]
    path = tmp_path / f"{case}.json"
    path.write_bytes(content)
    assert main(["run", "playground", "--config", str(path), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"netarium: error: --config {path}: ")
    assert problem in err


def test_config_that_is_a_directory_or_missing_or_a_device(tmp_path, capsys):
    for path, problem in [(tmp_path, "is a directory"), (tmp_path / "missing.json", "cannot read (No such file or directory)"),
                          ("/dev/zero", "larger than 1 MiB")]:
        assert main(["run", "playground", "--config", str(path)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and f"--config {path}: {problem}" in err


def test_a_control_character_in_a_message_stays_on_one_line(tmp_path, capsys):
    path = tmp_path / "c.json"
    path.write_text('{"a\\nb": 1}')  # a JSON escape: the key really holds a newline
    assert main(["run", "playground", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown key" in err and "a\\nb" in err


@pytest.mark.parametrize("value,problem", [
    ("model.hidden=" + "[" * 5000 + "]" * 5000, "model.hidden: nested deeper than 32 levels"),
    ('task={"name": [1]}', "task.name: unknown task [1]"),
    ("task=[1,2]", "task.name: unknown task [1, 2]"),
    ("seed=1e999", "seed: Input should be a finite number"),
    ("task.noise=NaN", "task.noise"),
    ("task.n_samples=1e9", "task.n_samples"),
])
def test_bad_set_values_are_exit_2_and_one_line(value, problem, capsys):
    assert main(["run", "playground", "--set", value, "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and problem in err


def test_bad_config_files_in_a_real_process_have_no_traceback(tmp_path):
    for name, content in [("bin.json", bytes(range(256))), ("deep.json", b"[" * 100_000 + b"]" * 100_000)]:
        (tmp_path / name).write_bytes(content)
        proc = netarium("run", "playground", "--config", str(tmp_path / name), "--set", "model.hidden=" + "[" * 3000)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr
        assert proc.stderr.count("\n") == 1 and f"--config {tmp_path / name}: " in proc.stderr
