"""Inside a sequence model: its states over time, projected on their principal components (one trajectory
per sequence), and the gates of its LSTM and GRU layers at every step.

torch's fused nn.LSTM / nn.GRU do not expose their gates, so `recurrent_gates` records each layer's input
and output sequences with forward hooks and recomputes the gates from the layer's weights (torch's gate
equations, its gate order), reading the recorded state h_{t-1}; the cell state c_t (LSTM) is carried
along. The recomputed h_t must match the layer's own output: `GateTrace.error` says by how much.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np
import torch
from torch import nn

from netarium.analysis.common import eval_mode
from netarium.analysis.geometry import pca
from netarium.models.taps import forward_hooks, record, tap_names

STATE_TAP = "hidden"  # the sequence models' every-step states (B x T x D)
GATE_NAMES = {"lstm": ("input", "forget", "cell", "output"), "gru": ("reset", "update", "new")}


@dataclass(frozen=True)
class GateTrace:
    """One recurrent layer's gates over a batch: gates[name] (N, T, H) in [0, 1] (the LSTM's cell candidate
    g and the GRU's new state n in [-1, 1]); h (N, T, H) the recomputed states, c (N, T, H) the LSTM's cell
    state; error the largest |recomputed h - the layer's output|. `reversed`: a backward layer, whose
    arrays are put back in position order."""

    name: str
    cell: str
    gates: dict[str, np.ndarray]
    h: np.ndarray
    c: np.ndarray | None
    error: float
    reversed: bool = False

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.h.shape)  # type: ignore[return-value]


def _cell(layer: nn.Module) -> str | None:
    if isinstance(layer, nn.LSTM):
        return "lstm"
    if isinstance(layer, nn.GRU):
        return "gru"
    return None


def gated_layers(model: nn.Module) -> list[tuple[str, nn.RNNBase]]:
    """(name, layer) of every single-layer, unidirectional, batch-first nn.LSTM / nn.GRU of the model."""
    return [(n, m) for n, m in model.named_modules() if _cell(m) is not None and m.num_layers == 1
            and not m.bidirectional and m.batch_first]


def lstm_steps(layer: nn.LSTM, x: torch.Tensor, h_prev: torch.Tensor) -> tuple[dict[str, torch.Tensor], torch.Tensor, torch.Tensor]:
    """Gates, states and cell states of an LSTM over x (B, T, I), given its states h_prev (B, T, H) at t - 1:
    [i, f, g, o] = x W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh (torch's order), i, f, o through sigmoid, g
    through tanh; c_t = f c_{t-1} + i g, h_t = o tanh(c_t) (Hochreiter & Schmidhuber 1997, Gers et al. 2000)."""
    pre = x @ layer.weight_ih_l0.T + layer.bias_ih_l0 + h_prev @ layer.weight_hh_l0.T + layer.bias_hh_l0
    i, f, g, o = pre.chunk(4, dim=-1)
    i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
    c = torch.zeros_like(i[:, 0])
    cs = []
    for t in range(x.shape[1]):
        c = f[:, t] * c + i[:, t] * g[:, t]
        cs.append(c)
    c_all = torch.stack(cs, 1)
    return {"input": i, "forget": f, "cell": g, "output": o}, o * torch.tanh(c_all), c_all


def gru_steps(layer: nn.GRU, x: torch.Tensor, h_prev: torch.Tensor) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """Gates and states of a GRU (torch's form, Cho et al. 2014): r = σ(W_ir x + b_ir + W_hr h + b_hr),
    z = σ(W_iz x + b_iz + W_hz h + b_hz), n = tanh(W_in x + b_in + r (W_hn h + b_hn)), h_t = (1 - z) n + z h_{t-1}."""
    gi = x @ layer.weight_ih_l0.T + layer.bias_ih_l0
    gh = h_prev @ layer.weight_hh_l0.T + layer.bias_hh_l0
    ir, iz, inn = gi.chunk(3, dim=-1)
    hr, hz, hn = gh.chunk(3, dim=-1)
    r, z = torch.sigmoid(ir + hr), torch.sigmoid(iz + hz)
    n = torch.tanh(inn + r * hn)
    return {"reset": r, "update": z, "new": n}, (1 - z) * n + z * h_prev


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().double().cpu().numpy()


def trace_of(name: str, layer: nn.RNNBase, x: torch.Tensor, out: torch.Tensor, n: int, reverse: bool) -> GateTrace:
    """Recompute one recorded call. A call over k * n sequences for a batch of n (TS-LSTM's shared LSTM runs
    every segment as a row) is laid out as n sequences of k pieces one after another."""
    cell = _cell(layer)
    h_prev = torch.cat([torch.zeros_like(out[:, :1]), out[:, :-1]], dim=1)  # the model starts from zero states
    with torch.no_grad():
        if cell == "lstm":
            gates, h, c = lstm_steps(layer, x, h_prev)  # type: ignore[arg-type]
        else:
            (gates, h), c = gru_steps(layer, x, h_prev), None  # type: ignore[arg-type]
    error = float((h - out).abs().max()) if out.numel() else 0.0
    rows = out.shape[0]

    def laid(t: torch.Tensor) -> np.ndarray:
        if rows != n and n and rows % n == 0:
            t = t.reshape(n, (rows // n) * t.shape[1], t.shape[-1])
        return _np(t.flip(1) if reverse else t)

    return GateTrace(name, cell or "", {k: laid(v) for k, v in gates.items()}, laid(h), None if c is None else laid(c),
                     error, reverse)


def recurrent_gates(model: nn.Module, x: torch.Tensor) -> list[GateTrace]:
    """Every LSTM / GRU layer's gates on the batch x, recomputed from its weights (see the module docstring).
    A model that runs a layer on the reversed sequence names it in `backward_layers()` (the bidirectional
    rnn): its arrays come back in position order."""
    layers = gated_layers(model)
    if not layers:
        raise ValueError(f"{type(model).__name__} has no LSTM or GRU layer to read gates from")
    calls: dict[str, list[tuple[torch.Tensor, torch.Tensor]]] = {n: [] for n, _ in layers}

    def hook(_m: nn.Module, inp: tuple, out: tuple, name: str) -> None:
        calls[name].append((inp[0].detach(), out[0].detach()))

    with eval_mode(model), forward_hooks((m, partial(hook, name=n)) for n, m in layers), torch.no_grad():
        model(x)
    backward = set(getattr(model, "backward_layers", lambda: [])())
    traces = []
    for name, layer in layers:
        for k, (inp, out) in enumerate(calls[name]):
            label = name if len(calls[name]) == 1 else f"{name} (call {k + 1})"
            traces.append(trace_of(label, layer, inp, out, int(x.shape[0]), name in backward))
    return traces


@dataclass(frozen=True)
class Trajectories:
    """States over time projected on their first principal components: coords (N, T, 2), the explained
    variance ratio of each component, and what colours a sequence: its class (labels, names) or its
    regression target (values), else nothing."""

    coords: np.ndarray
    explained: np.ndarray
    labels: np.ndarray | None
    class_names: list[str]
    values: np.ndarray | None
    tap: str

    @property
    def n(self) -> int:
        return int(self.coords.shape[0])


def state_trajectories(model: nn.Module, X: torch.Tensor, y: torch.Tensor, kind: str, class_names: list[str] | None = None,
                       n: int = 60) -> Trajectories:
    """The first n sequences' states (tap "hidden", N x T x D) on the two principal components of all N * T
    states; coloured by class (classification), target (regression) or not at all (a sequence task)."""
    X, y = X[:n], y[:n]
    states = None
    if STATE_TAP in tap_names(model):
        with eval_mode(model):
            states = record(model, X, [STATE_TAP]).get(STATE_TAP)
    if states is None or states.ndim != 3:
        raise ValueError(f"{type(model).__name__} has no every-step states (tap {STATE_TAP!r}, B x T x D)")
    N, T, D = states.shape
    coords, ratio = pca(states.reshape(N * T, D).double().cpu().numpy(), k=2)
    labels = values = None
    if kind == "classification":
        labels = y.cpu().numpy().astype(int)
    elif kind == "regression":
        values = y.reshape(N, -1)[:, 0].double().cpu().numpy()
    names = list(class_names or ([str(i) for i in range(int(labels.max()) + 1)] if labels is not None else []))
    return Trajectories(coords.reshape(N, T, 2), ratio, labels, names, values, STATE_TAP)
