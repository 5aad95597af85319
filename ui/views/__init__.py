"""Views: drawings of the live run, registered once and offered wherever they apply.

Every module of this package registers its views when imported here: the Playground's first, then in
the order of the pages they serve, then any other module (by name). Registration order is the order
side by side offers them in.
"""

import importlib
import pkgutil

from netarium.ui.views.base import (
    SWEEP,
    VIEWS,
    Place,
    Section,
    View,
    ViewContext,
    draw_view,
    heavy_result,
    unmet_need,
)

FIRST = ("playground", "diagram", "geometry", "residual", "dynamics", "sparsity", "sweeps")


def _modules() -> list[str]:
    names = {m.name for m in pkgutil.iter_modules(__path__)} - {"base"}
    return [n for n in FIRST if n in names] + sorted(names - set(FIRST))


for _name in _modules():
    importlib.import_module(f"{__name__}.{_name}")

__all__ = ["SWEEP", "VIEWS", "Place", "Section", "View", "ViewContext", "draw_view", "heavy_result", "unmet_need"]
