"""Views: drawings of the live run, registered once and offered wherever they apply."""

from netarium.ui.views import playground  # noqa: F401  (registers the Playground's views)
from netarium.ui.views.base import VIEWS, View, ViewContext, draw_view, heavy_result, unmet_need

__all__ = ["VIEWS", "View", "ViewContext", "draw_view", "heavy_result", "unmet_need"]
