"""A generated click-through task with categorical fields and planted pairwise interactions (FinalMLP's
setting, Mao et al. 2023), whose Bayes AUC is known exactly.

F fields, each taking one of C values uniformly at random. The true click logit is
    z = bias + sum_f a_f[x_f] + sum_{(f, g) planted} T_fg[x_f, x_g]
with main effects a_f[v] ~ N(0, main_scale^2), one random C x C table T_fg ~ N(0, strength^2) per planted
field pair (pairs drawn without replacement), and bias = logit(base_rate); a click is y ~ Bernoulli(sigmoid(z)).
The inputs are the field codes as int64 tokens (N, F) in [0, C), vocab_size = C: the token convention of
the code base (an MLP's first layer, TokenLinear, offsets field f's codes by f * C into one table). The
Bayes AUC is the AUC of the true probabilities sigmoid(z) on the test split: no model can score higher
in expectation, and it is computed exactly from the generator (`meta["bayes_auc"]`, `bayes_auc(task)`).
"""

from __future__ import annotations

import itertools

import numpy as np
import torch
from pydantic import Field, model_validator

from netarium.schema import Params
from netarium.tasks.base import TASKS, Task, split_indices


class CTRParams(Params):
    fields: int = Field(6, ge=2, le=16, description="Number of categorical fields F")
    cardinality: int = Field(10, ge=2, le=64, description="Values per field C (codes 0..C-1)")
    n_samples: int = Field(20000, ge=100, le=200000, description="Number of impressions (train + test)")
    interactions: int = Field(3, ge=0, le=20, description="Planted pairwise interactions (field pairs with their own C x C logit table)")
    strength: float = Field(1.5, ge=0.0, le=5.0, description="Std of the planted interaction tables' logits")
    main_scale: float = Field(0.5, ge=0.0, le=5.0, description="Std of each field value's own logit effect")
    base_rate: float = Field(0.3, gt=0.0, lt=1.0, description="Click rate at zero effects: bias = logit(base_rate)")
    train_ratio: float = Field(0.7, ge=0.1, le=0.9, description="Fraction of impressions used for training")

    @model_validator(mode="after")
    def _enough_pairs(self) -> CTRParams:
        pairs = self.fields * (self.fields - 1) // 2
        if self.interactions > pairs:
            raise ValueError(f"interactions: {self.interactions} planted pairs need more fields; {self.fields} fields "
                             f"have only {pairs} pairs")
        return self


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """The area under the ROC curve: P(score of a positive > score of a negative), ties counted half
    (the Mann-Whitney U statistic over n1 n0 with average ranks). NaN when one class is absent."""
    s = np.asarray(scores, dtype=np.float64).ravel()
    y = np.asarray(labels).ravel().astype(bool)
    n1 = int(y.sum())
    n0 = y.size - n1
    if n1 == 0 or n0 == 0:
        return float("nan")
    _, inverse, counts = np.unique(s, return_inverse=True, return_counts=True)
    end = np.cumsum(counts).astype(np.float64)
    ranks = ((end - counts + 1 + end) / 2)[inverse]  # the average 1-based rank of each tie group
    return float((ranks[y].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def planted_pairs(fields: int, interactions: int, rng: np.random.Generator) -> list[tuple[int, int]]:
    """`interactions` distinct field pairs (f < g), drawn at random, in drawn order."""
    pairs = list(itertools.combinations(range(fields), 2))
    picked = rng.choice(len(pairs), size=interactions, replace=False) if interactions else []
    return [pairs[int(i)] for i in picked]


def true_logits(codes: np.ndarray, bias: float, main: np.ndarray, pairs: list[tuple[int, int]], tables: np.ndarray) -> np.ndarray:
    """z = bias + sum_f main[f, x_f] + sum_k tables[k, x_f, x_g] for the planted pairs (f, g): (N,) from codes (N, F)."""
    fields = np.arange(codes.shape[1])
    z = bias + main[fields, codes].sum(1)
    for k, (f, g) in enumerate(pairs):
        z = z + tables[k, codes[:, f], codes[:, g]]
    return z


def bayes_auc(task: Task) -> float:
    """The AUC of the true click probabilities on the task's test split (the best any model can score)."""
    if "bayes_auc" not in task.meta:
        raise ValueError(f"task {task.name} has no known Bayes AUC (only the ctr task does)")
    return float(task.meta["bayes_auc"])


@TASKS.register("ctr", CTRParams, "Generated click-through data: categorical fields, planted pairwise interactions, known Bayes AUC.",
                tags=("ctr", "classification"))
def make_ctr(p: CTRParams, seed: int) -> Task:
    """Impressions with uniform field codes; clicks drawn from the planted logit (see the module doc)."""
    rng = np.random.default_rng(seed)
    main = rng.normal(0.0, p.main_scale, (p.fields, p.cardinality))
    pairs = planted_pairs(p.fields, p.interactions, rng)
    tables = rng.normal(0.0, p.strength, (len(pairs), p.cardinality, p.cardinality))
    bias = float(np.log(p.base_rate / (1 - p.base_rate)))
    codes = rng.integers(0, p.cardinality, (p.n_samples, p.fields))
    z = true_logits(codes, bias, main, pairs, tables)
    prob = 1.0 / (1.0 + np.exp(-z))
    y = (rng.random(p.n_samples) < prob).astype(np.int64)
    tr, te = split_indices(p.n_samples, p.train_ratio, rng)
    X, yt = torch.as_tensor(codes, dtype=torch.int64), torch.as_tensor(y)
    tr_t, te_t = torch.as_tensor(tr), torch.as_tensor(te)
    return Task(
        name="ctr", kind="classification", X_train=X[tr_t], y_train=yt[tr_t], X_test=X[te_t], y_test=yt[te_t],
        n_classes=2, input_names=[f"field{f + 1}" for f in range(p.fields)], vocab_size=p.cardinality,
        meta={
            "class_names": ["no click", "click"], "fields": p.fields, "cardinality": p.cardinality,
            "bias": bias, "main_effects": main, "pairs": pairs, "tables": tables,
            "p_train": prob[tr], "p_test": prob[te], "bayes_auc": roc_auc(prob[te], y[te]),
            "score_auc": True,  # Run.evaluate adds train_auc and test_auc for this task
        },
    )
