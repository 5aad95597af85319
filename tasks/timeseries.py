"""Sequence tasks of the recurrent-network literature: the adding problem, a delay line, and a synthetic
multi-channel activity recognition (Lipton et al. 2015's review; Ma et al. 2017's TS-LSTM setting).

`adding` and `activity` give real-valued time series: X float32 (N, L, C) (length L, C channels; the
task's n_inputs is L and meta["channels"] is C). `delay` gives tokens and a target at every position
(kind "sequence", like tasks/sequence.py), so the token models read it too.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import torch
from pydantic import Field, ValidationInfo, field_validator

from netarium.schema import Params
from netarium.tasks.base import TASKS, Task
from netarium.tasks.sequence import IGNORE_INDEX, sequence_task, symbol_names

TIMESERIES_TAGS = ("timeseries",)  # X is float (N, L, C): a model must read sequences of channel vectors
ADDING_BASELINE = 1.0  # predicting the mean of the target, 1, scores MSE Var(u1 + u2) = 2/12


def timeseries_task(name: str, kind: str, Xtr: np.ndarray, ytr: np.ndarray, Xte: np.ndarray, yte: np.ndarray,
                    n_classes: int, channel_names: list[str], meta: dict) -> Task:
    """A Task over real time series X (N, L, C): inputs named by time step, channels in meta."""
    as_float = functools.partial(torch.as_tensor, dtype=torch.float32)
    target = as_float if kind == "regression" else functools.partial(torch.as_tensor, dtype=torch.int64)
    L, C = Xtr.shape[1], Xtr.shape[2]
    return Task(name=name, kind=kind, X_train=as_float(Xtr), y_train=target(ytr), X_test=as_float(Xte),
                y_test=target(yte), n_classes=n_classes, input_names=[f"t{i}" for i in range(L)],
                meta={"channels": C, "channel_names": channel_names, "L": L, **meta})


# ---------------------------------------------------------------------------------------------------
# The adding problem (Hochreiter & Schmidhuber 1997; Le, Jaitly & Hinton 2015)


class AddingParams(Params):
    L: int = Field(50, ge=4, le=400, description="Sequence length L: the two marked values can lie up to L - 1 steps apart.")
    n_train: int = Field(4000, ge=10, le=50000, description="Number of training sequences.")
    n_test: int = Field(1000, ge=10, le=10000, description="Number of test sequences.")


def adding_samples(rng: np.random.Generator, n: int, L: int) -> tuple[np.ndarray, np.ndarray]:
    """X (n, L, 2): channel 0 values u ~ U[0, 1], channel 1 markers, one 1 in each half of the sequence;
    y (n, 1) the sum of the two marked values."""
    X = np.zeros((n, L, 2), np.float32)
    X[:, :, 0] = rng.random((n, L))
    first = rng.integers(0, L // 2, n)
    second = rng.integers(L // 2, L, n)
    rows = np.arange(n)
    X[rows, first, 1] = 1.0
    X[rows, second, 1] = 1.0
    y = (X[rows, first, 0] + X[rows, second, 0])[:, None]
    return X, y.astype(np.float32)


@TASKS.register("adding", AddingParams, "The adding problem: the sum of the two marked values in a sequence of L numbers "
                "(predicting 1 scores MSE 0.167).", tags=(*TIMESERIES_TAGS, "regression", "memory"))
def make_adding(p: AddingParams, seed: int) -> Task:
    """Two channels (value, marker); the target is u_i + u_j at the two marked steps, one in each half."""
    rng = np.random.default_rng(seed)
    Xtr, ytr = adding_samples(rng, p.n_train, p.L)
    Xte, yte = adding_samples(rng, p.n_test, p.L)
    return timeseries_task("adding", "regression", Xtr, ytr, Xte, yte, 0, ["value", "marker"], {
        "baseline_mse": 2.0 / 12.0, "baseline": ADDING_BASELINE,
        "description": f"{p.L} values in [0, 1], two of them marked (one in each half): output their sum. "
                       "Predicting 1 every time scores MSE 1/6 = 0.167",
    })


# ---------------------------------------------------------------------------------------------------
# Delay: output at t the token read at t - d


class DelayParams(Params):
    n_symbols: int = Field(8, ge=2, le=64, description="Number of distinct tokens.")
    L: int = Field(24, ge=2, le=256, description="Sequence length L.")
    d: int = Field(4, ge=0, le=64, description="Delay d: the output at step t is the input at step t - d.")
    n_train: int = Field(3000, ge=10, le=50000, description="Number of training sequences.")
    n_test: int = Field(500, ge=10, le=10000, description="Number of test sequences.")

    @field_validator("d")
    @classmethod
    def _shorter_than_sequence(cls, v: int, info: ValidationInfo) -> int:
        L = info.data.get("L")
        if L is not None and v >= L:
            raise ValueError(f"d ({v}) must be below L ({L}): no position would be scored")
        return v


def delayed(x: np.ndarray, d: int) -> np.ndarray:
    """y[:, t] = x[:, t - d] for t >= d, IGNORE_INDEX (not scored) before."""
    y = np.full_like(x, IGNORE_INDEX)
    y[:, d:] = x[:, : x.shape[1] - d]
    return y


@TASKS.register("delay", DelayParams, "Delay line: at every step output the token read d steps earlier.",
                tags=("sequence", "algorithmic", "tokens", "memory"))
def make_delay(p: DelayParams, seed: int) -> Task:
    """Uniform random tokens; the target at t is x_{t-d} (positions t < d are not scored)."""
    rng = np.random.default_rng(seed)
    xtr = rng.integers(0, p.n_symbols, (p.n_train, p.L))
    xte = rng.integers(0, p.n_symbols, (p.n_test, p.L))
    vocab = symbol_names(p.n_symbols)
    shown = min(p.L, 10)
    example = " ".join(vocab[t] for t in xtr[0, :shown]) + " -> " + " ".join(
        "·" if t == IGNORE_INDEX else vocab[t] for t in delayed(xtr[:1], p.d)[0, :shown])
    return sequence_task("delay", xtr, delayed(xtr, p.d), xte, delayed(xte, p.d), vocab, {
        "scored_from": p.d, "L": p.L, "d": p.d, "joiner": " ",
        "description": f"{example}: the token read {p.d} steps before, at every step",
    })


# ---------------------------------------------------------------------------------------------------
# Activity recognition: periodic motion patterns over three channels


ACTIVITY_CHANNELS = ["x", "y", "z"]
# (name, strides per second, per channel: (amplitude, phase, harmonic)); a stride is one period. Pairs of
# classes share a frequency and differ in channel relations (walk / stairs: the phase of y; run / cycle:
# the shape of z) so that a model must read more than the tempo.
ACTIVITIES: tuple[tuple[str, float, tuple[tuple[float, float, int], ...]], ...] = (
    ("walk", 1.0, ((1.0, 0.0, 1), (0.5, math.pi / 2, 1), (0.4, 0.0, 2))),
    ("stairs", 1.0, ((1.0, 0.0, 1), (0.5, -math.pi / 2, 1), (0.8, 0.0, 1))),
    ("run", 1.7, ((1.4, 0.0, 1), (0.6, math.pi / 2, 1), (1.0, 0.0, 2))),
    ("cycle", 1.7, ((1.0, 0.0, 1), (1.0, math.pi / 2, 1), (0.2, 0.0, 3))),
    ("jump", 0.7, ((0.3, 0.0, 1), (0.3, 0.0, 1), (1.6, 0.0, 1))),
    ("idle", 0.25, ((0.2, 0.0, 1), (0.2, math.pi / 3, 1), (0.2, 0.0, 1))),
)
SECONDS = 4.0  # a window spans 4 s whatever its length L


class ActivityParams(Params):
    L: int = Field(64, ge=16, le=512, description="Samples per window (the window spans 4 s).")
    noise: float = Field(1.0, ge=0.0, le=3.0, description="Standard deviation of the Gaussian noise added to every sample.")
    speed_jitter: float = Field(0.3, ge=0.0, le=0.5, description="Each window's tempo is the class's times U[1 - j, 1 + j].")
    n_train: int = Field(2400, ge=12, le=50000, description="Number of training windows (classes balanced).")
    n_test: int = Field(600, ge=12, le=10000, description="Number of test windows (classes balanced).")


def activity_samples(rng: np.random.Generator, n: int, p: ActivityParams) -> tuple[np.ndarray, np.ndarray]:
    """X (n, L, 3), y (n,): each window a random class, tempo jittered by U[1 - j, 1 + j], a uniform random
    phase (the window starts anywhere in the stride), a random gain U[0.8, 1.2], plus N(0, noise^2).
    Channel c of class k: a_c * sin(h_c * (2 pi f t + phase) + phi_c)."""
    y = np.arange(n) % len(ACTIVITIES)
    rng.shuffle(y)
    t = np.linspace(0.0, SECONDS, p.L, endpoint=False)
    speed = 1.0 + p.speed_jitter * (2 * rng.random(n) - 1)
    phase = 2 * math.pi * rng.random(n)
    gain = 0.8 + 0.4 * rng.random(n)
    X = np.zeros((n, p.L, len(ACTIVITY_CHANNELS)), np.float32)
    for k, (_, freq, channels) in enumerate(ACTIVITIES):
        rows = np.flatnonzero(y == k)
        theta = 2 * math.pi * freq * speed[rows, None] * t[None, :] + phase[rows, None]  # (rows, L)
        for c, (amp, phi, harmonic) in enumerate(channels):
            X[rows, :, c] = gain[rows, None] * amp * np.sin(harmonic * theta + phi)
    X += p.noise * rng.standard_normal(X.shape).astype(np.float32)
    return X, y.astype(np.int64)


@TASKS.register("activity", ActivityParams, "Activity recognition: which of 6 periodic motions (walk, stairs, run, cycle, "
                "jump, idle) a noisy 3-channel window shows, tempo and phase jittered.",
                tags=(*TIMESERIES_TAGS, "classification"))
def make_activity(p: ActivityParams, seed: int) -> Task:
    """Synthetic 3-axis motion windows; classes pairwise share a tempo and differ in channel relations."""
    rng = np.random.default_rng(seed)
    Xtr, ytr = activity_samples(rng, p.n_train, p)
    Xte, yte = activity_samples(rng, p.n_test, p)
    names = [a[0] for a in ACTIVITIES]
    return timeseries_task("activity", "classification", Xtr, ytr, Xte, yte, len(names), ACTIVITY_CHANNELS, {
        "class_names": names, "seconds": SECONDS,
        "description": f"{len(names)} motions over 3 channels, {p.L} samples in {SECONDS:g} s: "
                       "tempo ±{:.0%}, random phase and gain, noise σ={:g}".format(p.speed_jitter, p.noise),
    })
