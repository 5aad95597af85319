"""What a training step holds for its backward pass, measured: the bytes of the activations autograd saves.

`SavedTensorMeter` hooks autograd's saved tensors (torch.autograd.graph.saved_tensors_hooks): every tensor a
forward op saves for its backward is counted once per storage (a value saved by several ops, or a view of
it, counts once) while any op still holds it, and the peak of that total over the block is kept. Parameters
are not counted (they are held anyway), nor is anything computed under no_grad. This is the memory that
back-propagation through a whole network needs and that training blocks one at a time saves; optimizer
state, gradients and weights come on top and are the same for both. Works on CPU and GPU alike (tracemalloc
sees no torch storage, and torch's allocator statistics exist only on a GPU).
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable

import torch
from torch import nn


class _Held:
    """What autograd keeps in place of a saved tensor: the tensor, and a release when autograd lets it go."""

    __slots__ = ("tensor", "__weakref__")

    def __init__(self, tensor: torch.Tensor):
        self.tensor = tensor


class SavedTensorMeter:
    """Within `with SavedTensorMeter(params) as meter:`, meter.peak_bytes is the most bytes of distinct
    non-parameter storages autograd held for backward at any moment, meter.live_bytes what it holds now."""

    def __init__(self, parameters: Iterable[torch.Tensor] = ()):
        self._param_ptrs = {p.untyped_storage().data_ptr() for p in parameters}
        self._count: dict[int, int] = {}
        self.live_bytes = 0
        self.peak_bytes = 0
        self._hooks: torch.autograd.graph.saved_tensors_hooks | None = None

    @classmethod
    def for_model(cls, model: nn.Module) -> SavedTensorMeter:
        return cls(model.parameters())

    def _pack(self, t: torch.Tensor) -> object:
        storage = t.untyped_storage()
        key = storage.data_ptr()
        if key in self._param_ptrs or storage.nbytes() == 0:
            return t
        held = _Held(t)
        if self._count.get(key, 0) == 0:
            self.live_bytes += storage.nbytes()
            self.peak_bytes = max(self.peak_bytes, self.live_bytes)
        self._count[key] = self._count.get(key, 0) + 1
        weakref.finalize(held, self._release, key, storage.nbytes())
        return held

    def _release(self, key: int, nbytes: int) -> None:
        self._count[key] -= 1
        if self._count[key] == 0:
            del self._count[key]
            self.live_bytes -= nbytes

    @staticmethod
    def _unpack(obj: object) -> torch.Tensor:
        return obj.tensor if isinstance(obj, _Held) else obj  # type: ignore[return-value]

    def __enter__(self) -> SavedTensorMeter:
        self._hooks = torch.autograd.graph.saved_tensors_hooks(self._pack, self._unpack)
        self._hooks.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._hooks is not None
        self._hooks.__exit__(*exc)
        self._hooks = None
