"""Benchmarks run by `netarium bench NAME`: they print their figures and ratios; tests never time."""

from collections.abc import Callable
from typing import Any


def _engine(quick: bool = False) -> dict[str, Any]:
    from netarium.bench.engine import run_engine_bench

    return run_engine_bench(quick=quick)


def _ui(quick: bool = False) -> dict[str, Any]:
    from netarium.bench.ui import run_ui_bench

    return run_ui_bench(quick=quick)


def _ui_dynamics(quick: bool = False) -> dict[str, Any]:
    from netarium.bench.ui import run_dynamics_bench

    return run_dynamics_bench(quick=quick)


def _diagram(quick: bool = False) -> dict[str, Any]:
    from netarium.bench.diagram import run_diagram_bench

    return run_diagram_bench(quick=quick)


def _cka(quick: bool = False) -> dict[str, Any]:
    from netarium.bench.cka import run_cka_bench

    return run_cka_bench(quick=quick)


def _hessian(quick: bool = False) -> dict[str, Any]:
    from netarium.bench.hessian import run_hessian_bench

    return run_hessian_bench(quick=quick)


def _sparse(quick: bool = False) -> dict[str, Any]:
    from netarium.bench.sparse import run_sparse_bench

    return run_sparse_bench(quick=quick)


def _sweep(quick: bool = False) -> dict[str, Any]:
    from netarium.bench.sweep import run_sweep_bench

    return run_sweep_bench(quick=quick)


def _load(quick: bool = False) -> dict[str, Any]:
    from netarium.bench.load import run_load_bench

    return run_load_bench(quick=quick)


def _convex(quick: bool = False) -> dict[str, Any]:
    from netarium.bench.convex import run_convex_bench

    return run_convex_bench(quick=quick)


BENCHMARKS: dict[str, Callable[..., dict[str, Any]]] = {
    "engine": _engine, "ui": _ui, "ui-dynamics": _ui_dynamics, "diagram": _diagram, "cka": _cka, "hessian": _hessian,
    "sparse": _sparse, "sweep": _sweep, "load": _load, "convex": _convex,
}
