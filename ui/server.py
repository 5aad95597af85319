"""Serve the app: `streamlit run app.py` in this process, with Netarium's server options."""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

from streamlit.runtime.pages_manager import PagesManager
from streamlit.web import cli as streamlit_cli

from netarium.tasks.csv import MAX_UPLOAD_BYTES
from netarium.training.heap import configure_heap, shared_policy

APP = Path(__file__).resolve().parents[1] / "app.py"
MAX_UPLOAD_MB = math.ceil(MAX_UPLOAD_BYTES / 2**20)  # Streamlit's own cap on any upload: a CSV file's


def streamlit_args(port: int, address: str | None = None) -> list[str]:
    """Headless, no file watcher, XSRF protection on (a page on another site cannot post uploads or
    widget changes into a session), uploads capped at a CSV file's limit, and no gc.collect(2) after every script run (it held the GIL for
    two thirds of each tick and starved the training thread). The options of the repository's
    .streamlit/config.toml, given here so that an installed `netarium app` runs the same from any folder."""
    args = ["run", str(APP), "--server.headless", "true", "--server.port", str(port), "--server.fileWatcherType", "none",
            "--server.enableXsrfProtection", "true", "--server.maxUploadSize", str(MAX_UPLOAD_MB),
            "--runner.postScriptGC", "false", "--browser.gatherUsageStats", "false", "--client.toolbarMode", "minimal"]
    return args + (["--server.address", address] if address else [])


def warm_up() -> float:
    """Import what a session's first script run needs (app.py's modules and every view) and run the default
    config's model, surface and graph once, before the server takes connections, so that the first visitor
    does not wait for them: on 2 cores that was ~9 s of the first Playground's 17 s (importing the app's
    modules ~6 s; building the first optimizer imports torch._dynamo, ~3 s). Returns the seconds spent;
    a failure here is left for the page to report."""
    start = time.perf_counter()
    try:
        # the Geometry page's estimators (analysis/geometry.py imports them when first used): scikit-learn,
        # its part of SciPy and joblib, ~15 MB the server keeps once imported either way
        import sklearn.decomposition  # noqa: F401
        import sklearn.manifold  # noqa: F401
        import sklearn.pipeline  # noqa: F401
        import sklearn.preprocessing  # noqa: F401
        import sklearn.svm  # noqa: F401

        import netarium.ui.live  # noqa: F401  (imports every view: ui/views/__init__.py)
        import netarium.ui.navigation  # noqa: F401
        import netarium.ui.playground_controls  # noqa: F401
        import netarium.ui.sidebar  # noqa: F401
        from netarium.analysis.playground import decision_surface, network_weights, neuron_maps
        from netarium.training.budget import estimate
        from netarium.training.run import Run
        from netarium.ui.session import default_config
        from netarium.viz.boundary import boundary_figure
        from netarium.viz.network import network_figure

        estimate(default_config())  # the cost model's first use imports PyTorch's meta kernels and FLOP counter
        run = Run(default_config())
        task = run.task
        surface = decision_surface(run.model, task, loss_name=run.loss.name)
        boundary_figure(surface, task.meta["points_train"], task.y_train, kind=task.kind, n_classes=task.n_classes).to_json()
        weights, maps = network_weights(run.model), neuron_maps(run.model, task, 20, loss_name=run.loss.name)
        network_figure(weights.layer_sizes, weights.weights, maps.columns(), input_names=task.input_names).to_json()
    except Exception:  # noqa: BLE001  (the app reports what fails when a page needs it)
        pass
    return time.perf_counter() - start


def serve(port: int, address: str | None = None) -> int:
    """Run the server until stopped. The repository's pages/ folder is driven by st.navigation in
    app.py; Streamlit would otherwise take it for a legacy pages directory and, when the first
    request of a fresh server is a deep link (/playground?...), run that page without app.py."""
    PagesManager.uses_pages_directory = False
    configure_heap(shared_policy())  # before the server's threads and the first Run (training/heap.py)
    print(f"netarium: warmed up in {warm_up():.1f} s", flush=True)
    sys.argv = ["streamlit", *streamlit_args(port, address)]
    try:
        streamlit_cli.main()
    except SystemExit as e:
        return int(e.code or 0)
    return 0
