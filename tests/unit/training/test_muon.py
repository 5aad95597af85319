import copy

import pytest
import torch
from torch import nn

from netarium.models.base import ModelSpec, build_model
from netarium.schema import SchemaError, validate_params
from netarium.training import Config, Run
from netarium.training.muon import CUBIC, QUINTIC, Muon, MuonParams, newton_schulz, split_matrices
from netarium.training.optim import OPTIMIZERS, build_optimizer

# After 5 quintic steps every normalized singular value in [SIGMA_MIN, 1] lands in BAND (measured on the
# scalar map below: [0.680, 1.2024]); smaller ones grow at most a^5 ≈ 487-fold and may stay below it.
# After many steps the iteration keeps oscillating inside ATTRACTOR ([0.6818, 1.1344]), never reaching 1.
SIGMA_MIN = 0.0015
BAND = (0.67, 1.21)
ATTRACTOR = (0.68, 1.14)


def quintic(x: torch.Tensor, steps: int) -> torch.Tensor:
    a, b, c = QUINTIC
    for _ in range(steps):
        x = a * x + b * x**3 + c * x**5
    return x


def normalized_svals(G: torch.Tensor) -> torch.Tensor:
    return torch.linalg.svdvals(G.double()) / (G.double().norm() + 1e-7)


def random_matrix(rows: int, cols: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(rows, cols, generator=torch.Generator().manual_seed(seed))


SHAPES = [(16, 16), (128, 32), (32, 128), (50, 20)]


# ---- Newton-Schulz ----
def test_the_scalar_quintic_map_sends_every_normalized_singular_value_into_the_band():
    x = torch.linspace(SIGMA_MIN, 1.0, 20_001, dtype=torch.float64)
    y = quintic(x, 5)
    assert BAND[0] <= y.min().item() and y.max().item() <= BAND[1]
    assert y.min().item() == pytest.approx(0.68, abs=0.005) and y.max().item() == pytest.approx(1.2024, abs=1e-3)
    assert quintic(torch.tensor(SIGMA_MIN / 2, dtype=torch.float64), 5).item() < 0.5  # SIGMA_MIN is needed
    z = quintic(x[x >= 0.01], 50)
    assert ATTRACTOR[0] <= z.min().item() and z.max().item() <= ATTRACTOR[1]
    assert z.max().item() - z.min().item() > 0.4  # it oscillates: the quintic does not converge to 1


@pytest.mark.parametrize("shape", SHAPES, ids=["square", "tall", "wide", "tall-narrow"])
def test_newton_schulz_singular_values_lie_in_the_quintic_band(shape):
    G = random_matrix(*shape)
    assert normalized_svals(G).min().item() >= SIGMA_MIN  # the band's precondition holds for this matrix
    X = newton_schulz(G)
    assert X.shape == G.shape and X.dtype == torch.float32
    s = torch.linalg.svdvals(X)
    assert BAND[0] <= s.min().item() and s.max().item() <= BAND[1]
    s10 = torch.linalg.svdvals(newton_schulz(G, steps=10))
    assert ATTRACTOR[0] <= s10.min().item() and s10.max().item() <= ATTRACTOR[1]


@pytest.mark.parametrize("shape", SHAPES, ids=["square", "tall", "wide", "tall-narrow"])
def test_newton_schulz_keeps_the_singular_vectors_and_maps_each_singular_value(shape):
    G = random_matrix(*shape, seed=1).double()
    U, S, Vh = torch.linalg.svd(G, full_matrices=False)
    X = newton_schulz(G).double()
    inner = U.mT @ X @ Vh.mT  # U φ(Σ) Vᵀ in G's own singular basis: diagonal
    expected = quintic(S / (G.norm() + 1e-7), 5)
    assert torch.allclose(inner, torch.diag(expected), atol=2e-4)


def test_cubic_newton_schulz_converges_to_the_polar_factor():
    for shape in [(64, 16), (16, 64)]:
        G = random_matrix(*shape, seed=2)
        U, _, Vh = torch.linalg.svd(G, full_matrices=False)
        X = newton_schulz(G, steps=30, coefficients=CUBIC)
        small = min(shape)
        gram = X.mT @ X if shape[0] > shape[1] else X @ X.mT
        assert (gram - torch.eye(small)).norm().item() < 1e-4
        assert torch.allclose(X, U @ Vh, atol=1e-5)


def test_quintic_points_along_the_polar_factor():
    G = random_matrix(40, 24, seed=3)
    U, _, Vh = torch.linalg.svd(G, full_matrices=False)
    X = newton_schulz(G)
    cosine = (X * (U @ Vh)).sum() / (X.norm() * (U @ Vh).norm())
    assert cosine.item() > 0.98  # singular values in [0.68, 1.13], not all 1: measured 0.984


def test_newton_schulz_rejects_a_vector():
    with pytest.raises(ValueError, match="needs a matrix"):
        newton_schulz(torch.ones(3))


# ---- the split ----
def mlp3() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 12), nn.Tanh(), nn.Linear(12, 2))


