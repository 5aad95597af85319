"""What a FinalMLP does with a batch: the mean weight its two feature gates give each field, and how much
each part of the fusion (stream 1's linear term w1·o1, stream 2's w2·o2, the bilinear term) adds to the
logit (Mao et al. 2023). Pure functions of the model and a batch, read off the model's taps."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from netarium.models.taps import record

TERMS = ("stream1.out", "stream2.out", "fusion.bilinear")
TERM_NAMES = {"stream1.out": "stream 1: w1·o1", "stream2.out": "stream 2: w2·o2", "fusion.bilinear": "bilinear: Σ_h o1_hᵀ W3 o2_h"}


@dataclass(frozen=True)
class GateWeights:
    """Per stream, the mean gate value of each field over a batch and its embedding entries: `mean` (2, F)
    (1 = the field passes unchanged, 0 = shut, 2 = doubled), `spread` (2, F) its standard deviation over the
    batch's samples; `reads` (2, F) True where that stream's gate reads the field."""

    fields: list[str]
    mean: np.ndarray
    spread: np.ndarray
    reads: np.ndarray
    n_samples: int


@dataclass(frozen=True)
class StreamContributions:
    """Per sample of a batch, each fusion term's share of the scored logit: `terms` maps a tap name of TERMS to
    (N,) values; `bias` the constant; `what` says which logit is scored (the class-1 margin of a binary model,
    else the logit of each sample's predicted class)."""

    terms: dict[str, np.ndarray]
    bias: float
    what: str

    def mean_abs(self) -> dict[str, float]:
        """Mean |term| over the batch: how much each part moves the logit."""
        return {k: float(np.abs(v).mean()) for k, v in self.terms.items()}


def _require_finalmlp(model: nn.Module) -> None:
    if not callable(getattr(model, "gate_field_ids", None)):
        raise ValueError(f"{type(model).__name__} is not a FinalMLP (model finalmlp)")


def gate_weights(model: nn.Module, X: torch.Tensor, field_names: list[str] | None = None) -> GateWeights:
    """The gates 2 sigmoid(MLP(e_S)) on the batch X, averaged per field (over samples and the field's E
    embedding entries)."""
    _require_finalmlp(model)
    F, E = model.n_fields, model.embed_dim
    with torch.no_grad():
        acts = record(model, X, ["gate1", "gate2"])
    per_sample = torch.stack([acts[g].reshape(-1, F, E).mean(-1) for g in ("gate1", "gate2")])  # (2, N, F)
    reads = np.zeros((2, F), dtype=bool)
    for k, ids in enumerate(model.gate_field_ids()):
        reads[k, ids] = True
    names = list(field_names) if field_names is not None and len(field_names) == F else [f"field{f + 1}" for f in range(F)]
    data = per_sample.double().cpu().numpy()
    return GateWeights(names, data.mean(1), data.std(1), reads, int(X.shape[0]))


def stream_contributions(model: nn.Module, X: torch.Tensor) -> StreamContributions:
    """Each fusion term of the logit on the batch X: for one output its value, for two the class-1 margin
    (term[:, 1] - term[:, 0], what an AUC ranks by), for more the value at each sample's predicted class."""
    _require_finalmlp(model)
    with torch.no_grad():
        acts = record(model, X, [*TERMS, "logits"])
    logits = acts["logits"]
    n_out = logits.shape[-1]
    bias = model.bias.detach()
    if n_out == 1:
        pick, what, b = (lambda t: t[:, 0]), "the logit", float(bias[0])
    elif n_out == 2:
        pick, what, b = (lambda t: t[:, 1] - t[:, 0]), "the class-1 margin (logit 1 - logit 0)", float(bias[1] - bias[0])
    else:
        cls = logits.argmax(-1, keepdim=True)
        pick, what = (lambda t: t.gather(1, cls)[:, 0]), "each sample's predicted-class logit"
        b = float(bias[cls[:, 0]].mean())
    terms = {k: pick(acts[k]).double().cpu().numpy() for k in TERMS}
    return StreamContributions(terms, b, what)
