import math

import pytest
import torch

from netarium.experiments.n2n import (
    Reinforce,
    RemovalPolicy,
    WidthPolicy,
    build_student,
    compression,
    distill,
    distillation_loss,
    n2n_reward,
    n2n_search,
    predict,
    remove_layers,
    scaled_width,
    shrink_widths,
    student_params,
    teacher_mlp_params,
)
from netarium.models import ModelSpec
from netarium.models.base import parameter_count
from netarium.models.mlp import MLPParams
from netarium.schema import SchemaError
from netarium.training import Config, Run

TEACHER = Config(task={"name": "digits", "n_samples": 400}, model={"name": "mlp", "hidden": [32, 24, 32], "activation": "relu"},
                 optimizer={"name": "adam", "lr": 3e-3}, batch_size=64, steps=200, seed=0, device="cpu")


@pytest.fixture(scope="module")
def teacher() -> Run:
    return Run(TEACHER).train()


# ---- reward ----

def test_reward_on_hand_computed_numbers():
    assert compression(25, 100) == 0.75
    assert n2n_reward(25, 100, 0.9, 1.0) == pytest.approx(0.75 * 1.25 * 0.9)  # 0.84375
    assert n2n_reward(25, 100, 0.9, 1.0) == pytest.approx(0.84375)
    assert n2n_reward(25, 100, 0.0, 0.9) == 0.0  # a useless student earns nothing, however small
    assert n2n_reward(100, 100, 1.0, 1.0) == 0.0  # no compression, no reward
    assert n2n_reward(50, 100, 1.0, 0.5) == pytest.approx(0.75 * 2.0)  # the accuracy ratio is not clipped
    assert n2n_reward(150, 100, 1.0, 1.0) == pytest.approx(-0.5 * 2.5)  # a larger student is penalised
    with pytest.raises(ValueError):
        n2n_reward(25, 100, 0.9, 0.0)


# ---- policies and REINFORCE ----

def draws(policy, seed: int, n: int = 10) -> list[list[int]]:
    gen = torch.Generator().manual_seed(seed)
    return [policy.sample(gen).tolist() for _ in range(n)]


def test_sampled_actions_are_deterministic_for_a_seed():
    removal, widths = RemovalPolicy(6), WidthPolicy(4, 4)
    assert draws(removal, 3) == draws(removal, 3)
    assert draws(widths, 3) == draws(widths, 3)
    assert draws(removal, 3) != draws(removal, 4)
    assert all(set(a) <= {0, 1} and len(a) == 6 for a in draws(removal, 3))
    assert all(all(0 <= c < 4 for c in a) and len(a) == 4 for a in draws(widths, 3))


@pytest.mark.parametrize("make, actions", [
    (lambda: RemovalPolicy(3), torch.tensor([1, 0, 1])),
    (lambda: WidthPolicy(3, 4), torch.tensor([0, 3, 2])),
])
@pytest.mark.parametrize("reward, sign", [(1.0, 1), (0.0, -1)])
def test_reinforce_moves_the_log_probability_with_the_advantage(make, actions, reward, sign):
    policy = make()
    learner = Reinforce(policy, lr=0.1, baseline_decay=0.8, baseline=0.5)
    before = float(policy.log_prob(actions).detach())
    baseline, advantage = learner.update(actions, reward)
    after = float(policy.log_prob(actions).detach())
    assert (baseline, advantage) == (0.5, reward - 0.5)
    assert sign * (after - before) > 0.05
    assert learner.baseline == pytest.approx(0.8 * 0.5 + 0.2 * reward)


def test_the_first_reward_seeds_the_baseline_and_leaves_the_policy():
    policy = RemovalPolicy(3)
    learner = Reinforce(policy)
    before = policy.logits.detach().clone()
    assert learner.update(torch.tensor([1, 1, 0]), 0.7) == (0.7, 0.0)
    assert torch.equal(policy.logits.detach(), before)
    assert learner.baseline == pytest.approx(0.7)


def test_log_probs_match_the_distributions():
    removal = RemovalPolicy(2, init_keep=0.8)
    assert float(removal.log_prob(torch.tensor([1, 0])).detach()) == pytest.approx(math.log(0.8 * 0.2), rel=1e-5)
    widths = WidthPolicy(2, 4)
    assert float(widths.log_prob(torch.tensor([0, 3])).detach()) == pytest.approx(2 * math.log(0.25), rel=1e-5)


# ---- architectures ----

def test_layer_removal_and_width_shrink_give_the_expected_widths_and_counts():
    teacher = MLPParams(hidden=[128] * 6, activation="relu").model_dump(mode="json")
    spec = ModelSpec(64, 10)
    assert parameter_count(build_student(student_params(teacher, range(6), [128] * 6), spec, 0)) == 92170
    kept = remove_layers([128] * 6, torch.tensor([1, 0, 0, 1, 0, 0]))
    assert kept == [128, 128]
    shrunk = shrink_widths(kept, [0, 3])
    assert shrunk == [32, 128]
    model = build_student(student_params(teacher, [0, 3], shrunk), spec, 0)
    assert [layer.linear.out_features for layer in model.layers] == [32, 128]
    assert parameter_count(model) == (64 * 32 + 32) + (32 * 128 + 128) + (128 * 10 + 10) == 7594
    assert parameter_count(build_student(student_params(teacher, [], []), spec, 0)) == 64 * 10 + 10
    assert shrink_widths([128, 100, 3, 5], [1, 2, 0, 1]) == [64, 75, 1, 3]  # halves round up, at least 1
    assert scaled_width(7, 0.25) == 2


