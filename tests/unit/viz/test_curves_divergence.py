"""A diverged run's curves: drawn up to their last finite values, a marker at the step it diverged."""

from __future__ import annotations

import math

from netarium.viz.curves import DIVERGED_COLOR, curves_figure, divergence_step

NAN, INF = math.nan, math.inf
SERIES = {
    "train_loss": ([10, 20, 30, 40], [0.9, 4.0, 3e8, NAN]),
    "test_loss": ([10, 20, 30, 40], [1.0, 5.0, INF, NAN]),
    "test_acc": ([10, 20, 30, 40], [0.5, 0.4, 0.1, NAN]),
    "lr": ([10, 20, 30, 40], [1.0, 1.0, 1.0, 1.0]),
}


def _marker(fig) -> tuple[float, str]:
    (line,) = fig.layout.shapes
    (label,) = fig.layout.annotations
    assert line.x0 == line.x1 and line.line.color == DIVERGED_COLOR and (line.y0, line.y1) == (0, 1)
    return line.x0, label.text


def test_divergence_step_is_the_first_non_finite_value() -> None:
    assert divergence_step(SERIES) == 30  # test_loss inf at 30; train_loss NaN only at 40
    assert divergence_step({"train_loss": ([1, 2], [1.0, 0.5])}) is None
    assert divergence_step({"lr": ([1], [NAN])}) is None  # not a train/test metric


def test_curves_stop_at_the_last_finite_value_with_a_marker() -> None:
    fig = curves_figure(SERIES)
    lines = {t.name: (list(t.x), list(t.y)) for t in fig.data}
    assert lines["train loss"] == ([10, 20, 30], [0.9, 4.0, 3e8])  # the blow-up is drawn, the NaN is not
    assert lines["test loss"] == ([10, 20], [1.0, 5.0])
    assert lines["test acc"] == ([10, 20, 30], [0.5, 0.4, 0.1])
    assert all(math.isfinite(v) for t in fig.data for v in t.y)
    assert _marker(fig) == (30, "diverged at step 30")
    # the run's own step wins (a live run's history holds no NaN: it stops before evaluating blown-up weights)
    assert _marker(curves_figure(SERIES, diverged_at=37)) == (37, "diverged at step 37")
    smooth = curves_figure(SERIES, smoothing=0.5)
    assert all(math.isfinite(v) for t in smooth.data for v in t.y) and _marker(smooth)[0] == 30


def test_a_finite_run_has_no_marker() -> None:
    fig = curves_figure({"train_loss": ([1, 2], [1.0, 0.5])})
    assert not fig.layout.shapes and not fig.layout.annotations


def test_diverged_before_any_finite_value_says_so_not_no_data_yet() -> None:
    fig = curves_figure({"train_loss": ([15], [NAN]), "test_loss": ([15], [NAN])})
    (note,) = fig.layout.annotations
    assert note.text == "diverged at step 15, before any finite value was recorded"
    assert curves_figure({}, diverged_at=1200).layout.annotations[0].text.startswith("diverged at step 1,200")
    assert curves_figure({}).layout.annotations[0].text == "no data yet"
