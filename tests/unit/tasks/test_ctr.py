"""The ctr task: codes and labels from the planted logit, the exact Bayes AUC, the issue's formula test (logistic
regression on the planted pair's product feature recovers its table and gains AUC, an unplanted pair's does not),
the Bayes AUC above trained models, AUC in the run's metrics, and the schema's errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from netarium.schema import SchemaError
from netarium.tasks import make_task
from netarium.tasks.ctr import bayes_auc, roc_auc, true_logits
from netarium.training.config import Config
from netarium.training.run import Run, binary_scores


@pytest.fixture
def one_thread():
    """Train on one torch thread (small nets: fastest, and no oversubscription), restored after."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_roc_auc_is_sklearns_with_ties() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 500)
    s = np.round(rng.normal(size=500) + y, 1)  # rounded: many ties
    assert roc_auc(s, y) == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    assert roc_auc(np.array([0.1, 0.2, 0.3]), np.array([0, 1, 1])) == 1.0
    assert roc_auc(np.array([0.5, 0.5]), np.array([0, 1])) == 0.5
    assert np.isnan(roc_auc(np.array([1.0, 2.0]), np.array([1, 1])))


def test_codes_labels_and_the_exact_bayes_auc() -> None:
    task = make_task("ctr", {"fields": 5, "cardinality": 7, "n_samples": 3000, "interactions": 2}, seed=4)
    m = task.meta
    assert task.X_train.shape == (2100, 5) and task.X_test.shape == (900, 5) and task.vocab_size == 7
    assert task.X_train.dtype == torch.int64 and int(task.X_train.max()) < 7 and task.n_classes == 2
    assert len(m["pairs"]) == 2 == len(set(m["pairs"])) and all(f < g for f, g in m["pairs"])
    # the probabilities are sigmoid(bias + main effects + planted tables) of the codes
    z = true_logits(task.X_test.numpy(), m["bias"], m["main_effects"], m["pairs"], m["tables"])
    assert np.allclose(m["p_test"], 1 / (1 + np.exp(-z)))
    f, g = m["pairs"][0]
    x = task.X_test.numpy()[0]
    by_hand = m["bias"] + sum(m["main_effects"][k, x[k]] for k in range(5)) + sum(
        m["tables"][k, x[a], x[b]] for k, (a, b) in enumerate(m["pairs"]))
    assert z[0] == pytest.approx(by_hand)
    assert bayes_auc(task) == pytest.approx(roc_auc_score(task.y_test.numpy(), m["p_test"]), abs=1e-12)
    # labels follow the probabilities: the mean label is the mean probability within sampling noise
    p_all = np.concatenate([m["p_train"], m["p_test"]])
    y_all = np.concatenate([task.y_train.numpy(), task.y_test.numpy()])
    assert abs(y_all.mean() - p_all.mean()) < 3 * np.sqrt(0.25 / len(y_all))
    with pytest.raises(ValueError, match="Bayes AUC"):
        bayes_auc(make_task("circle", {}, seed=0))


def one_hot(codes: np.ndarray, C: int) -> np.ndarray:
    """Each field's one-hot code, concatenated: (N, F * C)."""
    n, F = codes.shape
    out = np.zeros((n, F * C))
    out[np.arange(n)[:, None], np.arange(F) * C + codes] = 1
    return out


def product_feature(codes: np.ndarray, f: int, g: int, C: int) -> np.ndarray:
    """The one-hot of the pair (x_f, x_g): (N, C * C), column x_f * C + x_g."""
    out = np.zeros((len(codes), C * C))
    out[np.arange(len(codes)), codes[:, f] * C + codes[:, g]] = 1
    return out


def double_centred(t: np.ndarray) -> np.ndarray:
    """A C x C table without its row and column means (those are main effects, not interaction)."""
    return t - t.mean(0, keepdims=True) - t.mean(1, keepdims=True) + t.mean()


def fit_auc(Xtr, ytr, Xte, yte) -> tuple[float, np.ndarray]:
    lr = LogisticRegression(C=10.0, max_iter=2000).fit(Xtr, ytr)
    return roc_auc(lr.decision_function(Xte), yte), lr.coef_[0]


def test_the_planted_interaction_is_recovered_by_logistic_regression_on_the_product_feature() -> None:
    C = 6
    task = make_task("ctr", {"fields": 4, "cardinality": C, "n_samples": 30000, "interactions": 1, "strength": 1.5}, seed=1)
    (f, g), table = task.meta["pairs"][0], task.meta["tables"][0]
    other = next((a, b) for a in range(4) for b in range(a + 1, 4) if (a, b) != (f, g))
    Xtr, Xte = task.X_train.numpy(), task.X_test.numpy()
    ytr, yte = task.y_train.numpy(), task.y_test.numpy()
    base = one_hot(Xtr, C), one_hot(Xte, C)
    auc_main, _ = fit_auc(base[0], ytr, base[1], yte)
    planted = np.hstack([base[0], product_feature(Xtr, f, g, C)]), np.hstack([base[1], product_feature(Xte, f, g, C)])
    auc_planted, coef = fit_auc(planted[0], ytr, planted[1], yte)
    wrong = np.hstack([base[0], product_feature(Xtr, *other, C)]), np.hstack([base[1], product_feature(Xte, *other, C)])
    auc_wrong, _ = fit_auc(wrong[0], ytr, wrong[1], yte)
    bayes = bayes_auc(task)
    assert auc_planted > auc_main + 0.05  # the product feature of the planted pair lets a linear model see it
    assert bayes - auc_planted < 0.01 and auc_planted <= bayes  # and then it is nearly the Bayes classifier
    assert abs(auc_wrong - auc_main) < 0.005  # an unplanted pair's product feature adds nothing
    # its coefficients are the planted table, up to the row and column terms the main effects absorb
    learned = coef[4 * C:].reshape(C, C)
    r = np.corrcoef(double_centred(learned).ravel(), double_centred(table).ravel())[0, 1]
    assert r > 0.95
    assert np.abs(double_centred(learned) - double_centred(table)).mean() < 0.25 * np.abs(double_centred(table)).mean() + 0.1


def test_the_bayes_auc_is_above_trained_models_and_runs_report_auc(one_thread) -> None:
    config = Config(task={"name": "ctr", "n_samples": 6000}, model={"name": "mlp", "hidden": [16]}, optimizer={"name": "adam", "lr": 0.01},
                    steps=300, batch_size=256, seed=0)
    run = Run(config).train()
    metrics = run.final_metrics()
    assert {"train_auc", "test_auc"} <= set(metrics)
    task = run.task
    with torch.no_grad():
        scores = binary_scores(run.model(task.X_test))
    auc = roc_auc(scores, task.y_test.numpy())
    assert metrics["test_auc"] == pytest.approx(auc, abs=1e-9)  # the whole test split is under the evaluation cap
    assert 0.7 < auc < bayes_auc(task)  # it learned something, and not more than the true probabilities give
    circle = Run(Config(task={"name": "circle"}, model={"name": "mlp"}, steps=5))
    assert "test_auc" not in circle.train().final_metrics()


def test_schema_errors_name_the_key() -> None:
    with pytest.raises(SchemaError, match="interactions"):
        make_task("ctr", {"fields": 3, "interactions": 4})
    with pytest.raises(SchemaError, match="fields"):
        make_task("ctr", {"fields": 1})
