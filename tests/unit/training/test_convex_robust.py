"""The robust convex program (training/convex_robust.py): against cvxpy, at eps = 0, its constraints on the
worst-case vertex, the PGD attack and the certificate; the `adversarial` trainer in Runs and sweeps."""

import numpy as np
import pytest
import torch

from netarium.schema import SchemaError
from netarium.training.config import Config
from netarium.training.convex import admm, patterns, to_network, with_ones
from netarium.training.convex_robust import (
    certified_margin,
    clean_accuracy,
    pgd_attack,
    robust_accuracy,
    robust_curve,
    robust_network,
    robust_objective,
    robust_patterns,
    robust_solve,
    robust_violation,
    worst_case_margin,
)
from netarium.training.run import Run
from netarium.training.sweep_run import train_configs


def xor_data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, (n, 2))
    return X, np.sign(X[:, 0] * X[:, 1])


def cvxpy_robust(X, y, D, lam, eps, loss):
    """The robust program written directly in cvxpy: worst-case loss through |w_j|_1 and the cone constraints
    (2D_i - I) X1 u_i >= eps |u_i[:k]|_1 (the reference, CLARABEL)."""
    cp = pytest.importorskip("cvxpy")
    X1, Dn = with_ones(X).numpy(), D.numpy().astype(float)
    n, d = X1.shape
    P, k = Dn.shape[1], d - 1
    U, V = cp.Variable((P, d)), cp.Variable((P, d))
    yhat = cp.sum(cp.multiply(Dn, X1 @ (U - V).T), axis=1)
    spread = eps * cp.sum(cp.abs(Dn @ (U - V)[:, :k]), axis=1)
    data = (cp.sum(cp.pos(1 - cp.multiply(y, yhat) + spread)) / n if loss == "hinge"
            else cp.sum_squares(cp.abs(y - yhat) + spread) / (2 * n))
    S = 2 * Dn - 1
    cons = [cp.multiply(S[:, i], X1 @ W[i]) >= eps * cp.norm(W[i, :k], 1) for i in range(P) for W in (U, V)]
    prob = cp.Problem(cp.Minimize(data + lam * (cp.sum(cp.norm(U, 2, axis=1)) + cp.sum(cp.norm(V, 2, axis=1)))), cons)
    prob.solve(solver="CLARABEL")
    return prob.value


@pytest.mark.parametrize("seed,n,gates,lam,eps,loss", [(0, 12, 10, 0.05, 0.1, "hinge"), (1, 14, 10, 0.02, 0.05, "squared")])
def test_robust_program_agrees_with_cvxpy(seed, n, gates, lam, eps, loss):
    X, y = xor_data(n, seed)
    D = patterns(X, gates, seed=seed)
    ref = cvxpy_robust(X, y, D, lam, eps, loss)
    sol = robust_solve(X, y, D, lam, eps, loss=loss, eps_abs=1e-7, eps_rel=1e-7)
    assert sol.converged
    assert abs(sol.value - ref) <= 1e-4 * ref
    assert sol.value == pytest.approx(robust_objective(sol.u, sol.v, X, y, D, lam, eps, loss), rel=1e-12)
    assert robust_violation(sol.u, sol.v, X, D, eps) < 1e-5
    assert len(sol.primal) == len(sol.dual) == len(sol.seconds) == sol.iterations


def test_eps_zero_is_the_standard_program():
    X, y = xor_data(14, 2)
    D = patterns(X, 10, seed=2)
    std = admm(X, y, D, 0.03, eps_abs=1e-9, eps_rel=1e-9, max_iter=20000)
    rob = robust_solve(X, y, D, 0.03, 0.0, loss="squared", eps_abs=1e-7, eps_rel=1e-7)
    assert std.converged and rob.converged
    assert abs(rob.value - std.value) <= 1e-4 * std.value
    # the robust program's objective at eps = 0 is the standard one at any point
    assert robust_objective(std.u, std.v, X, y, D, 0.03, 0.0, "squared") == pytest.approx(std.value, rel=1e-12)


