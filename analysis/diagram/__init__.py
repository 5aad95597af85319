"""Neural circuit diagrams (Abbott 2024): a diagram model extracted from a live module."""

from netarium.analysis.diagram.extract import (
    ExtractError,
    TraceFailed,
    extract,
    record_leaf_calls,
    task_diagram,
)
from netarium.analysis.diagram.model import Axis, Component, Diagram, Op, Region, Wire

__all__ = [
    "Axis", "Component", "Diagram", "ExtractError", "Op", "Region", "TraceFailed", "Wire", "extract",
    "record_leaf_calls", "task_diagram",
]
