"""Models: torch modules with taps, and their registry. Imports only torch (and pydantic schemas)."""

from netarium.models import (  # noqa: F401  (registers the models)
    finalmlp,
    hourglass,
    hypernet,
    kan,
    mlp,
    noprop,
    quadratic,
    rnn,
    sparse,
    temporal,
    transformer,
)
from netarium.models.base import MODELS, ModelSpec, build_model, parameter_count, parameter_counts_by_child
from netarium.models.taps import Tap, record, tap_modules, tap_names

# isort: split
from netarium.models import mgno  # noqa: E402, F401  (registered after the others: listed last)

__all__ = ["MODELS", "ModelSpec", "build_model", "parameter_count", "parameter_counts_by_child", "Tap", "record", "tap_modules", "tap_names"]
