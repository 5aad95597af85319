"""Extract a neural circuit diagram from a live nn.Module and an example input.

torch.fx traces the module (leaf = a module without children) and ShapeProp gives every value's
shape; where tracing fails (data-dependent control flow) a forward-hook recorder lists the leaf
modules in call order instead. Axis names: b batch, m features (t tokens), h hidden, d residual
stream, c classes (y for one output), s sequence.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

import torch
from torch import fx, nn
from torch.fx.passes.shape_prop import ShapeProp

from netarium.analysis.common import eval_mode
from netarium.analysis.diagram.model import Axis, Diagram, Op, Region, Wire
from netarium.models.base import Square
from netarium.models.gate import FORWARD_GATE
from netarium.models.taps import Tap, forward_hooks

ACTIVATIONS: dict[type[nn.Module], str] = {
    nn.ReLU: "ReLU", nn.Tanh: "tanh", nn.Sigmoid: "σ", nn.GELU: "GELU", nn.SiLU: "SiLU", Square: "x²",
    nn.LeakyReLU: "LReLU", nn.Softplus: "softplus",
}
NORMS = (nn.LayerNorm, nn.BatchNorm1d, nn.RMSNorm) if hasattr(nn, "RMSNorm") else (nn.LayerNorm, nn.BatchNorm1d)
ADDS = {operator.add, torch.add, operator.iadd}
RESHAPES = {"view", "reshape", "transpose", "permute", "flatten", "unflatten", "t", "mT", "swapaxes", "getitem"}
CONTRACTIONS = {"matmul", "bmm", "einsum", "__matmul__"}
SCALES = {"mul", "truediv", "div", "__mul__", "__truediv__", "multiply", "divide"}
PASS_THROUGH = {"contiguous", "clone", "detach", "float", "to", "dropout"}
MASKS = {"masked_fill", "masked_fill_", "where", "tril", "triu"}
CONCATS = {"cat", "concat", "concatenate"}  # along the last axis: drawn as a bar joining the parts' wires
JOINS = {"cat", "concat", "concatenate", "stack"}  # their tensors come as a list: torch.cat([a, b], dim)


def _fn_name(n: fx.Node) -> str:
    """The function or method name of a call node: "matmul", "view", "softmax", "add"..."""
    t = n.target
    name = t if isinstance(t, str) else getattr(t, "__name__", str(t))
    return name.strip("_") if name.startswith("__") else name


def _static(a: Any) -> Any:
    """A call argument as plain data (a node becomes the number it computed, or None), to keep dims
    and scale factors."""
    if isinstance(a, fx.Node):
        return a.meta.get("value")
    if isinstance(a, (list, tuple)):
        return tuple(_static(x) for x in a)
    return a


class ExtractError(RuntimeError):
    """The module could not be turned into a diagram."""


class TraceFailed(ExtractError):
    """torch.fx could not trace the module (e.g. data-dependent control flow); the hook recorder is used."""


class _Prop(ShapeProp):
    """ShapeProp that also keeps plain-number results (q.shape[-1] ** -0.5) so a scale can be named."""

    def run_node(self, n: fx.Node) -> Any:
        result = super().run_node(n)
        if isinstance(result, (int, float)) and not isinstance(result, bool):
            n.meta["value"] = result
        return result


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
    fn: tuple = ()  # for rearrangements and contractions: (function name, static arguments...)
    batched: bool = True  # False for a learned tensor used directly (a positional embedding): no batch axis
    grid: bool = False  # a 1-D convolution: (batch, channels, grid points) in and out
    scope: str = ""  # the innermost module whose forward made this op (fx's nn_module_stack), for model-declared regions
    named: tuple[tuple[str, str, str], ...] = ()  # declared (key, name, role) of the trailing axes (see _declared)


def _declared(owner: Any, key: str = "") -> tuple[tuple[str, str, str], ...]:
    """The output axes a module declares with `ncd_axis` = (key, name, role) (its last axis: a NoProp block's class
    scores are c, not a hidden h), or a model for one of its tensors with `ncd_tensor_axes` = {target: ((key, name,
    role), ...)} (every axis); () where nothing is declared."""
    if key:
        return tuple(getattr(owner, "ncd_tensor_axes", {}).get(key, ()))
    axis = getattr(owner, "ncd_axis", None)
    return (tuple(axis),) if axis else ()


def _get_param(model: nn.Module, target: str) -> nn.Parameter | None:
    obj: Any = model
    for part in target.split("."):
        obj = getattr(obj, part, None)
    return obj if isinstance(obj, nn.Parameter) else None


def _get_buffer(model: nn.Module, target: str) -> torch.Tensor | None:
    try:
        return model.get_buffer(target)
    except AttributeError:
        return None


def _params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def _is_product(fn: str, ins: list[str]) -> bool:
    """An element-wise product of two computed values (not a scale by a constant): drawn as ⊙."""
    return fn in ("mul", "multiply") and len(ins) == 2


def _kan_glyph(m: nn.Module) -> tuple[str, str] | None:
    """A KAN layer (models/kan.py, NCD_GLYPH "kan"): learned, labelled "KAN" (+ with node biases); viz.ncd
    draws it as a learned function on the wire instead of a linear box."""
    if getattr(m, "NCD_GLYPH", "") != "kan":
        return None
    return "learned", "KAN+" if getattr(m, "bias", None) is not None else "KAN"


def _field_embedding_glyph(m: nn.Module) -> tuple[str, str] | None:
    """A module that embeds every input field (models/finalmlp.py FieldEmbedding, NCD_GLYPH "embed"):
    drawn as an embedding E, like nn.Embedding."""
    return ("embed", "E") if getattr(m, "NCD_GLYPH", "") == "embed" else None


CONVS = (nn.Conv1d, nn.ConvTranspose1d)


def _conv_label(m: nn.Module) -> str:
    """A 1-D convolution's box: the model's own name for it (`ncd_label`: MgNO's A, S), else P↑ for a transposed
    (prolonging) one, R↓ for a strided (restricting) one, 1×1 for a pointwise one, Conv otherwise (+ with a bias)."""
    if isinstance(getattr(m, "ncd_label", None), str):
        return m.ncd_label
    plus = "+" if m.bias is not None else ""
    if isinstance(m, nn.ConvTranspose1d):
        return "P↑" + plus
    if m.stride[0] > 1:
        return "R↓" + plus
    return ("1×1" if m.kernel_size[0] == 1 else "Conv") + plus


def _classify(m: nn.Module) -> tuple[str, str] | None:
    """(kind, label) of a leaf module; None for pass-throughs (Taps, Identity, Dropout). A module may name
    its own element-wise glyph with a `diagram_label` attribute (the quadratic neuron's x⊙x)."""
    if isinstance(m, (Tap, nn.Identity, nn.Dropout)):
        return None
    if isinstance(getattr(m, "diagram_label", None), str) and next(m.parameters(), None) is None:
        # a module that makes a value rather than acting on one (NoProp's z₀) says so with ncd_kind "constant"
        return ("constant" if getattr(m, "ncd_kind", "") == "constant" else "elementwise"), m.diagram_label
    if (kan := _kan_glyph(m)) is not None:
        return kan
    if (embed := _field_embedding_glyph(m)) is not None:
        return embed
    if isinstance(m, nn.Linear):
        return "learned", "L+" if m.bias is not None else "L"
    if isinstance(m, CONVS):
        return "learned", _conv_label(m)
    if isinstance(m, nn.RNNBase):
        return "learned", m.mode if m.mode in ("LSTM", "GRU") else "RNN"
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


def _frozen(m: nn.Module | None) -> bool:
    """A module with parameters none of which is trained (requires_grad off): drawn as frozen."""
    params = list(m.parameters()) if m is not None else []
    return bool(params) and not any(p.requires_grad for p in params)


def _detail(m: nn.Module) -> str:
    if callable(getattr(m, "ncd_detail", None)):  # a module that says what it is (a KAN layer)
        return m.ncd_detail()
    if isinstance(m, nn.Linear):
        return f"{m.in_features} to {m.out_features}"
    if isinstance(m, nn.Embedding):
        return f"{m.num_embeddings} tokens to {m.embedding_dim}"
    if isinstance(m, CONVS):
        what = (", transposed, stride 2: prolongs to the finer grid" if isinstance(m, nn.ConvTranspose1d) else
                f", stride {m.stride[0]}: restricts to the coarser grid" if m.stride[0] > 1 else "")
        return f"{m.in_channels} to {m.out_channels} channels, kernel {m.kernel_size[0]}{what}"
    if isinstance(m, nn.RNNBase):
        return f"{m.input_size} to {m.hidden_size}, recurrent over the sequence ({m.num_layers} layer{'s' if m.num_layers > 1 else ''})"
    return ""


def _shape_of(meta: Any) -> tuple[tuple[int, ...], torch.dtype | None]:
    tm = meta.get("tensor_meta") if isinstance(meta, dict) else None
    if tm is None or not hasattr(tm, "shape"):
        return (), None
    return tuple(int(s) for s in tm.shape), tm.dtype


def _learned_operands(n: fx.Node, model: nn.Module, nodes: list[_Node], alias: dict[str, str]) -> list[str]:
    """The learned tensors a contraction reads directly (FinalMLP's bilinear W3 in an einsum), each added
    once as a learned-tensor node, so that the contraction draws the weights it contracts with."""
    ids = []
    for a in n.args:
        p = _get_param(model, a.target) if isinstance(a, fx.Node) and a.op == "get_attr" else None
        if p is None:
            continue
        pid = a.target.replace(".", "_")
        if pid not in alias.values():
            nodes.append(_Node(pid, "embed", "P", a.target, p.numel(), [], tuple(p.shape), p.dtype,
                               detail=f"{'learned' if p.requires_grad else 'fixed'} tensor {a.target} {tuple(p.shape)}",
                               batched=False, named=_declared(model, a.target)))
            alias[f"param:{pid}"] = pid
        ids.append(pid)
    return ids


def _fx_nodes(model: nn.Module, example: torch.Tensor) -> list[_Node]:
    try:
        with FORWARD_GATE.exclusive():  # fx patches nn.Module.__call__ for every thread while tracing
            graph = _LeafTracer().trace(model)
        gm = fx.GraphModule(model, graph)
        with torch.no_grad():
            _Prop(gm).propagate(example)
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
            nodes.append(_Node(nid, cls[0], cls[1], n.target, _params(m), ins, shape, dtype, _detail(m),
                               grid=isinstance(m, CONVS) and len(shape) == 3, scope=n.target, named=_declared(m)))
            alias[n.name] = nid
        elif n.op in ("call_function", "call_method"):
            if _fn_name(n) in CONCATS and n.args and isinstance(n.args[0], (list, tuple)):
                # torch.cat([x, z], dim=-1): the wires of its parts join in a bar (a NoProp block reads x and z_{t-1})
                parts = [alias[a.name] for a in n.args[0] if isinstance(a, fx.Node) and a_in(a)]
                dim = n.args[1] if len(n.args) > 1 else n.kwargs.get("dim", 0)
                if parts and shape and isinstance(dim, int) and _norm_dim(dim, len(shape)) == len(shape) - 1:
                    nodes.append(_Node(n.name, "reshape", "concat", "", 0, parts, shape, dtype, fn=("cat",)))
                    alias[n.name] = n.name
                    continue
            fn = _fn_name(n)
            listed = fn in JOINS and n.args and isinstance(n.args[0], (list, tuple))  # torch.cat([a, b], dim)
            operands = (*n.args[0], *n.args[1:]) if listed else n.args
            args = [a for a in operands if isinstance(a, fx.Node) and a_in(a)]
            if not args:
                continue
            ins = [alias[a.name] for a in args]
            src_node = next(x for x in nodes if x.id == ins[0])
            src_meta = n.args[0].meta.get("tensor_meta") if isinstance(n.args[0], fx.Node) else None
            if fn == "getitem" and isinstance(src_meta, (tuple, list)) and not hasattr(src_meta, "shape"):
                # a member of a tuple output (an RNN's output or its state; TensorMetadata is a tuple too)
                if not src_node.shape and shape:
                    src_node.shape, src_node.dtype = shape, dtype
                alias[n.name] = ins[0]
                continue
            if not shape:  # not a tensor (x.size(-1), x.shape): nothing to draw
                continue
            if fn in PASS_THROUGH and shape == src_node.shape:
                alias[n.name] = ins[0]
                continue
            rest = [a for a in n.args if not (isinstance(a, fx.Node) and a_in(a))] if fn in SCALES | {"add", "iadd"} else n.args[1:]
            statics = (fn, *(_static(a) for a in rest), *sorted((k, _static(v)) for k, v in n.kwargs.items()))
            is_add = n.target in ADDS or fn in ("add", "iadd")
            if is_add and len(ins) == 1:  # x + a learned tensor (a positional embedding): draw the tensor
                param = next((a for a in n.args if isinstance(a, fx.Node) and a.op == "get_attr"), None)
                p = _get_param(model, param.target) if param is not None else None
                buffer = _get_buffer(model, param.target) if param is not None and p is None else None
                if p is not None or buffer is not None:
                    t = p if p is not None else buffer
                    pid = param.target.replace(".", "_")
                    if pid not in alias.values():
                        nodes.append(_Node(pid, "embed" if p is not None else "constant", "P", param.target,
                                           p.numel() if p is not None else 0, [], tuple(t.shape), t.dtype,
                                           detail=f"{'learned' if p is not None else 'fixed'} tensor {param.target} {tuple(t.shape)}",
                                           batched=False))
                    ins = [*ins, pid]
                    alias[f"param:{pid}"] = pid
            if fn in CONTRACTIONS:
                ins = [*ins, *_learned_operands(n, model, nodes, alias)]
            if is_add:
                kind, label = ("add", "+") if len(ins) == 2 else ("scale", "+ c")
            elif fn in ("softmax", "log_softmax"):
                kind, label = "softmax", fn
            elif fn in JOINS:  # several values joined along an axis: a rearrangement of their wires
                kind, label = "reshape", "concat" if fn in ("cat", "concat", "concatenate") else fn
            elif fn in RESHAPES:
                kind, label = "reshape", "index" if fn == "getitem" else fn
            elif fn in CONTRACTIONS:
                kind, label = "contract", fn
            elif fn in SCALES and len(ins) == 1:
                kind, label = "scale", fn
            elif _is_product(fn, ins):
                kind, label = "elementwise", "⊙"  # the product of two maps (a quadratic neuron's two learned maps)
            elif fn in MASKS:
                kind, label = "mask", "mask"
            else:
                kind, label = "elementwise", fn
            stack = n.meta.get("nn_module_stack") or {}
            nodes.append(_Node(n.name, kind, label, "", 0, ins, shape, dtype, fn=statics, scope=next(reversed(stack), "") if stack else ""))
            alias[n.name] = n.name
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

    def hook(mod: nn.Module, inp: tuple, out: Any, name: str) -> None:
        i = inp[0] if inp and isinstance(inp[0], torch.Tensor) else None
        calls.append(LeafCall(name, mod, tuple(i.shape) if i is not None else (),
                              tuple(out.shape) if isinstance(out, torch.Tensor) else ()))

    leaves = [(m, partial(hook, name=name)) for name, m in model.named_modules() if next(iter(m.children()), None) is None]
    with forward_hooks(leaves), torch.no_grad():
        model(example)
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
        nodes.append(_Node(nid, cls[0], cls[1], call.name, params, [nodes[-1].id], call.out_shape, None, _detail(call.module),
                           grid=isinstance(call.module, CONVS) and len(call.out_shape) == 3, scope=call.name))
    nodes.append(_Node("out", "output", "y", "", 0, [nodes[-1].id], nodes[-1].shape))
    return nodes


def _norm_dim(d: int, n: int) -> int:
    return d + n if d < 0 else d


def _rearranged(axes: tuple[Axis, ...], shape: tuple[int, ...], fn: tuple, ax: Callable[[str, str], str]) -> tuple[Axis, ...] | None:
    """The axes after a transpose / permute / view / reshape: names follow their wires (a split of
    the feature axis into two gives heads H and per-head k; a merge joins the names, "H·k")."""
    if not axes or len(axes) != len(shape) and fn[0] in ("transpose", "swapaxes", "permute", "t", "mT"):
        return None
    if tuple(a.size for a in axes) == shape and fn[0] not in ("transpose", "swapaxes", "permute", "t", "mT"):
        return axes
    n = len(axes)
    if fn[0] in ("transpose", "swapaxes", "t", "mT"):
        i, j = (fn[1], fn[2]) if len(fn) >= 3 and isinstance(fn[1], int) and isinstance(fn[2], int) else (-2, -1)
        i, j = _norm_dim(i, n), _norm_dim(j, n)
        out = list(axes)
        out[i], out[j] = out[j], out[i]
        return tuple(out)
    if fn[0] == "permute":
        dims = fn[1] if len(fn) == 2 and isinstance(fn[1], tuple) else fn[1:]
        if len(dims) != n or not all(isinstance(d, int) for d in dims):
            return None
        return tuple(axes[_norm_dim(d, n)] for d in dims)
    # view / reshape / flatten / unflatten: align the unchanged axes at both ends
    sizes = [a.size for a in axes]
    p = 0
    while p < min(n, len(shape)) and sizes[p] == shape[p]:
        p += 1
    q = 0
    while q < min(n, len(shape)) - p and sizes[n - 1 - q] == shape[len(shape) - 1 - q]:
        q += 1
    old, new = axes[p : n - q], shape[p : len(shape) - q]
    prod_old = 1
    for a in old:
        prod_old *= a.size or 1
    prod_new = 1
    for s_ in new:
        prod_new *= s_
    if prod_old != prod_new:
        return None
    if len(old) == 1 and len(new) >= 2:
        base = old[0]
        if len(new) == 2:
            parts = (Axis(ax("heads", "H"), new[0], "heads"), Axis(ax("per_head", "k"), new[1], base.role))
        else:
            parts = tuple(Axis(f"{base.name}{i + 1}", s_, base.role) for i, s_ in enumerate(new))
        middle = parts
    elif len(old) >= 2 and len(new) == 1:
        middle = (Axis("·".join(a.name for a in old), new[0], old[-1].role),)
    elif len(old) == len(new) == 0:
        middle = ()
    else:
        return None
    return (*axes[:p], *middle, *axes[n - q :])


def _contracted(a: tuple[Axis, ...], b: tuple[Axis, ...], shape: tuple[int, ...]) -> tuple[tuple[Axis, ...], str] | None:
    """Axes of a @ b (matmul / bmm over the last axis of a and the second-last of b) and the name of
    the contracted axis; a repeated name (query and key positions) gets a prime: s and s'."""
    if len(a) < 2 or len(b) < 2 or len(shape) < 2:
        return None
    out = list(a[:-1]) + [b[-1]]
    if len(out) != len(shape):
        return None
    names = [x.name for x in out[:-1]]
    if out[-1].name in names:
        out[-1] = replace(out[-1], name=out[-1].name + "'")
    out = [replace(x, size=s_) for x, s_ in zip(out, shape, strict=True)]
    return tuple(out), a[-1].name


def _name_axes(nodes: list[_Node], axis_names: dict[str, str]) -> dict[str, tuple[Axis, ...]]:
    """Axes of every node's output: b first, the feature axis named by where the value flows;
    rearrangements and contractions carry the names of the wires they move (see _rearranged)."""
    by_id = {n.id: n for n in nodes}
    users: dict[str, list[str]] = {n.id: [] for n in nodes}
    for n in nodes:
        for i in n.inputs:
            users[i].append(n.id)
    learned = [n.id for n in nodes if n.kind in ("learned", "embed")]
    last_learned = learned[-1] if learned else None
    out_width = next((n.shape[-1] for n in nodes if n.kind == "output" and n.shape), None)
    if last_learned is not None and out_width is not None and by_id[last_learned].shape[-1:] != (out_width,):
        last_learned = None  # the classes axis is the output's: a learned op of another width (weights a hypernet makes) is not it

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

    # 1-D grids (convolutions): the finest is x, each coarser one named by its factor (x/2, x/4, ...)
    grid_sizes = sorted({n.shape[-1] for n in nodes if n.grid}, reverse=True)
    grid_names = {size: ax("grid", "x") if k == 0 else f"{ax('grid', 'x')}/{2 ** k}" for k, size in enumerate(grid_sizes)}

    out: dict[str, tuple[Axis, ...]] = {}
    for n in nodes:
        shape = n.shape
        if not shape:
            out[n.id] = ()
            continue
        if n.grid:  # (batch, channels, points): the map acts on the channels, at every point of its grid
            channels = (Axis(ax("output", "y"), shape[1], "output") if n.id == last_learned and shape[1] == 1
                        else Axis(ax("hidden", "h"), shape[1], "hidden"))
            out[n.id] = (Axis(ax("batch", "b"), shape[0], "batch"), channels, Axis(grid_names[shape[-1]], shape[-1], "grid"))
            continue
        first_in = out.get(n.inputs[0], ()) if n.inputs else ()
        if n.named and len(n.named) <= len(shape):  # axes the module (or the model, for a tensor) declares
            k = len(n.named)
            declared = tuple(Axis(ax(key, name), size, role)
                             for (key, name, role), size in zip(n.named, shape[len(shape) - k :], strict=True))
            lead = shape[: len(shape) - k]
            if n.batched and lead:
                out[n.id] = (Axis(ax("batch", "b"), lead[0], "batch"),
                             *(Axis(ax("sequence", "s"), s_, "sequence") for s_ in lead[1:]), *declared)
            else:
                out[n.id] = (*(Axis(ax("sequence", "s"), s_, "sequence") for s_ in lead), *declared)
            continue
        if n.kind == "reshape" and n.fn[:1] == ("cat",):
            parts = [out.get(i, ()) for i in n.inputs]
            if all(len(p) == len(shape) for p in parts):  # the last axes joined: "m⊕z 4" from m 2 and z 2
                name = "⊕".join(dict.fromkeys(p[-1].name for p in parts))
                out[n.id] = (*parts[0][:-1], Axis(name, shape[-1], parts[0][-1].role))
                continue
        if n.kind == "reshape":
            moved = _rearranged(first_in, shape, n.fn, ax)
            if moved is not None:
                out[n.id] = moved
                continue
        if n.kind == "contract" and len(n.inputs) >= 2:
            joined = _contracted(first_in, out.get(n.inputs[1], ()), shape)
            if joined is not None:
                out[n.id], over = joined
                n.detail = f"contraction over {over}"
                continue
        same = first_in and tuple(a.size for a in first_in) == shape
        if same and n.kind in ("elementwise", "norm", "softmax", "scale", "mask", "copy", "output", "add"):
            if n.kind != "add" or all(out.get(i, ()) and out[i][-1].role == first_in[-1].role for i in n.inputs):
                out[n.id] = first_in
                if n.kind == "softmax":
                    dim = next((v for v in n.fn[1:] if isinstance(v, int)), None)
                    dim = next((v for k, v in (x for x in n.fn if isinstance(x, tuple) and len(x) == 2) if k == "dim"), dim)
                    n.detail = f"softmax over {first_in[_norm_dim(dim if dim is not None else -1, len(shape))].name}"
                continue
        if n.kind == "learned" and n.label.rstrip("+") == "Conv" and len(first_in) == 3 and len(shape) == 3:
            # a 1-D convolution over (batch, channels, steps): new channels, the steps axis kept
            out[n.id] = (first_in[0], Axis(ax("hidden", "h"), shape[1], "hidden"), replace(first_in[2], size=shape[2]))
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
            last = replace(first_in[-1], size=shape[-1]) if first_in else Axis(ax("hidden", "h"), shape[-1], "hidden")
        if not n.batched:
            out[n.id] = (*(Axis(ax("sequence", "s"), s_, "sequence") for s_ in shape[:-1]), last)
            continue
        batch = Axis(ax("batch", "b"), shape[0], "batch")
        if first_in and len(first_in) == len(shape) and tuple(a.size for a in first_in[1:-1]) == shape[1:-1]:
            middle = first_in[1:-1]  # a map on the last axis broadcasts over the others
        else:
            middle = tuple(Axis(ax("sequence", "s"), s_, "sequence") for s_ in shape[1:-1])
        out[n.id] = (batch,) if len(shape) == 1 else (batch, *middle, last)
    _name_output_sum(nodes, out, ax)
    return out


def _name_output_sum(nodes: list[_Node], out: dict[str, tuple[Axis, ...]], ax: Callable[[str, str], str]) -> None:
    """An output that is a sum of terms (FinalMLP's logit = b + w1·o1 + w2·o2 + bilinear) is the classes
    axis c (y for one output), on the adds that make it and on each term they add, not a stream d."""
    by_id = {n.id: n for n in nodes}
    output = next((n for n in nodes if n.kind == "output" and n.inputs), None)
    head = [output.id] if output is not None else []  # the output and a softmax head before it
    while head and by_id[head[-1]].inputs and by_id[by_id[head[-1]].inputs[0]].kind == "softmax":
        head.append(by_id[head[-1]].inputs[0])
    if not head or not by_id[head[-1]].inputs or by_id[by_id[head[-1]].inputs[0]].kind != "add":
        return
    output = by_id[head[-1]]
    adds, terms, stack = [], [], [output.inputs[0]]
    while stack:
        n = by_id[stack.pop()]
        if n.kind == "add" and n.id not in adds:
            adds.append(n.id)
            stack.extend(n.inputs)
        elif n.kind != "add" and n.id not in terms:
            terms.append(n.id)
    size = by_id[output.inputs[0]].shape[-1] if by_id[output.inputs[0]].shape else 0
    if any(not by_id[t].shape or by_id[t].shape[-1] != size for t in terms):
        return  # not a sum of logit-shaped terms (a residual stream's last add)
    axis = Axis(ax("output", "y"), size, "output") if size == 1 else Axis(ax("classes", "c"), size, "classes")
    for nid in [*adds, *terms, *head]:
        if out.get(nid):
            out[nid] = (*out[nid][:-1], axis)
        if by_id[nid].kind == "softmax":
            by_id[nid].detail = f"softmax over {axis.name}"


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


def _regions(nodes: list[_Node], branch_names: list[str]) -> list[Region]:
    """For each "+" fed by a copy (the skip) and a branch: the ops on any path from that copy to the
    branch's end (an attention branch forks into Q, K and V and joins again), in forward order."""
    by_id = {n.id: n for n in nodes}
    order = {n.id: k for k, n in enumerate(nodes)}
    users: dict[str, list[str]] = {n.id: [] for n in nodes}
    for n in nodes:
        for i in n.inputs:
            users[i].append(n.id)
    regions: list[tuple[str, ...]] = []
    adds = [n for n in nodes if n.kind == "add" and len(n.inputs) == 2]
    for add in adds:
        skip = next((i for i in add.inputs if by_id[i].kind == "copy"), None)
        if skip is None or add.inputs.count(skip) != 1:
            continue
        branch_end = next(i for i in add.inputs if i != skip)
        behind, stack = set(), [branch_end]  # ancestors of the branch's end, back to the skip copy
        while stack:
            u = stack.pop()
            if u in behind or u == skip:
                continue
            behind.add(u)
            stack.extend(by_id[u].inputs)
        ahead, stack = set(), [u for u in users[skip] if u != add.id]  # descendants of the copy
        while stack:
            u = stack.pop()
            if u in ahead or u == add.id:
                continue
            ahead.add(u)
            stack.extend(users[u])
        branch = behind & ahead
        if branch_end not in branch or any(by_id[i].kind == "input" for i in branch):
            continue
        regions.append(tuple(sorted(branch, key=order.__getitem__)))
    names = branch_names if len(branch_names) == len(regions) else [f"block {k + 1}" for k in range(len(regions))]
    return [Region(f"residual branch · {name}", ops) for name, ops in zip(names, regions, strict=True)]


def _declared_regions(model: nn.Module, nodes: list[_Node]) -> list[Region]:
    """Regions a model names itself: `model.diagram_region(scope, shape)` gives the label of the region an op
    belongs to (None: none) from the module that made it and its output shape (MgNO: each V-cycle level of
    each layer, by its grid); a copy belongs where its source does. In forward order of first appearance."""
    name_of = getattr(model, "diagram_region", None)
    if not callable(name_of):
        return []
    by_id = {n.id: n for n in nodes}
    groups: dict[str, list[str]] = {}
    for n in nodes:
        src = by_id[n.inputs[0]] if n.kind == "copy" and n.inputs else n
        label = name_of(src.scope, src.shape) if src.scope else None
        if label:
            groups.setdefault(label, []).append(n.id)
    return [Region(label, tuple(ops), kind="level") for label, ops in groups.items()]


INSTANCE_LETTERS = {"q": "Q", "query": "Q", "k": "K", "key": "K", "v": "V", "value": "V", "o": "O", "out": "O"}


def _scale_label(n: _Node, candidates: list[Axis]) -> str:
    """"1/√k" when a scale multiplies by 1/sqrt(size) (or divides by sqrt(size)) of axis k (the axis
    its input was contracted over, else its last axis: attention's score scaling), else "×c" / "÷c" /
    "+c", or "scale" for a factor computed from the data."""
    c = next((v for v in n.fn[1:] if isinstance(v, (int, float)) and not isinstance(v, bool)), None)
    if c is None:
        return "scale"
    fn = n.fn[0]
    for k in candidates:
        if not k.size or fn not in ("mul", "multiply", "truediv", "div", "divide"):
            continue
        root = k.size ** 0.5
        if (fn in ("mul", "multiply") and abs(c * root - 1) < 1e-6) or (fn not in ("mul", "multiply") and abs(c / root - 1) < 1e-6):
            return f"1/√{k.name}"
    sign = {"mul": "×", "multiply": "×", "truediv": "÷", "div": "÷", "divide": "÷", "add": "+", "iadd": "+"}.get(fn, fn + " ")
    return f"{sign}{c:g}"


def _instance_letter(module: str) -> str:
    """Q, K, V or O for a module named like an attention projection (q, W_Q, q_proj, key, out_proj), else ""."""
    tokens = [t for t in module.rsplit(".", 1)[-1].lower().split("_") if t not in ("w", "proj", "lin", "linear")]
    return INSTANCE_LETTERS.get(tokens[0], "") if len(tokens) == 1 else ""


def extract(
    model: nn.Module,
    example_input: torch.Tensor,
    *,
    axis_names: dict[str, str] | None = None,
    title: str = "",
    head: str | None = None,
) -> Diagram:
    """The neural circuit diagram of `model` applied to `example_input` (batch first).

    `axis_names` renames axis roles ({"features": "x", "batch": "n", "heads": "H", "per_head": "k",
    ...}) over those the model declares in its own `axis_names` attribute; `head="softmax"` appends
    the softmax that the loss applies to the logits (drawn as a triangle, output p(y | x)).
    """
    names = {**dict(getattr(model, "axis_names", None) or {}), **dict(axis_names or {})}  # the model's, then the caller's
    with eval_mode(model):
        try:
            nodes = _fx_nodes(model, example_input)
            how = "fx"
        except TraceFailed:
            nodes = _hook_nodes(model, example_input)
            how = "hooks"
    if not nodes or nodes[-1].kind != "output":
        raise ExtractError(f"{type(model).__name__}: no output found")
    if head == "softmax":
        out = nodes[-1]
        nodes.insert(-1, _Node("head_softmax", "softmax", "softmax", "", 0, list(out.inputs), out.shape))
        out.inputs, out.label = ["head_softmax"], "p(y | x)"
    seen_ids: set[str] = set()
    for n in nodes:  # module paths and fx names live in different namespaces: keep every id unique
        if n.id in seen_ids:
            raise ExtractError(f"two ops share the id {n.id!r}")
        seen_ids.add(n.id)
    nodes = _insert_copies(nodes)
    axes = _name_axes(nodes, names)
    branch_names = list(getattr(model, "branch_names", None) or getattr(model, "block_names", None) or [])
    declared = _declared_regions(model, nodes)
    regions = declared if declared else _regions(nodes, branch_names)
    # Q, K, V, O superscripts only where one parent module holds all of Q, K and V (an attention)
    letters = {n.id: _instance_letter(n.module) for n in nodes if n.kind == "learned"}
    parent_letters: dict[str, set[str]] = {}
    for n in nodes:
        if letters.get(n.id):
            parent_letters.setdefault(n.module.rpartition(".")[0], set()).add(letters[n.id])
    attention_parents = {p for p, ls in parent_letters.items() if {"Q", "K", "V"} <= ls}
    by_id = {n.id: n for n in nodes}
    modules = dict(model.named_modules())
    instance = 0
    ops, wires = [], []
    for n in nodes:
        inst = ""
        detail = n.detail
        if n.kind == "learned":
            letter = letters[n.id] if n.module.rpartition(".")[0] in attention_parents else ""
            if not letter:
                instance += 1
            inst = letter or str(instance)
            detail = f"W{inst}: {n.detail}" if n.detail else ""
        axes_in = axes[n.inputs[0]] if n.inputs else ()
        label = n.label
        if n.kind == "scale":
            src = by_id.get(n.inputs[0]) if n.inputs else None
            contracted = [axes[src.inputs[0]][-1]] if src is not None and src.kind == "contract" and axes[src.inputs[0]] else []
            label = _scale_label(n, contracted + list(axes_in[-1:]))
        if n.kind == "reshape":
            detail = f"{label}: {' '.join(map(str, axes_in[1:]))} to {' '.join(map(str, axes[n.id][1:]))}"
        frozen = n.kind == "learned" and _frozen(modules.get(n.module))
        if frozen:
            detail = f"{detail}; frozen, not trained" if detail else "frozen, not trained"
        ops.append(Op(n.id, n.kind, label, n.module, n.params, inst, axes_in, axes[n.id], detail, frozen))  # type: ignore[arg-type]
        for i in n.inputs:
            wires.append(Wire(i, n.id, axes[i]))
    return Diagram(title or f"{type(model).__name__} ({how})", tuple(ops), tuple(wires), tuple(regions))


def task_diagram(model: nn.Module, task: Any, batch_size: int, title: str = "") -> Diagram:
    """The diagram of `model` on `task`: a few training inputs traced, the batch wire labelled with
    the real batch size, and a softmax head for classification with several classes."""
    head = "softmax" if task.kind == "classification" and task.n_outputs > 1 else None
    example = task.X_train[:1].to(next(model.parameters()).device)
    return extract(model, example, title=title, head=head).with_batch_size(batch_size)
