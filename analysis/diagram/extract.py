"""Extract a neural circuit diagram from a live nn.Module and an example input.

torch.fx traces the module (leaf = a module without children) and ShapeProp gives every value's
shape; where tracing fails (data-dependent control flow) a forward-hook recorder lists the leaf
modules in call order instead. Axis names: b batch, m features (t tokens), h hidden, d residual
stream, c classes (y for one output), s sequence.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import fx, nn
from torch.fx.passes.shape_prop import ShapeProp

from netarium.analysis.diagram.model import Axis, Diagram, Op, Region, Wire
from netarium.models.base import Square
from netarium.models.gate import FORWARD_GATE
from netarium.models.taps import Tap

ACTIVATIONS: dict[type[nn.Module], str] = {
    nn.ReLU: "ReLU", nn.Tanh: "tanh", nn.Sigmoid: "σ", nn.GELU: "GELU", nn.SiLU: "SiLU", Square: "x²",
    nn.LeakyReLU: "LReLU", nn.Softplus: "softplus",
}
NORMS = (nn.LayerNorm, nn.BatchNorm1d, nn.RMSNorm) if hasattr(nn, "RMSNorm") else (nn.LayerNorm, nn.BatchNorm1d)
ADDS = {operator.add, torch.add, operator.iadd}


class ExtractError(RuntimeError):
    """The module could not be turned into a diagram."""


class TraceFailed(ExtractError):
    """torch.fx could not trace the module (e.g. data-dependent control flow); the hook recorder is used."""


class _LeafTracer(fx.Tracer):
    """Every module without children is a leaf (Linear and its subclasses, Taps, activations)."""

    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        return next(iter(m.children()), None) is None or super().is_leaf_module(m, qualname)


@dataclass
class _Node:
    """An op before axis naming: its kind, label, module, inputs (node ids) and output shape."""

    id: str
    kind: str
    label: str
    module: str
    params: int
    inputs: list[str]
    shape: tuple[int, ...]
    dtype: torch.dtype | None = None
    detail: str = ""


def _params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def _classify(m: nn.Module) -> tuple[str, str] | None:
    """(kind, label) of a leaf module; None for pass-throughs (Taps, Identity, Dropout)."""
    if isinstance(m, (Tap, nn.Identity, nn.Dropout)):
        return None
    if isinstance(m, nn.Linear):
        return "learned", "L+" if m.bias is not None else "L"
    if isinstance(m, nn.Embedding):
        return "embed", "E"
    if isinstance(m, NORMS):
        return "norm", "LN" if isinstance(m, nn.LayerNorm) else type(m).__name__
    if isinstance(m, (nn.Softmax, nn.LogSoftmax)):
        return "softmax", "softmax"
    for cls, label in ACTIVATIONS.items():
        if isinstance(m, cls):
            return "elementwise", label
    return "elementwise", type(m).__name__


def _detail(m: nn.Module) -> str:
    if isinstance(m, nn.Linear):
        return f"{m.in_features} to {m.out_features}"
    if isinstance(m, nn.Embedding):
        return f"{m.num_embeddings} tokens to {m.embedding_dim}"
    return ""


def _shape_of(meta: Any) -> tuple[tuple[int, ...], torch.dtype | None]:
    tm = meta.get("tensor_meta") if isinstance(meta, dict) else None
    if tm is None or not hasattr(tm, "shape"):
        return (), None
    return tuple(int(s) for s in tm.shape), tm.dtype


def _fx_nodes(model: nn.Module, example: torch.Tensor) -> list[_Node]:
    try:
        with FORWARD_GATE.exclusive():  # fx patches nn.Module.__call__ for every thread while tracing
            graph = _LeafTracer().trace(model)
        gm = fx.GraphModule(model, graph)
        ShapeProp(gm).propagate(example)
    except Exception as e:  # tracing fails in many ways (TraceError, TypeError, ...): all mean "use hooks"
        raise TraceFailed(f"torch.fx cannot trace {type(model).__name__}: {e}") from e
    modules = dict(model.named_modules())
    alias: dict[str, str] = {}
    nodes: list[_Node] = []

    def src(arg: Any) -> list[str]:
        return [alias[arg.name]] if isinstance(arg, fx.Node) and a_in(arg) else []

    def a_in(n: fx.Node) -> bool:
        return n.name in alias

    for n in gm.graph.nodes:
        shape, dtype = _shape_of(n.meta)
        if n.op == "placeholder":
            nodes.append(_Node("x", "input", "x", "", 0, [], shape, dtype))
            alias[n.name] = "x"
        elif n.op == "call_module":
            m = modules[n.target]
            cls = _classify(m)
            ins = src(n.args[0]) if n.args else []
            if cls is None:
                alias[n.name] = ins[0] if ins else "x"
                continue
            nid = n.target.replace(".", "_")
            nodes.append(_Node(nid, cls[0], cls[1], n.target, _params(m), ins, shape, dtype, _detail(m)))
            alias[n.name] = nid
        elif n.op in ("call_function", "call_method"):
            args = [a for a in n.args if isinstance(a, fx.Node) and a_in(a)]
            if not args:
                continue
            if n.target in ADDS or n.target in ("add", "__add__"):
                kind, label = "add", "+"
            elif n.op == "call_function" and getattr(n.target, "__name__", "") in ("softmax", "log_softmax"):
                kind, label = "softmax", "softmax"
            else:
                kind, label = "elementwise", getattr(n.target, "__name__", str(n.target))
            ins = [alias[a.name] for a in args]
            if kind == "elementwise" and len(ins) == 1 and shape == next(x.shape for x in nodes if x.id == ins[0]):
                if label in ("contiguous", "clone", "detach", "float", "to"):
                    alias[n.name] = ins[0]
                    continue
            nid = n.name
            nodes.append(_Node(nid, kind, label, "", 0, ins, shape, dtype))
            alias[n.name] = nid
        elif n.op == "output":
            arg = n.args[0]
            ins = src(arg)
            out_shape = next((x.shape for x in nodes if ins and x.id == ins[0]), shape)
            nodes.append(_Node("out", "output", "y", "", 0, ins, out_shape))
    return nodes


@dataclass(frozen=True)
class LeafCall:
    """One call of a leaf module recorded by a forward hook."""

    name: str
    module: nn.Module
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]


def record_leaf_calls(model: nn.Module, example: torch.Tensor) -> list[LeafCall]:
    """Run the model once with forward hooks on every leaf module; the calls in order."""
    calls: list[LeafCall] = []
    handles = []
    for name, m in model.named_modules():
        if next(iter(m.children()), None) is not None:
            continue

        def hook(mod: nn.Module, inp: tuple, out: Any, name: str = name) -> None:
            i = inp[0] if inp and isinstance(inp[0], torch.Tensor) else None
            calls.append(LeafCall(name, mod, tuple(i.shape) if i is not None else (),
                                  tuple(out.shape) if isinstance(out, torch.Tensor) else ()))

        handles.append(m.register_forward_hook(hook))
    try:
        with torch.no_grad():
            model(example)
    finally:
        for h in handles:
            h.remove()
    return calls


def _hook_nodes(model: nn.Module, example: torch.Tensor) -> list[_Node]:
    """A chain input -> leaf ops in call order -> output (adds and copies are invisible to hooks)."""
    nodes = [_Node("x", "input", "x", "", 0, [], tuple(example.shape), example.dtype)]
    seen: dict[str, int] = {}
    for call in record_leaf_calls(model, example):
        cls = _classify(call.module)
        if cls is None:
            continue
        seen[call.name] = seen.get(call.name, 0) + 1
        nid = call.name.replace(".", "_") + ("" if seen[call.name] == 1 else f"_{seen[call.name]}")
        params = _params(call.module) if seen[call.name] == 1 else 0
        nodes.append(_Node(nid, cls[0], cls[1], call.name, params, [nodes[-1].id], call.out_shape, None, _detail(call.module)))
    nodes.append(_Node("out", "output", "y", "", 0, [nodes[-1].id], nodes[-1].shape))
    return nodes


def _name_axes(nodes: list[_Node], axis_names: dict[str, str]) -> dict[str, tuple[Axis, ...]]:
    """Axes of every node's output: b first, the feature axis named by where the value flows."""
    by_id = {n.id: n for n in nodes}
    users: dict[str, list[str]] = {n.id: [] for n in nodes}
    for n in nodes:
        for i in n.inputs:
            users[i].append(n.id)
    learned = [n.id for n in nodes if n.kind in ("learned", "embed")]
    last_learned = learned[-1] if learned else None

    def reaches_add(nid: str) -> bool:
        stack, seen = list(users[nid]), set()
        while stack:
            u = stack.pop()
            if u in seen:
                continue
            seen.add(u)
            if by_id[u].kind == "add":
                return True
            if by_id[u].kind in ("elementwise", "norm", "copy"):
                stack.extend(users[u])
        return False

    def ax(key: str, default: str) -> str:
        return axis_names.get(key, default)

    out: dict[str, tuple[Axis, ...]] = {}
    for n in nodes:
        shape = n.shape
        if not shape:
            out[n.id] = ()
            continue
        if n.kind == "input":
            tokens = n.dtype is not None and not n.dtype.is_floating_point
            last = Axis(ax("tokens", "t"), shape[-1], "tokens") if tokens else Axis(ax("features", "m"), shape[-1], "features")
        elif n.kind in ("learned", "embed", "add") or not n.inputs:
            if n.id == last_learned:
                one = shape[-1] == 1
                last = Axis(ax("output", "y"), shape[-1], "output") if one else Axis(ax("classes", "c"), shape[-1], "classes")
            elif n.kind == "add" or reaches_add(n.id):
                last = Axis(ax("stream", "d"), shape[-1], "features")
            else:
                last = Axis(ax("hidden", "h"), shape[-1], "hidden")
        else:  # shape-preserving ops keep their input's name
            prev = out.get(n.inputs[0], ())
            last = replace(prev[-1], size=shape[-1]) if prev else Axis(ax("hidden", "h"), shape[-1], "hidden")
        batch = Axis(ax("batch", "b"), shape[0], "batch")
        middle = tuple(Axis(ax("sequence", "s"), s, "sequence") for s in shape[1:-1])
        out[n.id] = (batch,) if len(shape) == 1 else (batch, *middle, last)
    return out