def test_constraints_hold_on_the_worst_vertex_and_the_net_is_linear_on_the_ball():
    X, y = xor_data(12, 0)
    eps, lam = 0.1, 0.05
    D = patterns(X, 10, seed=0)
    sol = robust_solve(X, y, D, lam, eps, loss="hinge", eps_abs=1e-7, eps_rel=1e-7)
    assert sol.converged
    u, v = sol.u, sol.v
    X1, S = with_ones(X), 2 * D.double() - 1
    active = 0
    for W in (u, v):
        for i in range(W.shape[0]):
            if W[i].norm() == 0:
                continue
            active += 1
            # the vertex of the l_inf ball that pushes each point hardest against the pattern: -s eps sign(w)
            delta = -S[:, i:i + 1] * eps * torch.sign(W[i, :-1])[None, :]
            worst = S[:, i] * (with_ones(torch.as_tensor(X) + delta) @ W[i])
            assert float(worst.min()) >= -1e-6 * float(W[i].norm())
            assert float((S[:, i] * (X1 @ W[i])).min()) >= eps * float(W[i, :-1].abs().sum()) - 1e-6 * float(W[i].norm())
    assert active >= 2
    # the mapped net is the linear map sum_i D_i x1 (u_i - v_i) at every vertex of every point's ball
    net = robust_network(sol)
    rng = np.random.default_rng(0)
    for _ in range(8):
        corner = torch.as_tensor(rng.choice([-eps, eps], size=X.shape))
        Xc = torch.as_tensor(X) + corner
        linear = ((with_ones(Xc) @ (u - v).T) * D.double()).sum(1)
        assert torch.allclose(to_network(sol)["a"] @ torch.relu(Xc @ net["W1"].T + net["b1"]).T, linear, atol=1e-6)
    # worst-case margins from the program equal the network's certificate (no neuron changes sign)
    assert torch.allclose(worst_case_margin(u, v, X, y, D, eps), certified_margin(net, X, y, eps), atol=1e-5)


def test_pgd_finds_the_exact_adversarial_points_of_a_linear_rule():
    # f(x) = x1 - 0.5 x2: the l_inf distance of x to the boundary is |f(x)| / 1.5, so PGD at eps flips
    # exactly the points with |f| < 1.5 eps
    X = torch.as_tensor(np.random.default_rng(0).uniform(-1, 1, (200, 2)))
    f = X[:, 0] - 0.5 * X[:, 1]
    y = torch.sign(f)

    def rule(x):
        return x[:, 0] - 0.5 * x[:, 1]

    eps = 0.2
    Xa = pgd_attack(rule, X, y, eps, steps=10, seed=1)
    assert float((Xa - X).abs().max()) <= eps + 1e-12
    assert robust_accuracy(rule, X, y, eps, steps=10) == pytest.approx(float((f.abs() > 1.5 * eps).double().mean()))
    assert 0.6 < robust_accuracy(rule, X, y, eps) < 0.85
    assert clean_accuracy(rule, X, y) == 1.0


def test_pgd_breaks_a_plain_trained_net():
    config = Config(task={"name": "moons", "n_samples": 200, "noise": 0.1}, model={"name": "mlp", "hidden": [16]},
                    optimizer={"name": "adam", "lr": 0.03}, steps=300, batch_size=0, device="cpu")
    run = Run(config).train()
    X, y = run.task.X_test, run.task.y_test
    clean = clean_accuracy(run.model, X, y)
    attacked = robust_accuracy(run.model, X, y, 0.5, steps=20)
    assert clean >= 0.95
    assert attacked <= clean - 0.1  # real adversarial points: the accuracy drops
    assert all(p.requires_grad for p in run.model.parameters())  # the attack gave the parameters back


def test_the_robust_nets_certificate_holds_against_pgd():
    X, y = xor_data(30, 4)
    X = torch.as_tensor(X)
    eps, lam = 0.05, 0.005
    D = torch.cat([patterns(X, 20, seed=4), robust_patterns(X, eps, 20, seed=4)], 1)
    sol = robust_solve(X, y, D, lam, eps, max_iter=1500, eps_abs=1e-6, eps_rel=1e-6)
    net = robust_network(sol)
    certified = float((certified_margin(net, X, y, eps) > 0).double().mean())
    program = float((worst_case_margin(sol.u, sol.v, X, y, D, eps) > 0).double().mean())
    pgd = robust_accuracy(net, X, y, eps, steps=30, restarts=2)
    assert certified == program
    assert certified >= 0.6
    assert pgd >= certified
    assert clean_accuracy(net, X, y) >= pgd


