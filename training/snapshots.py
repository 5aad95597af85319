"""Weights at steps over training, for views that slide (and play) through training: representational
geometry, alignment over training. Bounded in count and bytes; spread evenly in log(step).
"""

from __future__ import annotations

import copy
import math
import threading

import torch
from torch import nn

SNAPSHOT_BYTES = 64 * 2**20  # all snapshots of one run together
MAX_SNAPSHOTS = 32
MIN_SNAPSHOTS = 4  # a model too big for this many snapshots in the budget keeps none


class Snapshots:
    """A bounded set of (step, weights) pairs, recorded more densely early in training.

    A snapshot is due at step 0 and then after a gap of 15% of the current step (at least 1, at most
    `max_gap`): early training, where representations move fastest, is sampled densely. When the set
    is full, the snapshot whose removal leaves the smallest gap in log(1 + step) goes (never the first
    or the newest), so the kept steps stay roughly evenly spread in log-time however long the run is.
    """

    def __init__(self, model: nn.Module, max_gap: int = 1000, budget_bytes: int = SNAPSHOT_BYTES, capacity: int = MAX_SNAPSHOTS):
        size = sum(t.numel() * t.element_size() for t in model.state_dict().values())
        self.capacity = min(capacity, budget_bytes // max(size, 1))
        self.enabled = self.capacity >= MIN_SNAPSHOTS
        self.max_gap = max(max_gap, 1)
        self.next_step = 0
        self._steps: list[int] = []
        self._states: list[dict[str, torch.Tensor]] = []
        self._lock = threading.Lock()

    def due(self, step: int) -> bool:
        return self.enabled and step >= self.next_step

    def record(self, step: int, model: nn.Module, state: dict[str, torch.Tensor] | None = None) -> None:
        """Keep a copy of the model's weights at `step` (on the CPU), thinning if over capacity; `state`:
        that copy already made (a CPU state dict no one else holds)."""
        if state is None:
            state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
        with self._lock:
            if self._steps and self._steps[-1] == step:
                self._states[-1] = state
            else:
                self._steps.append(step)
                self._states.append(state)
            if len(self._steps) > self.capacity:
                self._drop_one()
        self.next_step = step + min(max(1, int(0.15 * step)), self.max_gap)

    def _drop_one(self) -> None:
        logs = [math.log1p(s) for s in self._steps]
        # removing i merges the gaps on its two sides; remove where that merged gap is smallest
        i = min(range(1, len(logs) - 1), key=lambda k: logs[k + 1] - logs[k - 1])
        del self._steps[i], self._states[i]

    def steps(self) -> list[int]:
        with self._lock:
            return list(self._steps)

    def state_at(self, step: int) -> dict[str, torch.Tensor]:
        """The weights recorded at `step` (KeyError naming the recorded steps otherwise)."""
        with self._lock:
            if step not in self._steps:
                raise KeyError(f"no snapshot at step {step}; recorded: {self._steps}")
            return self._states[self._steps.index(step)]

    def model_at(self, step: int, template: nn.Module) -> nn.Module:
        """A copy of `template` (same architecture) holding the weights of `step`, in eval mode."""
        model = copy.deepcopy(template)
        missing, unexpected = model.load_state_dict(self.state_at(step), strict=False)
        masks = dict(model.named_buffers())
        wrong = [k for k in missing if not (k.endswith("mask") and k in masks)] + list(unexpected)
        if wrong:
            raise RuntimeError(f"the snapshot of step {step} does not fit the model: {', '.join(wrong[:5])}")
        with torch.no_grad():
            for key in missing:  # masks added later (live pruning): before them the layer was dense
                masks[key].fill_(1)
        return model.eval()

    def __len__(self) -> int:
        return len(self._steps)