def _insert_copies(nodes: list[_Node]) -> list[_Node]:
    """A value used by 2+ ops goes through a copy op (the black dot) that feeds each of them."""
    users: dict[str, list[_Node]] = {n.id: [] for n in nodes}
    for n in nodes:
        for i in n.inputs:
            users[i].append(n)
    out: list[_Node] = []
    k = 0
    for n in nodes:
        out.append(n)
        if len(users[n.id]) >= 2:
            k += 1
            cid = f"copy{k}"
            out.append(_Node(cid, "copy", "", "", 0, [n.id], n.shape, n.dtype))
            for u in users[n.id]:
                u.inputs = [cid if i == n.id else i for i in u.inputs]
    return out


def _regions(nodes: list[_Node], block_names: list[str]) -> list[Region]:
    """For each "+" fed by a copy (the skip) and a branch: the branch's ops back to that copy."""
    by_id = {n.id: n for n in nodes}
    regions = []
    adds = [n for n in nodes if n.kind == "add" and len(n.inputs) == 2]
    for k, add in enumerate(adds):
        skip = next((i for i in add.inputs if by_id[i].kind == "copy"), None)
        if skip is None:
            continue
        branch_end = next(i for i in add.inputs if i != skip) if add.inputs.count(skip) == 1 else None
        if branch_end is None:
            continue
        branch, cur = [], branch_end
        while cur != skip and by_id[cur].kind not in ("input", "copy") and len(branch) < len(nodes):
            branch.append(cur)
            cur = by_id[cur].inputs[0] if by_id[cur].inputs else skip
        if cur != skip:
            continue
        name = block_names[k] if len(block_names) == len(adds) else f"block {k + 1}"
        regions.append(Region(f"residual branch · {name}", tuple(reversed(branch))))
    return regions


