"""Serve the app: `streamlit run app.py` in this process, with Netarium's server options."""

from __future__ import annotations

import sys
from pathlib import Path

from streamlit.runtime.pages_manager import PagesManager
from streamlit.web import cli as streamlit_cli

APP = Path(__file__).resolve().parents[1] / "app.py"


def streamlit_args(port: int, address: str | None = None) -> list[str]:
    """Headless, no file watcher, and no gc.collect(2) after every script run (it held the GIL for
    two thirds of each tick and starved the training thread). The options of the repository's
    .streamlit/config.toml, given here so that an installed `netarium app` runs the same from any folder."""
    args = ["run", str(APP), "--server.headless", "true", "--server.port", str(port), "--server.fileWatcherType", "none",
            "--runner.postScriptGC", "false", "--browser.gatherUsageStats", "false", "--client.toolbarMode", "minimal"]
    return args + (["--server.address", address] if address else [])


def serve(port: int, address: str | None = None) -> int:
    """Run the server until stopped. The repository's pages/ folder is driven by st.navigation in
    app.py; Streamlit would otherwise take it for a legacy pages directory and, when the first
    request of a fresh server is a deep link (/playground?...), run that page without app.py."""
    PagesManager.uses_pages_directory = False
    sys.argv = ["streamlit", *streamlit_args(port, address)]
    try:
        streamlit_cli.main()
    except SystemExit as e:
        return int(e.code or 0)
    return 0
