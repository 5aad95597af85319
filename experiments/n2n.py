"""N2N learning: network-to-network compression by policy-gradient reinforcement learning.

Ashok, Rhinehart, Beainy & Kitani, "N2N learning: network to network compression via policy
gradient reinforcement learning" (ICLR 2018), in miniature for MLP teachers:

- Stage 1, layer removal: for each hidden layer of the teacher a Bernoulli action keep / remove.
- Stage 2, layer shrinkage: starting from the best stage-1 architecture, for each remaining hidden
  layer a categorical action choosing a width scale s from a fixed set (default 0.25, 0.5, 0.75, 1);
  the layer gets max(1, round(s * teacher width)) units.
- Every candidate student is an ordinary registry MLP (same activation, bias and init as the teacher)
  trained by knowledge distillation from the teacher (Hinton, Vinyals & Dean 2015):
  loss = (1 - h) * T^2 * KL(softmax(z_teacher / T) || softmax(z_student / T)) + h * CE(z_student, y),
  with Adam on minibatches of the task's training set; its accuracy is measured on the test set.
- Reward (the paper's): R = C (2 - C) * acc_student / acc_teacher with C = 1 - params_s / params_t.
- REINFORCE (Williams 1992): after every rollout, Adam on the policy logits descends
  -(R - b) * log pi(a), b an exponential moving average of the stage's rewards.

Differences from the paper, for a transparent miniature: the paper's policies are bidirectional
LSTMs reading the layer sequence; here each policy is a table of independent per-layer logits
(a Bernoulli logit per layer in stage 1, a row of categorical logits per layer in stage 2), so
pi(a) factorises over layers and the learned probabilities can be read off directly. The policy is
updated after each rollout (the paper averages a few rollouts per update). Students are cached by
architecture: the same widths (and activations) give the same student, accuracy and reward without
retraining; a student's initialisation and batch order are seeded by (seed, architecture), so a
cached result equals what retraining would give.

Everything is deterministic for a seed: actions are drawn from a seeded torch.Generator, students
are built and trained under their own seeds inside `torch.random.fork_rng` (the global RNG is left
as it was).
"""

from __future__ import annotations

import math
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from netarium.analysis.common import eval_outputs
from netarium.models import ModelSpec, build_model
from netarium.models.base import parameter_count
from netarium.models.gate import FORWARD_GATE
from netarium.models.mlp import MLP
from netarium.schema import SchemaError
from netarium.training.run import Run

WIDTH_SCALES: tuple[float, ...] = (0.25, 0.5, 0.75, 1.0)


# ---------------------------------------------------------------------------------------------------
# reward


def compression(params_student: int, params_teacher: int) -> float:
    """C = 1 - params_student / params_teacher: 0 for a student as large as the teacher, -> 1 as it
    shrinks (negative when the student is larger)."""
    if params_teacher <= 0:
        raise ValueError(f"params_teacher must be positive, got {params_teacher}")
    return 1.0 - params_student / params_teacher


def n2n_reward(params_student: int, params_teacher: int, acc_student: float, acc_teacher: float) -> float:
    """The N2N reward R = C (2 - C) * acc_student / acc_teacher, C = 1 - params_student / params_teacher.

    C (2 - C) rises from 0 (no compression) to 1 (C -> 1) with a slope that flattens near 1, so a
    little accuracy buys a lot of compression only while compression is low. Edge cases: a student
    with 0 accuracy gets R = 0 whatever its size; the accuracy ratio is not clipped, so a student
    more accurate than its teacher can score above C (2 - C); a student larger than the teacher
    (C < 0, possible when removing a narrow layer widens the next layer's input) gets R < 0.
    Raises ValueError when acc_teacher <= 0 or params_teacher <= 0.
    """
    if acc_teacher <= 0:
        raise ValueError(f"acc_teacher must be positive, got {acc_teacher}")
    c = compression(params_student, params_teacher)
    return c * (2.0 - c) * (acc_student / acc_teacher)


# ---------------------------------------------------------------------------------------------------
# actions -> architectures


def remove_layers(widths: Sequence[int], keep: Sequence[int] | torch.Tensor) -> list[int]:
    """The widths of the layers whose keep action is 1 (stage 1)."""
    keep = [int(k) for k in (keep.tolist() if isinstance(keep, torch.Tensor) else keep)]
    if len(keep) != len(widths):
        raise ValueError(f"{len(keep)} keep actions for {len(widths)} layers")
    return [int(w) for w, k in zip(widths, keep, strict=True) if k]


