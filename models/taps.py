"""Taps: named identity modules that mark what can be looked at inside a model (cf. TransformerLens
hook points), and the one hook mechanism of netarium: `forward_hooks` attaches forward hooks to
modules for a block; `tap_hooks` builds on it to read or replace tap values by name, and `record`
reads a set of taps for one batch."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

ForwardHook = Callable[[nn.Module, tuple, Any], Any]  # (module, inputs, output) -> None or a new output
Reader = Callable[[torch.Tensor], None]
Replacer = Callable[[torch.Tensor], torch.Tensor]


class Tap(nn.Identity):
    """An identity module whose output is a named activation ("layer1.post", "logits", ...)."""

    def __init__(self, name: str):
        super().__init__()
        self.tap_name = name

    def extra_repr(self) -> str:
        return repr(self.tap_name)


def tap_modules(model: nn.Module) -> dict[str, Tap]:
    """Every Tap of a model by tap name, in forward (registration) order."""
    return {m.tap_name: m for m in model.modules() if isinstance(m, Tap)}


def tap_names(model: nn.Module) -> list[str]:
    """The names of a model's taps, in order."""
    return list(tap_modules(model))


def hidden_taps(model: nn.Module) -> list[str]:
    """The representation of each hidden layer, in order: the taps named "*.post" (MLP layers) or
    "*.resid_post" (the stream after each residual block)."""
    return [t for t in tap_modules(model) if t.endswith((".post", ".resid_post"))]


@contextmanager
def forward_hooks(hooks: Iterable[tuple[nn.Module, ForwardHook]]) -> Iterator[None]:
    """Each (module, hook) registered as a forward hook for the block (a hook returning a value replaces
    the module's output), and every one removed on exit, also when the block raises. For modules that
    are not taps (an activation of the diagram, a masked layer); taps go through `tap_hooks`."""
    handles = []
    try:
        for module, hook in hooks:
            handles.append(module.register_forward_hook(hook))
        yield
    finally:
        for h in handles:
            h.remove()


def _tap_hook(name: str, fn: Replacer | None, read: Reader | None, detach: bool) -> ForwardHook:
    """One hook per tap: replace the value first (fn), then hand the value the model goes on with to read."""
    def hook(_m: nn.Module, _inp: tuple, output: torch.Tensor) -> torch.Tensor:
        value = fn(output) if fn is not None else output
        if read is not None:
            read(value.detach() if detach else value)
        return value

    return hook


@contextmanager
def tap_hooks(
    model: nn.Module,
    read: Iterable[str] | Mapping[str, Reader] = (),
    replace: Mapping[str, Replacer] | None = None,
    *,
    detach: bool = True,
) -> Iterator[dict[str, torch.Tensor]]:
    """Read and replace tap values by name while the block runs the model (TransformerLens's hooks):

        with tap_hooks(model, read=["layer1.post"], replace={"layer2.pre": torch.zeros_like}) as recorded:
            out = model(x)

    `read`: tap names whose value is stored in the yielded dict (the last call's value when a tap
    runs several times), or {name: callback(value)} called on every call instead. `replace`:
    {name: fn(value) -> new value}; the model goes on with the new value, and a reader of the same
    tap sees it. Values read are detached unless detach=False. Unknown tap names raise KeyError
    naming the available ones; the hooks are removed on exit, also when the block raises.
    """
    available = tap_modules(model)
    replace = dict(replace or {})
    readers: dict[str, Reader]
    recorded: dict[str, torch.Tensor] = {}
    if isinstance(read, Mapping):
        readers = dict(read)
    else:
        readers = {name: (lambda value, name=name: recorded.__setitem__(name, value)) for name in read}
    missing = [t for t in (*readers, *replace) if t not in available]
    if missing:
        raise KeyError(f"unknown taps {missing}; the model has {list(available)}")
    names = list(dict.fromkeys((*replace, *readers)))
    with forward_hooks((available[n], _tap_hook(n, replace.get(n), readers.get(n), detach)) for n in names):
        yield recorded


def record(
    model: nn.Module, x: torch.Tensor, taps: Iterable[str] | None = None, *, grad: bool = False
) -> dict[str, torch.Tensor]:
    """Run `model(x)` once and return the activations at the requested taps (all when None), in the
    order asked; a tap the forward pass does not reach is absent.

    Unknown tap names raise KeyError naming the available ones. Without `grad` the pass runs under
    no_grad and the tensors are detached.
    """
    wanted = tap_names(model) if taps is None else list(taps)
    with tap_hooks(model, read=wanted, detach=not grad) as out, torch.set_grad_enabled(grad and torch.is_grad_enabled()):
        model(x)
    return {name: out[name] for name in wanted if name in out}


@dataclass(frozen=True)
class ReluLayer:
    """A hidden layer of ReLU units: `tap` holds the ReLU's output, `linear` (qualified name `name`)
    computes its input."""

    name: str
    linear: nn.Module
    tap: str


def relu_layers(model: nn.Module) -> list[ReluLayer]:
    """The ReLU layers of a model, in module order: within one module, an nn.ReLU child whose output
    goes to the Tap child registered right after it, fed by the last nn.Linear child registered before
    it (MLP and sparse MLP layers: linear, layerN.pre, ReLU, layerN.post; residual MLP blocks: fc_in,
    ReLU, blockN.hidden; transformer blocks likewise). A ReLU without such a tap is not read."""
    layers: list[ReluLayer] = []
    for name, m in model.named_modules():
        children = list(m.named_children())
        for i, (_, child) in enumerate(children[:-1]):
            tap = children[i + 1][1]
            if not isinstance(child, nn.ReLU) or not isinstance(tap, Tap):
                continue
            linear = next(((n, c) for n, c in reversed(children[:i]) if isinstance(c, nn.Linear)), None)
            if linear is not None:
                layers.append(ReluLayer(f"{name}.{linear[0]}" if name else linear[0], linear[1], tap.tap_name))
    return layers
