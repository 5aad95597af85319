"""Neural circuit diagrams (Abbott 2024): a diagram model extracted from a live module."""

from netarium.analysis.diagram.extract import (
    ExtractError,
    TraceFailed,
    extract,
    record_leaf_calls,
    task_diagram,
)
from netarium.analysis.diagram.model import Axis, Component, Diagram, Op, Region, Wire
from netarium.analysis.diagram.overlay import (
    ELEMENTWISE_METRICS,
    LEARNED_METRICS,
    OpStats,
    Overlay,
    diagram_overlay,
)

__all__ = [
    "ELEMENTWISE_METRICS", "LEARNED_METRICS", "Axis", "Component", "Diagram", "ExtractError", "Op", "OpStats",
    "Overlay", "Region", "TraceFailed", "Wire", "diagram_overlay", "extract", "record_leaf_calls", "task_diagram",
]