def test_students_keep_their_layers_activations_and_are_seeded():
    teacher = MLPParams(hidden=[8, 8, 8], activation=["relu", "tanh", "sigmoid"]).model_dump(mode="json")
    teacher["activation"] = ["relu", "tanh", "sigmoid"]
    params = student_params(teacher, [1, 2], [4, 8])
    assert params["hidden"] == [4, 8] and params["activation"] == ["tanh", "sigmoid"]
    a, b = build_student(params, ModelSpec(5, 3), 7), build_student(params, ModelSpec(5, 3), 7)
    assert [layer.activation_name for layer in a.layers] == ["tanh", "sigmoid"]
    assert all(torch.equal(x, y) for x, y in zip(a.parameters(), b.parameters(), strict=True))
    state = torch.get_rng_state()
    build_student(params, ModelSpec(5, 3), 8)
    assert torch.equal(torch.get_rng_state(), state)  # the global RNG is left alone


def test_a_non_mlp_teacher_is_refused():
    cfg = TEACHER.with_overrides({"model.name": "residual-mlp", "steps": 0})
    with pytest.raises(SchemaError):
        teacher_mlp_params(Run(cfg))


# ---- distillation ----

def test_distillation_loss_is_zero_at_the_teacher_and_mixes_the_hard_loss():
    z = torch.randn(5, 4)
    y = torch.tensor([0, 1, 2, 3, 0])
    assert float(distillation_loss(z, z, temperature=3.0)) == pytest.approx(0.0, abs=1e-6)
    s = torch.randn(5, 4)
    soft = float(distillation_loss(s, z, temperature=3.0))
    ce = float(torch.nn.functional.cross_entropy(s, y))
    assert float(distillation_loss(s, z, 3.0, y, hard_weight=0.25)) == pytest.approx(0.75 * soft + 0.25 * ce, rel=1e-5)


def test_a_distilled_student_agrees_with_the_teacher(teacher):
    t = teacher.task
    params = student_params(teacher_mlp_params(teacher), [0], [16])
    student = build_student(params, ModelSpec.for_task(t), 0)
    teacher_test = predict(teacher.model, t.X_test).argmax(-1)
    before = float((predict(student, t.X_test).argmax(-1) == teacher_test).float().mean())
    distill(student, predict(teacher.model, t.X_train), t.X_train, t.y_train, 200,
            generator=torch.Generator().manual_seed(0))
    agreement = float((predict(student, t.X_test).argmax(-1) == teacher_test).float().mean())
    # measured 0.85-0.96 over student seeds 0-7 (chance: 0.1)
    assert agreement > 0.7 and agreement > before + 0.4


# ---- the search ----

def test_n2n_search_records_consistent_rollouts_and_the_best_student(teacher):
    calls = []
    res = n2n_search(teacher, stage1_rollouts=5, stage2_rollouts=4, student_steps=20, seed=1,
                     progress=lambda done, total: calls.append((done, total)))
    assert calls == [(i, 9) for i in range(1, 10)]
    assert res.teacher_widths == [32, 24, 32]
    assert res.teacher_params == parameter_count(teacher.model) == 64 * 32 + 32 + 32 * 24 + 24 + 24 * 32 + 32 + 32 * 10 + 10
    assert [r["stage"] for r in res.rollouts] == [1] * 5 + [2] * 4
    assert [r["index"] for r in res.rollouts] == list(range(9))
    pt = res.teacher_params
    for r in res.rollouts:
        assert r["C"] == 1 - r["params"] / pt
        assert r["ratio"] == pt / r["params"]
        assert r["reward"] == n2n_reward(r["params"], pt, r["acc"], res.teacher_acc)
        assert r["advantage"] == r["reward"] - r["baseline"]
        if r["stage"] == 1:
            assert r["widths"] == remove_layers(res.teacher_widths, r["actions"])
        else:
            assert r["widths"] == shrink_widths([res.teacher_widths[i] for i in res.stage1_layers], r["actions"], res.scales)
    stage1 = [r for r in res.rollouts if r["stage"] == 1]
    assert res.stage1_best.reward == max(r["reward"] for r in stage1)
    assert res.stage1_best.widths == [res.teacher_widths[i] for i in res.stage1_layers]
    top = max(res.rollouts, key=lambda r: r["reward"])
    assert res.best.reward == top["reward"]
    assert (res.best.widths, res.best.params, res.best.acc) == (top["widths"], top["params"], top["acc"])
    assert parameter_count(res.best.model) == res.best.params
    t = teacher.task
    assert float((predict(res.best.model, t.X_test).argmax(-1) == t.y_test).float().mean()) == res.best.acc
    assert res.students_trained + res.cache_hits == 9
    assert res.cache_hits == sum(r["cached"] for r in res.rollouts)
    assert len({tuple(r["widths"]) for r in res.rollouts}) == res.students_trained
    assert len(res.keep_probs) == 3 and all(0 < p < 1 for p in res.keep_probs)
    assert len(res.width_probs) == len(res.stage1_layers)
    assert all(sum(row) == pytest.approx(1.0) for row in res.width_probs)

    again = n2n_search(teacher, stage1_rollouts=5, stage2_rollouts=4, student_steps=20, seed=1)
    assert again.rollouts == res.rollouts  # deterministic for a seed


def test_n2n_search_survives_removing_every_layer(teacher):
    res = n2n_search(teacher, stage1_rollouts=2, stage2_rollouts=2, student_steps=5, init_keep=0.001)
    assert res.stage1_layers == [] and res.width_probs == []
    assert all(r["widths"] == [] for r in res.rollouts)
    assert res.students_trained == 1 and res.cache_hits == 3
    assert res.best.params == 64 * 10 + 10
