"""Models: torch modules with taps, and their registry. Imports only torch (and pydantic schemas)."""

from netarium.models import finalmlp, hourglass, kan, mlp, quadratic, rnn, sparse, temporal, transformer  # noqa: F401  (registers the models)
from netarium.models.base import MODELS, ModelSpec, build_model, parameter_count, parameter_counts_by_child
from netarium.models.taps import Tap, record, tap_modules, tap_names

__all__ = ["MODELS", "ModelSpec", "build_model", "parameter_count", "parameter_counts_by_child", "Tap", "record", "tap_modules", "tap_names"]
