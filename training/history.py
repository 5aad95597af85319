"""Metric history with bounded memory: when a metric passes its cap, every other point is dropped."""

from __future__ import annotations

import math


class History:
    """metric -> parallel lists of steps and values, each kept under `max_points` by halving.

    Thinning keeps the first point, every second point after it, and always the newest, so a
    curve keeps its shape and its ends on runs of any length.
    """

    def __init__(self, max_points: int = 2000):
        self.max_points = max(max_points, 10)
        self.steps: dict[str, list[int]] = {}
        self.values: dict[str, list[float]] = {}

    def record(self, step: int, metrics: dict[str, float]) -> None:
        for name, value in metrics.items():
            steps = self.steps.setdefault(name, [])
            values = self.values.setdefault(name, [])
            steps.append(step)
            values.append(float(value))
            self._thin(steps, values)

    def set_max_points(self, max_points: int) -> None:
        """A new cap, live: a lower one thins every metric under it now, a higher one keeps more from now on."""
        self.max_points = max(max_points, 10)
        for name in self.steps:
            self._thin(self.steps[name], self.values[name])

    def _thin(self, steps: list[int], values: list[float]) -> None:
        """Halve one metric (first and newest point kept) until it is within the cap."""
        while len(steps) > self.max_points:
            last_s, last_v = steps[-1], values[-1]
            del steps[1::2], values[1::2]
            if steps[-1] != last_s:
                steps.append(last_s)
                values.append(last_v)

    def metrics(self) -> list[str]:
        return list(self.steps)

    def series(self, name: str) -> tuple[list[int], list[float]]:
        return self.steps.get(name, []), self.values.get(name, [])

    def last(self, name: str, default: float = math.nan) -> float:
        values = self.values.get(name)
        return values[-1] if values else default

    def as_dict(self) -> dict[str, list[list[float]]]:
        """{metric: [[step, value], ...]}: the `--json` layout, a copy."""
        return {m: [[s, v] for s, v in zip(self.steps[m], self.values[m], strict=True)] for m in self.steps}

    def copy(self) -> History:
        h = History(self.max_points)
        h.steps = {k: list(v) for k, v in self.steps.items()}
        h.values = {k: list(v) for k, v in self.values.items()}
        return h

    def __len__(self) -> int:
        return max((len(s) for s in self.steps.values()), default=0)