# ----------------------------------------------------------------------------------------- the trainer

ADV = Config(task={"name": "moons", "n_samples": 120}, model={"name": "mlp", "hidden": [8]},
             trainer={"name": "adversarial", "eps": 0.3, "steps": 3}, steps=20, batch_size=16, eval_every=10, device="cpu")


def test_adversarial_trainer_trains_on_perturbed_batches():
    run = Run(ADV)
    x, y = run.task.X_train[:16], run.task.y_train[:16]
    loss, out = run.trainer.step(run, x, y)
    moved = run.trainer.last_batch
    assert moved is not None and moved.shape == x.shape
    assert 0.0 < float((moved - x).abs().max()) <= 0.3 + 1e-6
    assert torch.isfinite(loss) and out.shape == (16, 2)
    run.train()
    assert run.step_count == 20 and np.isfinite(run.final_metrics()["train_loss"])


def test_adversarial_trainer_refuses_token_tasks():
    config = Config(task={"name": "modular", "M": 7}, model={"name": "transformer", "layers": 1, "d_model": 16, "heads": 2,
                                                             "d_mlp": 32}, trainer={"name": "adversarial"}, device="cpu")
    with pytest.raises(SchemaError, match="real-valued inputs"):
        Run(config)


def test_adversarial_sweep_members_train_as_alone():
    configs = [ADV, ADV.with_overrides({"seed": 1, "trainer.eps": 0.1})]
    runs = train_configs(configs)
    for config, run in zip(configs, runs, strict=True):
        alone = Run(config).train()
        assert type(run.trainer).__name__ == "Adversarial"
        assert run.final_metrics()["train_loss"] == pytest.approx(alone.final_metrics()["train_loss"], rel=1e-6)


def test_robust_curve_orders_clean_attacked_and_certified():
    X, y = xor_data(24, 5)
    D = patterns(X, 16, seed=5)
    curve = robust_curve(X, y, D, 0.01, [0.0, 0.05, 0.1], max_iter=1500)
    assert curve.eps_grid == [0.0, 0.05, 0.1]
    assert len(curve.clean) == len(curve.pgd) == len(curve.certified) == len(curve.neurons) == 3
    assert curve.pgd[0] == curve.clean[0] == curve.certified[0]  # no attack at eps = 0
    for clean, pgd, cert in zip(curve.clean, curve.pgd, curve.certified, strict=True):
        assert 0.0 <= cert <= pgd <= clean <= 1.0
    assert curve.clean[0] >= 0.9 and min(curve.neurons) >= 1


@pytest.mark.parametrize("model", ["mlp", "residual-mlp", "finalmlp", "hourglass", "kan", "quadratic", "sparse-mlp"])
def test_adversarial_trainer_takes_any_model_on_a_2d_task(model):
    run = Run(ADV.with_overrides({"model": {"name": model}, "steps": 4, "eval_every": 4})).train()
    assert run.step_count == 4 and run.state != "diverged"
    assert np.isfinite(run.final_metrics()["train_loss"])
    assert run.trainer.last_batch is not None and run.trainer.last_batch.shape == (16, 2)


def test_cli_runs_with_the_adversarial_trainer(tmp_path):
    import json

    from netarium.cli import main

    out = tmp_path / "r.json"
    code = main(["run", "playground-spiral", "--steps", "20", "--set", "trainer.name=adversarial", "--set", "trainer.eps=0.2",
                 "--set", "eval_every=10", "--json", str(out), "--quiet"])
    data = json.loads(out.read_text())
    assert code == 0
    assert data["config"]["trainer"] == {"name": "adversarial", "grad_clip": 0.0, "lr_decay": "none", "eps": 0.2, "steps": 5, "step_size": 0.0}
    assert data["steps"] == 20 and np.isfinite(data["final"]["train_loss"])
    assert main(["run", "playground-spiral", "--steps", "2", "--set", "trainer.name=adversarial", "--set", "trainer.eps=-1"]) == 2