def scaled_width(width: int, scale: float) -> int:
    """max(1, round(scale * width)), halves rounded up."""
    return max(1, int(math.floor(scale * width + 0.5)))


def shrink_widths(widths: Sequence[int], choices: Sequence[int] | torch.Tensor,
                  scales: Sequence[float] = WIDTH_SCALES) -> list[int]:
    """Each layer's width scaled by scales[choice] (stage 2)."""
    choices = [int(c) for c in (choices.tolist() if isinstance(choices, torch.Tensor) else choices)]
    if len(choices) != len(widths):
        raise ValueError(f"{len(choices)} width choices for {len(widths)} layers")
    return [scaled_width(int(w), scales[c]) for w, c in zip(widths, choices, strict=True)]


# ---------------------------------------------------------------------------------------------------
# policies and REINFORCE


class RemovalPolicy(nn.Module):
    """Stage 1: an independent Bernoulli keep (1) / remove (0) action per hidden layer,
    p(keep_i) = sigmoid(logit_i). (The paper uses a bidirectional LSTM over the layers.)"""

    def __init__(self, n_layers: int, init_keep: float = 0.5):
        super().__init__()
        if not 0 < init_keep < 1:
            raise ValueError(f"init_keep must be in (0, 1), got {init_keep}")
        self.logits = nn.Parameter(torch.full((n_layers,), math.log(init_keep / (1 - init_keep))))

    def probs(self) -> torch.Tensor:
        """p(keep) per layer, shape (n_layers,)."""
        return torch.sigmoid(self.logits.detach())

    def sample(self, generator: torch.Generator) -> torch.Tensor:
        """Keep actions (n_layers,) int64 in {0, 1}."""
        return torch.bernoulli(self.probs(), generator=generator).long()

    def log_prob(self, actions: torch.Tensor) -> torch.Tensor:
        """log pi(actions) = sum_i log p(a_i), differentiable in the logits."""
        return -F.binary_cross_entropy_with_logits(self.logits, actions.to(self.logits.dtype), reduction="sum")


class WidthPolicy(nn.Module):
    """Stage 2: an independent categorical choice among `n_choices` width scales per layer,
    pi(c_i) = softmax(logits_i). (The paper uses a bidirectional LSTM over the layers.)"""

    def __init__(self, n_layers: int, n_choices: int):
        super().__init__()
        self.logits = nn.Parameter(torch.zeros(n_layers, n_choices))

    def probs(self) -> torch.Tensor:
        """Choice probabilities, shape (n_layers, n_choices)."""
        return torch.softmax(self.logits.detach(), dim=-1)

    def sample(self, generator: torch.Generator) -> torch.Tensor:
        """Choice indices (n_layers,) int64."""
        if self.logits.shape[0] == 0:
            return torch.zeros(0, dtype=torch.long)
        return torch.multinomial(self.probs(), 1, generator=generator).squeeze(-1)

    def log_prob(self, actions: torch.Tensor) -> torch.Tensor:
        """log pi(actions) = sum_i log softmax(logits_i)[a_i], differentiable in the logits."""
        logp = torch.log_softmax(self.logits, dim=-1)
        return logp.gather(-1, actions.long().view(-1, 1)).sum()


class Reinforce:
    """REINFORCE with a moving-average baseline: Adam on the policy's parameters descends
    -(R - b) * log pi(a); then b <- decay * b + (1 - decay) * R. With `baseline` None the first
    reward seeds it (the first update then has advantage 0)."""

    def __init__(self, policy: nn.Module, lr: float = 0.1, baseline_decay: float = 0.8, baseline: float | None = None):
        if not 0 <= baseline_decay < 1:
            raise ValueError(f"baseline_decay must be in [0, 1), got {baseline_decay}")
        self.policy = policy
        self.decay = baseline_decay
        self.baseline = baseline
        params = [p for p in policy.parameters() if p.numel()]
        self.optimizer = torch.optim.Adam(params, lr=lr) if params else None

    def update(self, actions: torch.Tensor, reward: float) -> tuple[float, float]:
        """One policy-gradient step for a rollout; returns (baseline used, advantage)."""
        b = reward if self.baseline is None else self.baseline
        advantage = reward - b
        if self.optimizer is not None:
            self.optimizer.zero_grad(set_to_none=True)
            loss = -advantage * self.policy.log_prob(actions)
            loss.backward()
            self.optimizer.step()
        self.baseline = self.decay * b + (1 - self.decay) * reward
        return b, advantage


