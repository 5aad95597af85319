"""The sidebar's CSV uploader: the only way a browser gives the csv task its data.

The bytes are checked on the server (size, UTF-8, numbers; tasks/csv.py) and kept in the run store
under their sha256 (training/store.py `save_upload`); the task then names them by that id. Nothing
the browser sends, not even the file's name, is used as a path.
"""

from __future__ import annotations

import math
import re
from typing import Any

import streamlit as st

from netarium.schema import Params
from netarium.tasks.csv import MAX_UPLOAD_BYTES, CSVError
from netarium.training.store import save_upload

UPLOADS = "netarium.uploads"  # session_state: widget key -> (file id, upload id or None, error or None)


def literal(text: str) -> str:
    """`text` as a Markdown code span, so that st.error shows it as typed (no links, emphasis, emoji)."""
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    return f"{fence} {text} {fence}"


def csv_upload(task: Params, *, key: str, container: Any = None) -> Params:
    """For the csv task, a file uploader; other tasks come back unchanged.

    A new valid file (or any valid file while the task has none) is stored and set as the task's
    `upload` (its `path` cleared); an invalid one shows why under the uploader and `task` comes back
    as it was, so nothing is lost.
    """
    if task.name != "csv":
        return task
    container = st if container is None else container
    file = container.file_uploader(
        "CSV file", type=["csv"], key=key, max_upload_size=math.ceil(MAX_UPLOAD_BYTES / 2**20),
        help=f"Numeric columns, the last one the label, an optional header row; at most {MAX_UPLOAD_BYTES // 2**20} MB.",
    )
    if file is None:
        if not task.upload and not task.path:
            container.info("Upload a CSV file to train on it.")
        return task
    done = st.session_state.setdefault(UPLOADS, {})
    fresh = done.get(key, (None,))[0] != file.file_id
    if fresh:
        try:
            done[key] = (file.file_id, save_upload(file.getvalue()), None)
        except CSVError as e:
            done[key] = (file.file_id, None, str(e))
        except OSError as e:  # the store's folder cannot be written: a sentence, never a traceback (nor a server path)
            done[key] = (file.file_id, None, f"the file could not be kept on the server ({e.strerror or type(e).__name__})")
    _, upload, error = done[key]
    if error is not None:
        container.error(f"Not used, the previous data stays: {literal(error)}")
        return task
    if fresh or not (task.upload or task.path):
        return type(task).model_validate({**task.model_dump(), "upload": upload, "path": ""})
    return task
