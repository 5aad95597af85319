"""Recurrent networks with masked (sparse) recurrent weights, and the "rnn" model.

`MaskedRNN` wraps one torch RNN / GRU / LSTM layer and masks its recurrent weight W_hh with
torch.nn.utils.parametrize (W_hh = W * M, computed at every forward), so the fused torch kernels
still run and masked entries get exactly zero gradient. The wrapper owns the mask (a float 0/1
buffer `mask`, shape (gates * H, H): mask[i, j] = 1 lets unit j feed row i of the gate blocks) and
exposes the raw recurrent Parameter as `weight`, the contract of training/dst.py and
analysis/sparsity.py. A recurrent graph (H, H) can come from `graph_mask` (Watts-Strogatz,
Barabasi-Albert, Erdos-Renyi) or `random_mask`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import torch
from pydantic import Field, ValidationInfo, field_validator
from torch import nn
from torch.nn.utils import parametrize

from netarium.models.base import MODELS, Capable, ModelSpec
from netarium.models.sparse import Masked, graph_mask, random_mask
from netarium.models.taps import Tap
from netarium.schema import Params, SchemaError

Cell = Literal["rnn-tanh", "rnn-relu", "gru", "lstm"]
Recurrence = Literal["dense", "random", "watts-strogatz", "barabasi-albert", "erdos-renyi"]
GATES: dict[str, int] = {"rnn-tanh": 1, "rnn-relu": 1, "gru": 3, "lstm": 4}
RECURRENT = "weight_hh_l0"


def make_layer(cell: str, input_size: int, hidden: int) -> nn.RNNBase:
    """One batch-first torch recurrent layer of the named cell."""
    if cell in ("rnn-tanh", "rnn-relu"):
        return nn.RNN(input_size, hidden, batch_first=True, nonlinearity=cell.removeprefix("rnn-"))
    if cell == "gru":
        return nn.GRU(input_size, hidden, batch_first=True)
    if cell == "lstm":
        return nn.LSTM(input_size, hidden, batch_first=True)
    raise ValueError(f"unknown cell {cell!r} (allowed: {', '.join(GATES)})")


class RecurrentMask(nn.Module):
    """The parametrization W -> W * mask. The mask is read from the owning MaskedRNN at every call
    (not copied, not a buffer here), so `.to(device)`, `mask.copy_(...)` and state-dict loads all act on
    the one mask. The owner is kept outside the module tree (no cycle, no second `mask` buffer)."""

    def __init__(self, owner: MaskedRNN):
        super().__init__()
        object.__setattr__(self, "_owner", owner)

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        mask = self._owner.mask
        if mask.device != weight.device or mask.dtype != weight.dtype:
            mask = mask.to(weight)  # only while .to() moves the layer before its owner's buffers
        return weight * mask


class MaskedRNN(Masked, nn.Module):
    """One recurrent layer (batch first) whose recurrent weight is W * mask.

    forward(x (B, T, in), hx=None) returns what the torch layer returns: (outputs (B, T, H), h_n), with
    h_n = (h_n, c_n) for an LSTM. `weight` is the raw recurrent Parameter (gates * H, H) that the
    optimizer updates; `mask` the 0/1 buffer of the same shape. Gate blocks follow torch's order:
    (r, z, n) for a GRU, (i, f, g, o) for an LSTM.
    """

    mask: torch.Tensor

    def __init__(self, cell: Cell, input_size: int, hidden: int, mask: torch.Tensor | None = None):
        super().__init__()
        self.cell, self.gates, self.hidden_size = cell, GATES[cell], hidden
        self.layer = make_layer(cell, input_size, hidden)
        self.register_buffer("mask", torch.ones(self.gates * hidden, hidden))
        parametrize.register_parametrization(self.layer, RECURRENT, RecurrentMask(self))
        if mask is not None:
            self.set_mask(mask)

    @property
    def weight(self) -> nn.Parameter:
        """The raw recurrent weight (gates * H, H), before the mask: what DST and the trainer write to."""
        return getattr(self.layer.parametrizations, RECURRENT).original

    @property
    def effective_weight(self) -> torch.Tensor:
        """W * mask, the recurrent weight the layer runs with."""
        return getattr(self.layer, RECURRENT)

    def set_mask(self, mask: torch.Tensor) -> None:
        """Replace the mask by an (H, H) recurrent graph (mask[i, j] = 1: unit j feeds unit i, the same in
        every gate block) or a full (gates * H, H) mask, values 0 or 1; zero the weights it removes."""
        mask = torch.as_tensor(mask)
        H, full = self.hidden_size, tuple(self.mask.shape)
        if tuple(mask.shape) == (H, H):
            mask = mask.repeat(self.gates, 1)
        elif tuple(mask.shape) != full:
            raise ValueError(f"mask shape {tuple(mask.shape)} is neither the recurrent graph ({H}, {H}) "
                             f"nor the full recurrent weight {full}")
        self._store_mask(mask)

    def recurrent_graph(self) -> torch.Tensor:
        """(H, H) 0/1: edge j -> i (entry [i, j]) where any gate block has it (the union over gates)."""
        return self.mask.detach().view(self.gates, self.hidden_size, self.hidden_size).amax(0)

    def forward(self, x: torch.Tensor, hx: torch.Tensor | tuple[torch.Tensor, torch.Tensor] | None = None):
        try:
            return self.layer(x, hx)
        finally:
            self._release_flat_weight()

    def _apply(self, fn: Callable[[torch.Tensor], torch.Tensor], recurse: bool = True) -> MaskedRNN:
        """.to(), .double(), .cuda(): the layer re-caches its weights while moving; release W * mask again."""
        out = super()._apply(fn, recurse)
        self._release_flat_weight()
        return out

    def _release_flat_weight(self) -> None:
        """Point the layer's cached `_flat_weights` entry for W_hh back at the raw Parameter.

        torch's RNN caches the weights it last ran with; for a parametrized W_hh that is the computed
        W * mask, a non-leaf that holds the last autograd graph and makes copy.deepcopy of the model fail
        ("Only Tensors created explicitly by the user support the deepcopy protocol"). Every forward
        recomputes W * mask anyway (the layer sees the cached tensor is no longer its weight)."""
        layer = self.layer
        names = getattr(layer, "_flat_weights_names", None)
        flat = getattr(layer, "_flat_weights", None)
        if names and flat is not None and RECURRENT in names and len(flat) == len(names):
            flat[names.index(RECURRENT)] = self.weight

    def extra_repr(self) -> str:
        return f"cell={self.cell!r}, density={self.density:.3f}"


class RNNParams(Params):
    cell: Cell = Field("gru", description="Recurrent cell: Elman RNN (tanh or ReLU), GRU or LSTM")
    hidden: int = Field(32, ge=1, le=256, description="Recurrent units H")
    embed: int = Field(8, ge=1, le=128, description="Width of the token embedding fed to the cell (token tasks; a time "
                       "series feeds its channels as they are)")
    recurrence: Recurrence = Field(
        "dense", description="Recurrent graph (unit j feeds unit i), the same in every gate: dense, random (density), "
                             "or a Watts-Strogatz, Barabasi-Albert or Erdos-Renyi random graph")
    density: float = Field(0.25, gt=0.0, le=1.0, description="Fraction of recurrent connections kept (random recurrence)")
    ws_k: int = Field(4, ge=2, le=254, description="Ring neighbours of each unit (Watts-Strogatz), even and below hidden")
    ws_p: float = Field(0.1, ge=0.0, le=1.0, description="Rewiring probability (Watts-Strogatz)")
    ba_m: int = Field(2, ge=1, le=255, description="Edges of each new unit (Barabasi-Albert), below hidden")
    er_p: float = Field(0.1, ge=0.0, le=1.0, description="Edge probability (Erdos-Renyi)")
    self_loops: bool = Field(True, description="Every unit keeps its own recurrence (random and graph recurrences)")
    forget_bias: float = Field(0.0, ge=-5.0, le=5.0, description="LSTM: added to the forget gate's initial bias (1 keeps the "
                               "cell's memory at the start: Gers et al. 2000, Jozefowicz et al. 2015); ignored by other cells")
    bidirectional: bool = Field(False, description="A second layer reads the sequence backwards; the readout sees both "
                                "directions' states (Schuster & Paliwal 1997)")

    @field_validator("ws_k")
    @classmethod
    def _ws_k_fits(cls, v: int, info: ValidationInfo) -> int:
        if v % 2:
            raise ValueError(f"ws_k ({v}) must be even: each unit links to ws_k / 2 neighbours on either side")
        hidden = info.data.get("hidden")
        if info.data.get("recurrence") == "watts-strogatz" and hidden is not None and v >= hidden:
            raise ValueError(f"ws_k ({v}) must be below hidden ({hidden})")
        return v

    @field_validator("ba_m")
    @classmethod
    def _ba_m_fits(cls, v: int, info: ValidationInfo) -> int:
        hidden = info.data.get("hidden")
        if info.data.get("recurrence") == "barabasi-albert" and hidden is not None and v >= hidden:
            raise ValueError(f"ba_m ({v}) must be below hidden ({hidden})")
        return v


def recurrent_mask(p: RNNParams, seed: int) -> torch.Tensor:
    """The (H, H) recurrent graph of the chosen recurrence (mask[i, j] = 1: unit j feeds unit i)."""
    H = p.hidden
    if p.recurrence == "dense":
        return torch.ones(H, H)
    if p.recurrence == "random":
        mask = random_mask(H, H, p.density, seed)
        if p.self_loops:
            mask.fill_diagonal_(1.0)
        return mask
    params = {"watts-strogatz": {"k": p.ws_k, "p": p.ws_p}, "barabasi-albert": {"m": p.ba_m},
              "erdos-renyi": {"p": p.er_p}}[p.recurrence]
    return graph_mask(H, p.recurrence, seed, self_loops=p.self_loops, **params)


class RNN(Capable, nn.Module):
    """A recurrent network: tokens -> embedding (or a time series' channel vectors as they are) -> one
    masked recurrent layer, run forwards and, when bidirectional, a second one over the reversed sequence
    (Schuster & Paliwal 1997) -> linear readout: logits at every position for a sequence task, else from
    the last step's state (left-padded token inputs end there; the backward layer's state after it read
    the whole sequence from the end).

    Taps: "in" (the embedded tokens B x T x embed, or the series B x T x C), "hidden" (every step's state,
    B x T x H, the two directions' states side by side, B x T x 2H, when bidirectional), "logits".
    """

    CAPABILITIES = frozenset({"rnn", "recurrent", "sparse", "sequence", "tokens", "timeseries", "states"})
    CAPABILITY_WORDS = {"timeseries": "a model that reads time series (rnn, ts-lstm, temporal-inception)",
                        "states": "a sequence model with a state at every step (rnn, ts-lstm, temporal-inception)",
                        "recurrent-gates": "a model with LSTM or GRU layers (rnn with cell lstm or gru, ts-lstm)"}

    def __init__(self, p: RNNParams, spec: ModelSpec):
        super().__init__()
        if spec.vocab_size is None and spec.channels is None:
            raise SchemaError("model.name", "the rnn model reads sequences: token sequences or time series (this task gives "
                              "one feature vector per sample)",
                              "a token task (reber, sort, reverse, copy, delay, running-sum, chars) or a time series (adding, activity)")
        self.spec = spec
        self.per_position = spec.per_position
        self.bidirectional = p.bidirectional
        seed = int(torch.randint(0, 2**31 - 1, (1,), device="cpu"))  # from the global RNG: seeded runs repeat
        width = p.embed
        if spec.vocab_size is not None:
            self.embed: nn.Module | None = nn.Embedding(spec.vocab_size, p.embed)
        else:
            self.embed, width = None, int(spec.channels)  # type: ignore[arg-type]
        self.inp = Tap("in")
        self.rnn = MaskedRNN(p.cell, width, p.hidden, recurrent_mask(p, seed))
        if p.bidirectional:
            self.rnn_back = MaskedRNN(p.cell, width, p.hidden, recurrent_mask(p, seed + 1))
        if p.cell == "lstm" and p.forget_bias:
            for _, layer in self.recurrent_layers():
                with torch.no_grad():  # torch's gate order (i, f, g, o): rows H..2H of the bias are the forget gate's
                    layer.layer.bias_hh_l0[p.hidden:2 * p.hidden] += p.forget_bias
        self.hidden = Tap("hidden")
        self.readout = nn.Linear(p.hidden * (2 if p.bidirectional else 1), spec.n_outputs)
        self.logits = Tap("logits")

    def runtime_capabilities(self) -> frozenset[str]:
        """Gated cells (GRU, LSTM) offer their gates (analysis/sequences.py recomputes them)."""
        gated = frozenset({"recurrent-gates"}) if self.rnn.cell in ("gru", "lstm") else frozenset()
        return super().runtime_capabilities() | gated

    def backward_layers(self) -> list[str]:
        """The recurrent layers that read the sequence reversed (analysis/sequences.py puts them back in order)."""
        return ["rnn_back.layer"] if self.bidirectional else []

    def recurrent_layers(self) -> list[tuple[str, MaskedRNN]]:
        """("forward", layer) and, when bidirectional, ("backward", layer): the backward one reads the sequence
        reversed, so its step s is position T - 1 - s."""
        layers = [("forward", self.rnn)]
        if self.bidirectional:
            layers.append(("backward", self.rnn_back))
        return layers

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.inp(self.embed(x) if self.embed is not None else x)
        h, _ = self.rnn(x)
        if self.bidirectional:  # the backward layer's step s is position T - 1 - s: flipped back into position order
            back, _ = self.rnn_back(x.flip(1))
            h = self.hidden(torch.cat([h, back.flip(1)], dim=-1))
            if not self.per_position:  # the forward state at the last position, the backward one at the first
                H = h.shape[-1] // 2
                h = torch.cat([h[:, -1, :H], h[:, 0, H:]], dim=-1)
            return self.logits(self.readout(h))
        h = self.hidden(h)
        if not self.per_position:
            h = h[:, -1]
        return self.logits(self.readout(h))


@MODELS.register("rnn", RNNParams, "A recurrent network (RNN, GRU or LSTM, optionally bidirectional) with a sparse recurrent graph, on tokens or time series",
                 tags=tuple(RNN.CAPABILITIES))
def make_rnn(p: RNNParams, spec: ModelSpec) -> RNN:
    return RNN(p, spec)