def test_hidden_sends_the_first_and_last_matrix_and_every_vector_to_adamw():
    model = mlp3()
    w0, b0, w1, b1, w2, b2 = model.parameters()
    opt = Muon(model.parameters())
    muon, adam = opt.param_groups
    assert muon["use_muon"] and not adam["use_muon"]
    assert [id(p) for p in muon["params"]] == [id(w1)]
    assert [id(p) for p in adam["params"]] == [id(w0), id(b0), id(b1), id(w2), id(b2)]


def test_all_sends_every_matrix_to_muon():
    model = mlp3()
    w0, b0, w1, b1, w2, b2 = model.parameters()
    muon, adam = Muon(model.parameters(), muon_for="all").param_groups
    assert [id(p) for p in muon["params"]] == [id(w0), id(w1), id(w2)]
    assert [id(p) for p in adam["params"]] == [id(b0), id(b1), id(b2)]


def test_two_matrices_leave_the_muon_group_empty_for_hidden():
    muon, adam = split_matrices(nn.Sequential(nn.Linear(2, 4), nn.Linear(4, 2)).parameters(), "hidden")
    assert muon == [] and len(adam) == 4
    with pytest.raises(ValueError, match="muon_for"):
        split_matrices([], "some")


# ---- the Muon update ----
def set_grads(params: list[torch.Tensor], seed: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    for p in params:
        p.grad = torch.randn(p.shape, generator=gen)


@pytest.mark.parametrize("nesterov", [True, False])
def test_a_muon_step_is_minus_lr_times_scale_times_newton_schulz_of_the_momentum(nesterov):
    model = mlp3()
    W = model[2].weight  # (12, 8): tall, so the update is scaled by (12 / 8) ** 0.5
    lr, mu, wd = 0.05, 0.9, 0.1
    opt = Muon(model.parameters(), lr=lr, momentum=mu, nesterov=nesterov, weight_decay=wd)
    buf = torch.zeros_like(W)
    for step in range(3):
        set_grads(list(model.parameters()), seed=step)
        G, before = W.grad.clone(), W.detach().clone()
        buf = mu * buf + G
        direction = G + mu * buf if nesterov else buf
        expected = before * (1 - lr * wd) - lr * (12 / 8) ** 0.5 * newton_schulz(direction)
        opt.step()
        assert torch.allclose(W, expected, atol=1e-6)
        assert torch.allclose(opt.state[W]["momentum_buffer"], buf, atol=1e-6)


def test_a_conv_kernel_is_orthogonalized_flattened_over_all_but_the_first_axis():
    K = nn.Parameter(torch.randn(6, 2, 3, 3, generator=torch.Generator().manual_seed(0)))
    opt = Muon([K], lr=0.1, momentum=0.0, nesterov=False, muon_for="all")
    set_grads([K], seed=1)
    before, G = K.detach().clone(), K.grad.clone()
    opt.step()
    assert opt.state[K]["momentum_buffer"].shape == (6, 18)
    expected = before - 0.1 * newton_schulz(G.reshape(6, 18)).reshape(6, 2, 3, 3)  # wide: scale 1
    assert torch.allclose(K, expected, atol=1e-6)


def test_the_adamw_group_matches_torch_adamw_at_adam_lr():
    model = mlp3()
    reference = copy.deepcopy(model)
    kw = dict(adam_lr=0.003, adam_betas=(0.8, 0.99), adam_eps=1e-6, adam_weight_decay=0.05)
    opt = Muon(model.parameters(), lr=0.02, **kw)
    ref_params = [p for i, p in enumerate(reference.parameters()) if i != 2]  # all but the hidden matrix
    ref = torch.optim.AdamW(ref_params, lr=0.003, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.05, foreach=False)
    for step in range(5):
        set_grads(list(model.parameters()), seed=step)
        set_grads(list(reference.parameters()), seed=step)
        opt.step()
        ref.step()
    adam_params = opt.param_groups[1]["params"]
    assert len(adam_params) == len(ref_params) == 5
    for p, q in zip(adam_params, ref_params, strict=True):
        assert torch.allclose(p, q, rtol=1e-6, atol=1e-7)


def test_state_is_per_parameter_and_only_for_parameters_with_gradients():
    model = mlp3()
    opt = Muon(model.parameters())
    params = list(model.parameters())
    set_grads(params, seed=0)
    params[5].grad = None  # the last bias gets no gradient this step
    opt.step()
    assert params[5] not in opt.state
    assert set(opt.state[params[2]]) == {"momentum_buffer"}
    for i in (0, 1, 3, 4):
        state = opt.state[params[i]]
        assert state["step"] == 1 and state["exp_avg"].shape == params[i].shape
    buffers = [opt.state[p]["exp_avg"].data_ptr() for p in params[:5] if p is not params[2]]
    assert len(set(buffers)) == 4  # no sharing


def test_a_state_dict_round_trip_continues_identically():
    a, b = mlp3(), mlp3()
    opt_a = Muon(a.parameters())
    set_grads(list(a.parameters()), seed=0)
    opt_a.step()
    b.load_state_dict(a.state_dict())
    opt_b = Muon(b.parameters())
    opt_b.load_state_dict(copy.deepcopy(opt_a.state_dict()))  # as if saved and read back
    for opt, model in ((opt_a, a), (opt_b, b)):
        set_grads(list(model.parameters()), seed=1)
        opt.step()
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))