def extract(
    model: nn.Module,
    example_input: torch.Tensor,
    *,
    axis_names: dict[str, str] | None = None,
    title: str = "",
    head: str | None = None,
) -> Diagram:
    """The neural circuit diagram of `model` applied to `example_input` (batch first).

    `axis_names` renames axis roles ({"features": "x", "batch": "n", ...}); `head="softmax"` appends
    the softmax that the loss applies to the logits (drawn as a triangle, output p(y | x)).
    """
    names = dict(axis_names or {})
    was_training = model.training
    model.eval()
    try:
        try:
            nodes = _fx_nodes(model, example_input)
            how = "fx"
        except TraceFailed:
            nodes = _hook_nodes(model, example_input)
            how = "hooks"
    finally:
        model.train(was_training)
    if not nodes or nodes[-1].kind != "output":
        raise ExtractError(f"{type(model).__name__}: no output found")
    if head == "softmax":
        out = nodes[-1]
        nodes.insert(-1, _Node("softmax", "softmax", "softmax", "", 0, list(out.inputs), out.shape))
        out.inputs, out.label = ["softmax"], "p(y | x)"
    nodes = _insert_copies(nodes)
    axes = _name_axes(nodes, names)
    block_names = list(getattr(model, "block_names", []) or [])
    regions = _regions(nodes, block_names)
    instance = 0
    ops, wires = [], []
    for n in nodes:
        inst = ""
        detail = n.detail
        if n.kind == "learned":
            instance += 1
            inst = str(instance)
            detail = f"W{inst}: {n.detail}" if n.detail else ""
        axes_in = axes[n.inputs[0]] if n.inputs else ()
        ops.append(Op(n.id, n.kind, n.label, n.module, n.params, inst, axes_in, axes[n.id], detail))  # type: ignore[arg-type]
        for i in n.inputs:
            wires.append(Wire(i, n.id, axes[i]))
    return Diagram(title or f"{type(model).__name__} ({how})", tuple(ops), tuple(wires), tuple(regions))


def task_diagram(model: nn.Module, task: Any, batch_size: int, title: str = "") -> Diagram:
    """The diagram of `model` on `task`: a few training inputs traced, the batch wire labelled with
    the real batch size, and a softmax head for classification with several classes."""
    head = "softmax" if task.kind == "classification" and task.n_outputs > 1 else None
    example = task.X_train[:2].to(next(model.parameters()).device)
    return extract(model, example, title=title, head=head).with_batch_size(batch_size)
