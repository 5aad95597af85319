"""What the Playground's views show, computed from a model and a 2-D task: the decision surface over
the plot box, every neuron's map over the same grid, the confusion matrix and the weight matrices.

Pure functions under torch.no_grad: they run on the model's device and return CPU numpy arrays. They
never switch the model between train and eval mode (a worker thread may be stepping it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from netarium.models.taps import hidden_taps, record, tap_names

Box = tuple[float, float, float, float]  # (x1min, x1max, x2min, x2max)
DENSITY = 100  # the Playground's grid for the main heatmap (src/playground.ts DENSITY)
SurfaceKind = Literal["binary", "multiclass", "regression"]
LOSS_NAMES = ("auto", "cross_entropy", "bce", "mse", "tfp")
ONE_LOGIT_LOSSES = ("bce", "tfp")  # 2 classes through one output: sigmoid(o) (bce) or (tanh(o) + 1) / 2 (tfp)


@dataclass(frozen=True)
class Surface:
    """A model's output over an R x R grid of the plot box; cell [i, j] sits at (xs[j], ys[i]).

    values: binary -> P(class 1); multiclass -> the top class probability (= confidence);
    regression -> the predicted value. labels/confidence: the argmax class and its probability
    (classification only). probs: (k, R, R) class probabilities (classification only).
    """

    xs: np.ndarray
    ys: np.ndarray
    values: np.ndarray
    kind: SurfaceKind
    box: Box
    labels: np.ndarray | None = None
    confidence: np.ndarray | None = None
    probs: np.ndarray | None = field(default=None, repr=False)

    @property
    def resolution(self) -> int:
        return int(self.xs.shape[0])


@dataclass(frozen=True)
class NeuronMaps:
    """Every node's value over an R x R grid of the box, by column of the network diagram.

    maps: {"inputs": (n_features, R, R), "layer1": (width1, R, R), ..., "output": (n_out, R, R)}
    where "layerN" is tap "layerN.post" and "output" holds per-unit class probabilities
    (sigmoid for one logit, (tanh + 1) / 2 under the tfp loss, softmax otherwise) or, for
    regression, the predictions.
    output: the decision surface's values on this grid (see Surface.values).
    """

    xs: np.ndarray
    ys: np.ndarray
    box: Box
    maps: dict[str, np.ndarray]
    output: np.ndarray
    kind: SurfaceKind
    input_names: list[str]

    def columns(self) -> list[np.ndarray]:
        """The maps in diagram order (inputs, hidden layers, output), probabilities shown as 2p - 1.

        2p - 1 puts p = 0.5 at zero, so the output column reads on the same signed scale as tanh
        units (the Playground's output node); regression predictions stay as they are.
        """
        cols = [self.maps[k] for k in self.maps if k != "output"]
        out = self.maps["output"]
        cols.append(out if self.kind == "regression" else 2.0 * out - 1.0)
        return cols


@dataclass(frozen=True)
class NodeMap:
    """One node's value over an R x R grid of the box, cell [i, j] at (xs[j], ys[i]), on the scale of
    `NeuronMaps.columns` (probabilities as 2p - 1): what the Playground shows on its main heatmap while
    a node is hovered."""

    xs: np.ndarray
    ys: np.ndarray
    values: np.ndarray
    box: Box


@dataclass(frozen=True)
class NetworkWeights:
    """An MLP's linear maps in order (input -> layer1, ..., last -> output): (out, in) weights and biases."""

    weights: list[np.ndarray]
    biases: list[np.ndarray | None]
    masks: list[np.ndarray | None] = field(default_factory=list)  # 0/1 per weight where a layer is masked
    # per layer, (P, out, in): each link's learned 1-D function sampled over its input range (a KAN edge),
    # drawn as the link's thumbnail; empty for links that are plain weights
    curves: list[np.ndarray] = field(default_factory=list)

    @property
    def layer_sizes(self) -> list[int]:
        """Widths of every column: inputs, each hidden layer, outputs."""
        if not self.weights:
            return []
        return [int(self.weights[0].shape[1])] + [int(w.shape[0]) for w in self.weights]


def model_device(model: nn.Module) -> torch.device:
    """The device of the model's first parameter (CPU for a model without parameters)."""
    p = next(model.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


def grid_points(box: Box, resolution: int) -> tuple[np.ndarray, np.ndarray, torch.Tensor]:
    """xs, ys (R,) spanning the box edges inclusive, and the (R*R, 2) float32 points row by row:
    point i*R + j is (xs[j], ys[i]), so a (R*R,) result reshapes to (R, R) with rows along x2."""
    if resolution < 2:
        raise ValueError(f"resolution must be at least 2, got {resolution}")
    x1min, x1max, x2min, x2max = (float(v) for v in box)
    xs = np.linspace(x1min, x1max, resolution, dtype=np.float32)
    ys = np.linspace(x2min, x2max, resolution, dtype=np.float32)
    gx, gy = np.meshgrid(xs, ys)  # gx[i, j] = xs[j], gy[i, j] = ys[i]
    points = torch.from_numpy(np.stack([gx.ravel(), gy.ravel()], axis=1))
    return xs, ys, points


def _require_2d(task: Any) -> Box:
    """The task's box, or a ValueError saying why it has no 2-D views."""
    meta = getattr(task, "meta", None) or {}
    if "box" not in meta or getattr(task, "featurize", None) is None:
        raise ValueError(
            f"task {getattr(task, 'name', '?')!r} is not a 2-D task (it needs meta['box'] and a featurize "
            "function), so it has no decision surface or neuron maps"
        )
    return tuple(float(v) for v in meta["box"])  # type: ignore[return-value]


def _check_loss(loss_name: str) -> None:
    if loss_name not in LOSS_NAMES:
        raise ValueError(f"unknown loss {loss_name!r}; one of {', '.join(LOSS_NAMES)}")


def _surface_kind(task: Any, out: torch.Tensor, loss_name: str) -> SurfaceKind:
    """binary / multiclass / regression from the task and the width of the model output."""
    if task.kind == "regression":
        return "regression"
    width = int(out.shape[-1])
    if loss_name in ONE_LOGIT_LOSSES and width != 1:
        raise ValueError(f"{loss_name} expects one output logit, the model gives {width}")
    return "binary" if width <= 2 else "multiclass"


def output_probabilities(out: torch.Tensor, kind: SurfaceKind, loss_name: str = "auto") -> torch.Tensor:
    """(N, k) class probabilities from logits: one logit as [1 - p, p] with p = sigmoid(o), or under
    the tfp loss p = (tanh(o) + 1) / 2 (the Playground's output in [-1, 1] read as a probability),
    else softmax; regression outputs are returned unchanged."""
    if kind == "regression":
        return out
    if out.shape[-1] == 1:
        p = (torch.tanh(out) + 1.0) / 2.0 if loss_name == "tfp" else torch.sigmoid(out)
        return torch.cat([1.0 - p, p], dim=-1)
    return torch.softmax(out, dim=-1)


def _grid_inputs(model: nn.Module, task: Any, resolution: int) -> tuple[np.ndarray, np.ndarray, torch.Tensor, Box]:
    box = _require_2d(task)
    xs, ys, points = grid_points(box, resolution)
    feats = task.featurize(points).to(device=model_device(model), dtype=torch.float32)
    return xs, ys, feats, box


@torch.no_grad()
def decision_surface(model: nn.Module, task: Any, resolution: int = DENSITY, loss_name: str = "cross_entropy") -> Surface:
    """The model's prediction over an R x R grid of the task's box (see Surface for what values mean)."""
    _check_loss(loss_name)
    xs, ys, feats, box = _grid_inputs(model, task, resolution)
    out = model(feats).float()
    kind = _surface_kind(task, out, loss_name)
    R = resolution
    if kind == "regression":
        values = out[:, 0].reshape(R, R).cpu().numpy()
        return Surface(xs, ys, values, kind, box)
    probs = output_probabilities(out, kind, loss_name)
    conf, labels = probs.max(dim=-1)
    probs_np = probs.T.reshape(-1, R, R).cpu().numpy()
    labels_np = labels.reshape(R, R).cpu().numpy()
    conf_np = conf.reshape(R, R).cpu().numpy()
    values = probs_np[1] if kind == "binary" else conf_np
    return Surface(xs, ys, values, kind, box, labels=labels_np, confidence=conf_np, probs=probs_np)


@torch.no_grad()
def neuron_maps(model: nn.Module, task: Any, resolution: int = 24, loss_name: str = "auto") -> NeuronMaps:
    """Each input feature's, each hidden neuron's (tap "layerN.post") and each output's value over the grid."""
    _check_loss(loss_name)
    xs, ys, feats, box = _grid_inputs(model, task, resolution)
    taps = hidden_taps(model)
    if "logits" not in tap_names(model):
        raise ValueError("neuron maps need a model with a 'logits' tap")
    acts = record(model, feats, [*taps, "logits"])
    R = resolution

    def as_maps(t: torch.Tensor) -> np.ndarray:
        return t.float().reshape(R, R, -1).permute(2, 0, 1).cpu().numpy()

    maps: dict[str, np.ndarray] = {"inputs": as_maps(feats)}
    for name in taps:
        maps[name.removesuffix(".post")] = as_maps(acts[name])
    out = acts["logits"].float()
    kind = _surface_kind(task, out, loss_name)
    if kind == "regression":
        maps["output"] = as_maps(out)
        output = maps["output"][0]
    else:
        probs = output_probabilities(out, kind, loss_name)
        maps["output"] = as_maps(probs if out.shape[-1] > 1 else probs[:, 1:])
        output = probs[:, 1].reshape(R, R).cpu().numpy() if kind == "binary" else probs.max(-1).values.reshape(R, R).cpu().numpy()
    return NeuronMaps(xs, ys, box, maps, output, kind, list(getattr(task, "input_names", []) or []))


@torch.no_grad()
def node_map(model: nn.Module, task: Any, column: int, index: int, resolution: int = DENSITY,
             loss_name: str = "auto") -> NodeMap:
    """One node's map over the task's box: column 0 the input features, 1..L the hidden layers (tap
    "layerN.post"), L + 1 the outputs, as in `NeuronMaps.columns` (probabilities as 2p - 1)."""
    _check_loss(loss_name)
    xs, ys, feats, box = _grid_inputs(model, task, resolution)
    R = resolution
    taps = hidden_taps(model)
    n_cols = len(taps) + 2
    if not 0 <= column < n_cols:
        raise ValueError(f"column {column} is not in the network (0 to {n_cols - 1})")
    if column == 0:
        values = feats
    elif column <= len(taps):
        values = record(model, feats, [taps[column - 1]])[taps[column - 1]]
    else:
        out = record(model, feats, ["logits"])["logits"].float()
        kind = _surface_kind(task, out, loss_name)
        if kind == "regression":
            values = out
        else:
            probs = output_probabilities(out, kind)
            values = 2.0 * (probs if out.shape[-1] > 1 else probs[:, 1:]) - 1.0
    if not 0 <= index < values.shape[-1]:
        raise ValueError(f"column {column} has {values.shape[-1]} nodes, not a node {index}")
    return NodeMap(xs, ys, values[:, index].float().reshape(R, R).cpu().numpy(), box)


def feature_maps(names: list[str], box: Box, resolution: int) -> np.ndarray:
    """(len(names), R, R): each of the Playground's input features (tasks.playground.FEATURES) over the box,
    for the features a network does not use yet (drawn greyed, to be clicked on)."""
    from netarium.tasks.playground import feature_map

    _, _, points = grid_points(box, resolution)
    if not names:
        return np.zeros((0, resolution, resolution), dtype=np.float32)
    return feature_map(points, names).T.reshape(len(names), resolution, resolution).numpy()


@torch.no_grad()
def predict_classes(model: nn.Module, X: torch.Tensor, loss_name: str) -> torch.Tensor:
    """Predicted class per row: logit > 0 for one output (bce, tfp), else the argmax."""
    _check_loss(loss_name)
    out = model(X.to(model_device(model)))
    if loss_name == "mse":
        raise ValueError("a confusion matrix needs a classification loss, not mse")
    if out.shape[-1] == 1:
        return (out[:, 0] > 0).long()
    return out.argmax(dim=-1)


@torch.no_grad()
def confusion_matrix(model: nn.Module, X: torch.Tensor, y: torch.Tensor, n_classes: int, loss_name: str) -> np.ndarray:
    """(k, k) int64 counts: row = true class, column = predicted class."""
    if n_classes < 2:
        raise ValueError(f"a confusion matrix needs at least 2 classes, got {n_classes}")
    pred = predict_classes(model, X, loss_name).cpu().numpy().astype(np.int64)
    true = y.detach().reshape(-1).cpu().numpy().astype(np.int64)
    if pred.shape[0] != true.shape[0]:
        raise ValueError(f"{true.shape[0]} labels for {pred.shape[0]} predictions")
    idx = true * n_classes + pred
    return np.bincount(idx, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def _numpy(t: torch.Tensor | np.ndarray) -> np.ndarray:
    return t.detach().float().cpu().numpy().copy() if isinstance(t, torch.Tensor) else np.array(t, dtype=np.float32)


def network_weights(model: nn.Module) -> NetworkWeights:
    """The (out, in) weight matrices and biases of an MLP (`layers[i].linear`, then `readout`), in order.

    A TokenLinear first layer counts as the Linear on one-hot tokens it stands for. A model whose neurons
    are not a Linear and an activation (a KAN edge, a quadratic neuron) says what its links are by a
    `network_links()` method returning (weights, biases) in layer order: one (out, in) strength per link;
    one whose links are functions (a KAN) gives them by `network_link_curves()`, (P, out, in) per layer.
    """
    links = getattr(model, "network_links", None)
    if callable(links):
        weights, biases = links()
        curves = getattr(model, "network_link_curves", None)
        return NetworkWeights([_numpy(w) for w in weights], [None if b is None else _numpy(b) for b in biases], [],
                              [_numpy(c) for c in curves()] if callable(curves) else [])
    layers = getattr(model, "layers", None)
    readout = getattr(model, "readout", None)
    if not isinstance(layers, nn.ModuleList) or not isinstance(readout, nn.Linear):
        raise ValueError(f"{type(model).__name__} is not an MLP (needs layers[i].linear and a readout Linear)")
    linears = [getattr(layer, "linear", None) for layer in layers] + [readout]
    if not all(isinstance(m, nn.Linear) for m in linears):
        raise ValueError(f"{type(model).__name__} is not an MLP (needs layers[i].linear and a readout Linear)")
    weights = [m.weight.detach().float().cpu().numpy().copy() for m in linears]
    biases = [None if m.bias is None else m.bias.detach().float().cpu().numpy().copy() for m in linears]
    masks = [m.mask.detach().float().cpu().numpy().copy() if isinstance(getattr(m, "mask", None), torch.Tensor)
             and tuple(m.mask.shape) == tuple(m.weight.shape) else None for m in linears]
    return NetworkWeights(weights, biases, masks)