# ---------------------------------------------------------------------------------------------------
# students and distillation


def teacher_mlp_params(run: Run) -> dict[str, Any]:
    """The teacher's MLP parameters (hidden, activation per layer, bias, init...) as a plain dict;
    SchemaError unless the run's model is a registry MLP."""
    if run.config.model.name != "mlp" or not isinstance(run.model, MLP):
        raise SchemaError("model.name", f"N2N compresses an mlp teacher, not {run.config.model.name}", "mlp")
    p = run.config.model
    data = p.model_dump(mode="json")
    data["activation"] = p.activations()
    return data


def student_params(teacher: dict[str, Any], layers: Sequence[int], widths: Sequence[int]) -> dict[str, Any]:
    """MLP parameters of a student keeping teacher hidden layers `layers` (indices) at `widths`,
    with those layers' activations and the teacher's other settings. `teacher["activation"]` holds
    one name per teacher layer, or one name for all."""
    if len(layers) != len(widths):
        raise ValueError(f"{len(layers)} layers but {len(widths)} widths")
    given = list(teacher["activation"])
    acts = [given[0] if len(given) == 1 else given[i] for i in layers]
    if not acts:  # no hidden layer: the activation is unused, the schema still wants one
        acts = [teacher["activation"][0]] if teacher["activation"] else ["relu"]
    elif len(set(acts)) == 1:
        acts = acts[:1]
    return {**teacher, "hidden": [int(w) for w in widths], "activation": acts}


def student_seed(seed: int, key: Any) -> int:
    """A seed fixed by (seed, architecture), independent of the order students are trained in."""
    return (seed * 1_000_003 + zlib.crc32(repr(key).encode())) % (2**31 - 1)