# ---- learning rates ----
def test_one_lr_for_every_group_scales_muon_and_adamw_together():
    a, b = mlp3(), mlp3()
    opt_a = build_optimizer("muon", {"lr": 0.02, "adam_lr": 0.001}, a.parameters())
    for group in opt_a.param_groups:  # what Run.set_lr does
        group["lr"] = 0.01
    opt_b = build_optimizer("muon", {"lr": 0.01, "adam_lr": 0.0005}, b.parameters())
    for opt, model in ((opt_a, a), (opt_b, b)):
        set_grads(list(model.parameters()), seed=0)
        opt.step()
    assert all(torch.allclose(p, q, rtol=0, atol=1e-9) for p, q in zip(a.parameters(), b.parameters(), strict=True))


def test_run_set_lr_sets_the_muon_lr_and_keeps_the_adamw_ratio():
    cfg = Config(task={"name": "circle"}, model={"name": "mlp", "hidden": [8, 8]}, optimizer={"name": "muon", "adam_lr": 0.004}, device="cpu")
    run = Run(cfg)
    assert run.lr == pytest.approx(0.02)
    run.set_lr(0.01)
    muon, adam = run.optimizer.param_groups
    assert run.lr == muon["lr"] == adam["lr"] == pytest.approx(0.01)
    assert muon["lr"] * muon["lr_scale"] == pytest.approx(0.01)
    assert adam["lr"] * adam["lr_scale"] == pytest.approx(0.002)


# ---- the registry and the schema ----
def test_muon_is_registered_with_its_schema():
    entry = OPTIMIZERS.get("muon")
    assert issubclass(entry.schema, MuonParams) and entry.schema.name == "muon" and "Muon" in entry.description
    p = MuonParams()
    assert (p.lr, p.momentum, p.nesterov, p.ns_steps, p.weight_decay) == (0.02, 0.95, True, 5, 0.0)
    assert (p.adam_lr, p.adam_weight_decay, p.muon_for) == (0.001, 0.0, "hidden")
    assert all(f.description for f in MuonParams.model_fields.values())


@pytest.mark.parametrize(
    "values, key",
    [({"ns_steps": 0}, "optimizer.ns_steps"), ({"ns_steps": 11}, "optimizer.ns_steps"),
     ({"momentum": 1.0}, "optimizer.momentum"), ({"muon_for": "some"}, "optimizer.muon_for"),
     ({"adam_lr": 0}, "optimizer.adam_lr")],
)  # fmt: skip
def test_bad_params_name_the_key(values, key):
    with pytest.raises(SchemaError) as e:
        Config(optimizer={"name": "muon", **values})
    assert e.value.key == key
    with pytest.raises(SchemaError) as e:
        validate_params(MuonParams, values, prefix="optimizer")
    assert e.value.key == key


def test_a_small_mlp_learns_the_circle_with_muon():
    model = build_model("mlp", {"hidden": [32, 32]}, ModelSpec(2, 2))
    assert [g["use_muon"] for g in build_optimizer("muon", {}, model.parameters()).param_groups] == [True, False]
    cfg = Config(task={"name": "circle"}, model={"name": "mlp", "hidden": [32, 32]}, optimizer={"name": "muon"}, steps=300, device="cpu")
    run = Run(cfg).train()
    assert len(run.optimizer.param_groups[0]["params"]) == 1  # the 32x32 hidden matrix
    assert run.history.last("test_acc") >= 0.9
