"""Views: drawings of the live run, registered once and offered wherever they apply.
Registration order is the order pages offer them in."""

from netarium.ui.views import playground  # noqa: F401  (the Playground's views first)

# isort: split
from netarium.ui.views import diagram  # noqa: F401

# isort: split
from netarium.ui.views import geometry  # noqa: F401

# isort: split
from netarium.ui.views import residual  # noqa: F401

# isort: split
from netarium.ui.views import dynamics  # noqa: F401

# isort: split
from netarium.ui.views import sparsity  # noqa: F401
from netarium.ui.views.base import VIEWS, View, ViewContext, draw_view, heavy_result, unmet_need

__all__ = ["VIEWS", "View", "ViewContext", "draw_view", "heavy_result", "unmet_need"]