def build_student(params: dict[str, Any], spec: ModelSpec, seed: int) -> nn.Module:
    """A registry MLP from `params`, initialised under `seed` without touching the global RNG."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build_model("mlp", params, spec)


def distillation_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float = 2.0,
                      targets: torch.Tensor | None = None, hard_weight: float = 0.0) -> torch.Tensor:
    """(1 - h) * T^2 * KL(softmax(teacher / T) || softmax(student / T)) + h * CE(student, targets)
    (Hinton et al. 2015; T^2 keeps the soft gradients' scale independent of T). Batch mean."""
    t = float(temperature)
    soft = F.kl_div(F.log_softmax(student_logits / t, dim=-1), F.log_softmax(teacher_logits / t, dim=-1),
                    reduction="batchmean", log_target=True) * (t * t)
    if hard_weight == 0:
        return soft
    if targets is None:
        raise ValueError("hard_weight > 0 needs targets")
    return (1 - hard_weight) * soft + hard_weight * F.cross_entropy(student_logits, targets)


def distill(student: nn.Module, teacher_logits: torch.Tensor, X: torch.Tensor, y: torch.Tensor, steps: int,
            batch_size: int = 64, lr: float = 3e-3, temperature: float = 2.0, hard_weight: float = 0.0,
            generator: torch.Generator | None = None) -> nn.Module:
    """Train `student` in place for `steps` Adam steps on minibatches (seeded epoch permutations of
    X) to match the precomputed `teacher_logits` (one row per row of X); returns it in eval mode."""
    n = int(X.shape[0])
    batch = min(max(int(batch_size), 1), n)
    gen = generator if generator is not None else torch.Generator().manual_seed(0)
    opt = torch.optim.Adam([p for p in student.parameters() if p.requires_grad], lr=lr)
    student.train()
    perm, pos = None, n
    with FORWARD_GATE.shared():
        for _ in range(int(steps)):
            if perm is None or pos + batch > n:
                perm, pos = torch.randperm(n, generator=gen).to(X.device), 0
            idx = perm[pos:pos + batch]
            pos += batch
            loss = distillation_loss(student(X[idx]), teacher_logits[idx], temperature, y[idx], hard_weight)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return student.eval()


def predict(model: nn.Module, X: torch.Tensor) -> torch.Tensor:
    """Logits of `model` on X in eval mode, without autograd (its modes restored afterwards)."""
    with FORWARD_GATE.shared():
        return eval_outputs(model, X)


def accuracy(model: nn.Module, X: torch.Tensor, y: torch.Tensor) -> float:
    """Fraction of X whose argmax logit is the label."""
    return float((predict(model, X).argmax(-1) == y).float().mean())


# ---------------------------------------------------------------------------------------------------
# the search


@dataclass
class N2NStudent:
    """A trained student: hidden widths (and activations), size, test accuracy, reward."""

    widths: list[int]
    activations: list[str]
    params: int
    acc: float
    ratio: float  # params_teacher / params_student
    compression: float  # C = 1 - params_student / params_teacher
    reward: float
    model: nn.Module = field(repr=False)


@dataclass
class N2NResult:
    """The outcome of `n2n_search`. Parameter counts include every parameter (frozen ones too).

    rollouts: one dict per rollout, in order: stage (1 or 2), index (0-based over both stages),
    actions (keep flags or width-choice indices), widths, params, ratio (params_teacher / params),
    C, acc, reward, baseline (the moving average the rollout's advantage was taken against),
    advantage, cached (the student came from the architecture cache).
    keep_probs: the stage-1 policy's final p(keep) per teacher layer; width_probs: the stage-2
    policy's final choice probabilities (one row over `scales` per layer of `stage1_widths`).
    """

    teacher_widths: list[int]
    teacher_params: int
    teacher_acc: float
    rollouts: list[dict[str, Any]]
    best: N2NStudent
    stage1_best: N2NStudent
    stage1_layers: list[int]  # teacher layer indices kept by the best stage-1 architecture
    keep_probs: list[float]
    width_probs: list[list[float]]
    scales: list[float]
    students_trained: int
    cache_hits: int
    seconds: float
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def final_probs(self) -> dict[str, Any]:
        """{"stage1": p(keep) per teacher layer, "stage2": choice probabilities per remaining layer}."""
        return {"stage1": self.keep_probs, "stage2": self.width_probs}

    def summary(self) -> dict[str, Any]:
        """Everything but the trained modules, JSON-ready."""
        def student(s: N2NStudent) -> dict[str, Any]:
            return {k: getattr(s, k) for k in ("widths", "activations", "params", "acc", "ratio", "compression", "reward")}
        return {
            "teacher": {"widths": self.teacher_widths, "params": self.teacher_params, "acc": self.teacher_acc},
            "best": student(self.best), "stage1_best": student(self.stage1_best), "stage1_layers": self.stage1_layers,
            "keep_probs": self.keep_probs, "width_probs": self.width_probs, "scales": self.scales,
            "rollouts": self.rollouts, "students_trained": self.students_trained, "cache_hits": self.cache_hits,
            "seconds": self.seconds, "settings": self.settings,
        }


def n2n_search(teacher: Run, stage1_rollouts: int = 20, stage2_rollouts: int = 20, student_steps: int = 300,
               seed: int = 0, progress: Callable[[int, int], None] | None = None, *,
               temperature: float = 2.0, hard_weight: float = 0.0, batch_size: int = 64, student_lr: float = 3e-3,
               policy_lr: float = 0.1, baseline_decay: float = 0.8, init_keep: float = 0.5,
               scales: Sequence[float] = WIDTH_SCALES) -> N2NResult:
    """Compress the MLP of `teacher` (a trained Run on a classification task) by N2N.

    Stage 1 runs `stage1_rollouts` removal rollouts; stage 2 runs `stage2_rollouts` shrinkage
    rollouts on the layers of the best (highest-reward) stage-1 architecture. Each rollout samples
    actions, trains (or fetches from the cache) the student, scores it with `n2n_reward` and updates
    the stage's policy. The best student is the highest-reward one over both stages (the first on a
    tie). `progress(done, total)` is called after every rollout.

    Defaults measured on digits with a 6 x 128 relu teacher (Adam 1e-3, batch 64, 1000 steps, test
    accuracy 0.94-0.98): over seeds 0-5 the best student was 9.6x-38x smaller at 98-102% of the
    teacher's accuracy, in 3-5 s of one CPU thread (8-9 distinct students, the rest cache hits).
    T = 1-2 distilled small students better than T = 4 there.
    """
    if teacher.loss.name != "cross_entropy" or teacher.task.kind != "classification":
        raise SchemaError("task", "N2N distils class logits: it needs a classification task with cross-entropy loss")
    if stage1_rollouts < 1 or stage2_rollouts < 0:
        raise ValueError("need stage1_rollouts >= 1 and stage2_rollouts >= 0")
    if not scales or any(not 0 < s <= 1 for s in scales):
        raise ValueError(f"width scales must be in (0, 1], got {list(scales)}")
    t0 = time.perf_counter()
    tparams = teacher_mlp_params(teacher)
    task, device = teacher.task, teacher.device
    widths_t = [int(w) for w in tparams["hidden"]]
    spec = ModelSpec.for_task(task, n_outputs=teacher.loss.n_outputs)
    params_t = parameter_count(teacher.model, trainable_only=False)
    acc_t = accuracy(teacher.model, task.X_test, task.y_test)
    logits_t = predict(teacher.model, task.X_train).detach()
    settings = {"stage1_rollouts": stage1_rollouts, "stage2_rollouts": stage2_rollouts, "student_steps": student_steps,
                "seed": seed, "temperature": temperature, "hard_weight": hard_weight, "batch_size": batch_size,
                "student_lr": student_lr, "policy_lr": policy_lr, "baseline_decay": baseline_decay,
                "init_keep": init_keep, "scales": list(scales)}

    cache: dict[tuple, N2NStudent] = {}
    counts = {"hits": 0}

    def evaluate(layers: list[int], widths: list[int]) -> tuple[N2NStudent, bool]:
        params = student_params(tparams, layers, widths)
        acts = [tparams["activation"][i] for i in layers]
        key = (tuple(widths), tuple(acts))
        if key in cache:
            counts["hits"] += 1
            return cache[key], True
        s = student_seed(seed, key)
        model = build_student(params, spec, s).to(device)
        distill(model, logits_t, task.X_train, task.y_train, student_steps, batch_size=batch_size, lr=student_lr,
                temperature=temperature, hard_weight=hard_weight, generator=torch.Generator().manual_seed(s + 1))
        n_params = parameter_count(model, trainable_only=False)
        acc = accuracy(model, task.X_test, task.y_test)
        student = N2NStudent(widths=list(widths), activations=acts, params=n_params, acc=acc,
                             ratio=params_t / n_params, compression=compression(n_params, params_t),
                             reward=n2n_reward(n_params, params_t, acc, acc_t), model=model)
        cache[key] = student
        return student, False

    gen = torch.Generator().manual_seed(seed)
    total = stage1_rollouts + stage2_rollouts
    rollouts: list[dict[str, Any]] = []
    best_by_stage: dict[int, tuple[N2NStudent, list[int]]] = {}

    def rollout(stage: int, policy: nn.Module, learner: Reinforce, layers_of: Callable[[torch.Tensor], list[int]],
                widths_of: Callable[[torch.Tensor], list[int]]) -> None:
        actions = policy.sample(gen)
        layers, widths = layers_of(actions), widths_of(actions)
        student, cached = evaluate(layers, widths)
        baseline, advantage = learner.update(actions, student.reward)
        rollouts.append({
            "stage": stage, "index": len(rollouts), "actions": [int(a) for a in actions.tolist()],
            "widths": list(widths), "params": student.params, "ratio": student.ratio, "C": student.compression,
            "acc": student.acc, "reward": student.reward, "baseline": baseline, "advantage": advantage, "cached": cached,
        })
        if stage not in best_by_stage or student.reward > best_by_stage[stage][0].reward:
            best_by_stage[stage] = (student, layers)
        if progress:
            progress(len(rollouts), total)

    # stage 1: layer removal
    removal = RemovalPolicy(len(widths_t), init_keep)
    learner1 = Reinforce(removal, policy_lr, baseline_decay)
    def kept(a: torch.Tensor) -> list[int]:
        return [i for i, k in enumerate(a.tolist()) if k]
    for _ in range(stage1_rollouts):
        rollout(1, removal, learner1, kept, lambda a: remove_layers(widths_t, a))
    stage1_best, layers1 = best_by_stage[1]

    # stage 2: layer shrinkage of the best stage-1 architecture
    widths1 = [widths_t[i] for i in layers1]
    shrink = WidthPolicy(len(layers1), len(scales))
    learner2 = Reinforce(shrink, policy_lr, baseline_decay)
    for _ in range(stage2_rollouts):
        rollout(2, shrink, learner2, lambda a: list(layers1), lambda a: shrink_widths(widths1, a, scales))

    best = max((s for s, _ in best_by_stage.values()), key=lambda s: s.reward)  # stage 1 first on a tie
    return N2NResult(
        teacher_widths=widths_t, teacher_params=params_t, teacher_acc=acc_t, rollouts=rollouts, best=best,
        stage1_best=stage1_best, stage1_layers=list(layers1), keep_probs=removal.probs().tolist(),
        width_probs=shrink.probs().tolist(), scales=list(scales), students_trained=len(cache),
        cache_hits=counts["hits"], seconds=time.perf_counter() - t0, settings=settings,
    )
