"""The model registry, what a model is built for (ModelSpec), what it offers the views (capabilities),
activations, init schemes, counts."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import torch
from torch import nn

from netarium.schema import Params, Registry, SchemaError

MODELS = Registry("model")

Activation = Literal["relu", "tanh", "sigmoid", "gelu", "silu", "linear", "square"]
InitScheme = Literal["default", "xavier", "kaiming", "normal", "small", "tfp", "zero"]

# What a model can offer, in the words a view that needs it uses ("needs an MLP").
MODEL_CAPABILITIES: dict[str, str] = {
    "mlp": "an MLP",
    "residual": "a model with residual blocks",
    "attention": "a model with attention (the transformer)",
    "masks": "a sparse model with masks",
    "recurrent": "a recurrent model with a sparse recurrent mask (rnn)",
    "sequence": "a model with an output at every position",
    "sparse": "a model built sparse",
    "rnn": "a recurrent network",
    "tokens": "a model that reads tokens",
}


def masked_modules(model: nn.Module) -> Iterator[tuple[str, nn.Module]]:
    """(name, module) for every submodule of `model` (itself included) that owns a `mask` buffer shaped
    like its `weight`: a masked connectivity, not some other buffer called mask (an attention's causal
    mask has no weight of its shape)."""
    for name, module in model.named_modules():
        mask = dict(module.named_buffers(recurse=False)).get("mask")
        weight = getattr(module, "weight", None)
        if mask is not None and isinstance(weight, torch.Tensor) and weight.shape == mask.shape:
            yield name, module


class Capable:
    """Mixin of the registered models: `CAPABILITIES` declares what the class always offers (its registry
    tags too), `runtime_capabilities()` what this instance offers now on top of that. A class that brings
    a capability no model had declares its words in `CAPABILITY_WORDS` (joined into MODEL_CAPABILITIES),
    so a new model with a new view touches neither this file nor the view base."""

    CAPABILITIES: ClassVar[frozenset[str]] = frozenset()
    CAPABILITY_WORDS: ClassVar[dict[str, str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for tag, words in cls.__dict__.get("CAPABILITY_WORDS", {}).items():
            if MODEL_CAPABILITIES.setdefault(tag, words) != words:
                raise ValueError(f"capability {tag!r} is already worded {MODEL_CAPABILITIES[tag]!r}")

    def runtime_capabilities(self) -> frozenset[str]:
        """"masks" once the model holds masked connectivity (a live prune adds masks to a plain MLP)."""
        return _runtime(self)


def _runtime(model: Any) -> frozenset[str]:
    return frozenset({"masks"}) if next(masked_modules(model), None) is not None else frozenset()


def capabilities(model: nn.Module) -> frozenset[str]:
    """What `model` offers the views now: its class's declared capabilities and its runtime ones (see
    MODEL_CAPABILITIES); a module that is no Capable model offers only what its runtime shows (masks)."""
    if isinstance(model, Capable):
        return model.CAPABILITIES | model.runtime_capabilities()
    return _runtime(model)


@dataclass(frozen=True)
class ModelSpec:
    """What the task asks of a model: input width (or token vocabulary and length) and output width."""

    n_inputs: int
    n_outputs: int
    vocab_size: int | None = None  # inputs are int64 tokens in [0, vocab_size) when set
    per_position: bool = False  # a sequence task: an output (n_outputs wide) at every input position
    grid_channels: int = 0  # a 1-D grid task: inputs are this many channels of n_outputs grid points each, channel-major
    channels: int | None = None  # a time series: inputs are float (batch, n_inputs steps, channels)

    @classmethod
    def for_task(cls, task: Any, n_outputs: int | None = None) -> ModelSpec:
        """The spec of a Task (duck-typed so models never import tasks)."""
        X = getattr(task, "X_train", None)
        channels = int(X.shape[2]) if X is not None and X.ndim == 3 and X.dtype.is_floating_point else None
        return cls(task.n_inputs, task.n_outputs if n_outputs is None else n_outputs, task.vocab_size,
                   per_position=getattr(task, "kind", "") == "sequence",
                   grid_channels=int(getattr(task, "meta", {}).get("grid_channels", 0)), channels=channels)


class Square(nn.Module):
    """x -> x^2, the activation of the Li2 grokking analysis."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * x


def make_activation(name: str) -> nn.Module:
    """A fresh activation module for a name of `Activation`."""
    table: dict[str, type[nn.Module]] = {
        "relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "gelu": nn.GELU,
        "silu": nn.SiLU, "linear": nn.Identity, "square": Square,
    }
    return table[name]()


def init_linear(layer: nn.Linear, scheme: str, scale: float = 1.0) -> None:
    """Initialise a linear layer in place; `scale` multiplies the weights of any scheme.

    xavier: U(+-sqrt(6/(fan_in+fan_out))); kaiming: N(0, 2/fan_in); normal: N(0, 1/fan_in);
    small: N(0, 1e-3^2); default: PyTorch's U(+-1/sqrt(fan_in)); tfp: TensorFlow Playground's
    U(-0.5, 0.5) with biases 0.1 (nn.ts Link, Node); zero: its initZero, weights and biases 0.
    Biases start at zero except default and tfp.
    """
    with torch.no_grad():
        if scheme == "xavier":
            nn.init.xavier_uniform_(layer.weight)
        elif scheme == "kaiming":
            nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
        elif scheme == "normal":
            nn.init.normal_(layer.weight, std=1.0 / math.sqrt(layer.in_features))
        elif scheme == "small":
            nn.init.normal_(layer.weight, std=1e-3)
        elif scheme == "tfp":
            nn.init.uniform_(layer.weight, -0.5, 0.5)
        elif scheme == "zero":
            layer.weight.zero_()
        if scheme != "default" and layer.bias is not None:
            layer.bias.fill_(0.1 if scheme == "tfp" else 0.0)
        layer.weight.mul_(scale)


def build_model(name: str, params: Params | dict[str, Any] | None, spec: ModelSpec) -> nn.Module:
    """Build registered model `name` for `spec` from its (validated) parameters."""
    entry = MODELS.get(name)
    params = MODELS.params_for(name, params)
    if spec.per_position and "sequence" not in entry.tags:
        sequence_models = [n for n in MODELS.names() if "sequence" in MODELS.get(n).tags]
        raise SchemaError("model.name", f"{name} gives one output per input, a sequence task needs one per position",
                          ", ".join(sequence_models) or "a sequence model")
    if spec.channels is not None and "timeseries" not in entry.tags:
        readers = [n for n in MODELS.names() if "timeseries" in MODELS.get(n).tags]
        raise SchemaError("model.name", f"{name} reads one feature vector per sample, this task gives time series "
                          f"({spec.n_inputs} steps of {spec.channels} channels)", ", ".join(readers) or "a time-series model")
    return entry.factory(params, spec)


def parameter_count(model: nn.Module, trainable_only: bool = True) -> int:
    """Number of scalar parameters (only those with requires_grad when `trainable_only`)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def parameter_counts_by_child(model: nn.Module) -> dict[str, int]:
    """Parameter count per top-level child module, for per-component tables."""
    return {name: parameter_count(child, trainable_only=False) for name, child in model.named_children()}
