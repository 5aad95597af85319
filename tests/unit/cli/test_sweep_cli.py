"""`netarium sweep`: the table, `--json`, `--save`, divergence, bad input, workers and Ray."""

import json
import math
import subprocess
import sys

import pytest

from netarium.cli import main
from netarium.experiments import EXPERIMENTS
from netarium.training.runs_io import load_sweep_result
from netarium.training.store import RunStore
from netarium.training.sweep import sweep_from_specs
from netarium.training.sweep_run import run_sweep

GRID = ["--axis", "optimizer.lr=0.003,0.03", "--axis", "model.activation=tanh,relu", "--seeds", "2"]


def strict_json(text: str):
    def refuse(name: str):
        raise AssertionError(f"{name} in strict JSON")

    return json.loads(text, parse_constant=refuse)


def table_rows(out: str) -> list[list[str]]:
    return [line.split() for line in out.strip().splitlines()]


def test_sweep_json_table_and_store(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NETARIUM_HOME", str(tmp_path))
    out = tmp_path / "s.json"
    code = main(["sweep", "playground", *GRID, "--steps", "30", "--set", "eval_every=10", "--set", "task.noise=0.2",
                 "--workers", "1", "--json", str(out), "--save", "--quiet"])
    assert code == 0
    captured = capsys.readouterr()
    data = strict_json(out.read_text())
    assert set(data) == {"sweep", "members", "seconds"} and len(data["members"]) == 8

    # the base is the experiment's preset with --set and --steps applied, as `netarium run` makes it
    base = EXPERIMENTS.get("playground").config.with_overrides(["eval_every=10", "task.noise=0.2", "steps=30"])
    sweep = sweep_from_specs(base, GRID[1::2][:2], seeds=2)
    assert data["sweep"] == sweep.model_dump(mode="json")
    expected = run_sweep(sweep)
    for d, m in zip(data["members"], expected.members, strict=True):
        assert {"config", "final", "history", "state", "point", "index", "step", "reason"} <= set(d)
        assert d["config"] == m.config.model_dump(mode="json") and d["state"] == "done" and d["step"] == 30
        assert d["final"] == m.final and [s for s, _ in d["history"]["test_acc"]] == [10, 20, 30]
        assert d["config"]["optimizer"]["lr"] == d["point"]["optimizer.lr"]

    # the table: a header, then the members best first by test accuracy
    header, *rows = table_rows(captured.out)
    assert header == ["member", "optimizer.lr", "model.activation", "seed", "state", "test_acc", "train_loss"]
    assert len(rows) == 8 and all(r[4] == "done" for r in rows)
    accs = [float(r[5]) for r in rows]
    assert accs == sorted(accs, reverse=True)
    best = expected.members[int(rows[0][0][1:])]
    assert (rows[0][1], rows[0][2], rows[0][3]) == (f"{best.config.optimizer.lr:.4g}", best.config.model.activation[0],
                                                    str(best.config.seed))
    assert float(rows[0][5]) == pytest.approx(best.final["test_acc"], rel=1e-3)

    with RunStore(tmp_path / "netarium.db") as store:
        (record,) = store.list_sweeps()
        assert f"saved as sweep {record.id}" in captured.err and record.name == "playground"
        back = load_sweep_result(store, record.id)
        assert back.sweep == sweep and [m.final for m in back.members] == [m.final for m in expected.members]


def test_diverged_members_come_last_marked_and_the_json_stays_strict(tmp_path, capsys):
    diverging = ["--set", "optimizer.name=sgd", "--set", "task.name=reg-plane", "--set", "model.activation=relu",
                 "--set", "model.hidden=64,64", "--steps", "300", "--quiet", "--workers", "1"]
    out = tmp_path / "d.json"
    assert main(["sweep", "playground", "--axis", "optimizer.lr=10,0.01", *diverging, "--json", str(out)]) == 0
    header, first, last = table_rows(capsys.readouterr().out)
    assert header == ["member", "optimizer.lr", "seed", "state", "test_r2", "train_loss"]
    assert first[:4] == ["#1", "0.01", "0", "done"] and float(first[4]) > 0.9
    assert last[:4] == ["#0", "10", "0", "DIVERGED"] and last[-2:] == ["-", "-"] and "step" in last
    members = strict_json(out.read_text())["members"]
    assert members[0]["state"] == "diverged" and "learning rate" in members[0]["reason"]
    assert all(v is None or math.isfinite(v) for m in members for pts in m["history"].values() for _, v in pts)
    # every member diverged: exit status 1, as for a run that diverged
    assert main(["sweep", "playground", "--axis", "optimizer.lr=10", *diverging]) == 1


@pytest.mark.parametrize("args,needle", [
    (["--axis", "optimizer.lr=0.01,20"], "axis optimizer.lr: value '20'"),
    (["--axis", "optimizer.lr=0.01,20"], "allowed: float from 0.0 to 10.0"),
    (["--axis", "model.activation=tanh,swish"], "relu, tanh"),
    (["--axis", "model.widths=3"], "unknown key"),
    (["--axis", "optimizer.lr=log:0:1:3"], "positive bounds"),
    (["--axis", "optimizer.lr"], "key=VALUES"),
    (["--axis", "l2=0,1", "--axis", "l2=2"], "appears twice"),
    (["--axis", "optimizer.lr=log:1e-4:1:100", "--axis", "l2=lin:0:1:11"], "at most 1,024"),
    (["--seeds", "0"], "--seeds: expected a whole number from 1 to 1024"),
    (["--random", "5000"], "--random"),
    (["--workers", "0"], "--workers"),
    (["--set", "task.noise=0.9"], "task.noise"),
])
def test_bad_sweeps_exit_2_with_one_line_naming_the_axis(args, needle, capsys):
    assert main(["sweep", "playground", *args, "--steps", "5", "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("netarium: error:") and needle in err


def test_ray_address_without_ray_installed_says_how_to_get_it(monkeypatch, capsys):
    import importlib.util

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "ray" else find_spec(name, *a))
    assert main(["sweep", "playground", "--axis", "seed=0,1", "--ray-address", "auto"]) == 2
    assert "pip install 'netarium[ray]'" in capsys.readouterr().err


def test_random_draws_times_seeds_in_a_real_process(tmp_path):
    out = tmp_path / "r.json"
    proc = subprocess.run([sys.executable, "-m", "netarium.cli", "sweep", "playground", "--axis", "optimizer.lr=log:1e-3:1e-1:2",
                           "--random", "3", "--seeds", "2", "--steps", "5", "--workers", "1", "--json", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    members = json.loads(out.read_text())["members"]
    assert len(members) == 6 and [m["config"]["seed"] for m in members] == [0, 1] * 3
    assert "100% 5/5 steps" in proc.stderr  # the progress bar, on stderr
    assert len(table_rows(proc.stdout)) == 7
    bad = subprocess.run([sys.executable, "-m", "netarium.cli", "sweep", "playground", "--axis", "optimizer.lr=-1"],
                         capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "axis optimizer.lr" in bad.stderr


def test_the_default_sweep_never_imports_ray():
    code = ("import sys; from netarium.cli import main; "
            "main(['sweep', 'playground', '--axis', 'optimizer.lr=0.01,0.1', '--steps', '3', '--quiet']); "
            "print('ray' in sys.modules, any(m.startswith('ray.') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "False False"


TINY_TRANSFORMER = ["--set", "model.name=transformer", "--set", "task.name=sort", "--set", "model.d_model=8",
                    "--set", "model.layers=1", "--set", "task.n_train=200", "--set", "task.n_test=100",
                    "--steps", "20", "--quiet", "--axis", "optimizer.lr=0.001,0.01"]


@pytest.mark.slow
def test_workers_and_ray_give_the_in_process_numbers(tmp_path, local_ray):
    outs = {}
    for name, extra in {"here": ["--workers", "1"], "pool": ["--workers", "2"], "ray": ["--ray-address", local_ray]}.items():
        outs[name] = tmp_path / f"{name}.json"
        assert main(["sweep", "playground-spiral", *TINY_TRANSFORMER, *extra, "--json", str(outs[name])]) == 0
    here, pool, ray = (json.loads(outs[n].read_text())["members"] for n in ("here", "pool", "ray"))
    assert len(here) == 2 and here[0]["final"]["test_acc"] is not None
    assert pool == here and ray == here
