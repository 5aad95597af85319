"""The run store: runs, metric history and checkpoints in one embedded SQLite file.

Layout under the store's home folder (``$NETARIUM_HOME`` or ``./runs``)::

    netarium.db                                   runs, history, checkpoint index (WAL mode)
    checkpoints/run-<id>/step-<step>.safetensors  tensors only; nothing is ever unpickled
    uploads/<sha256>.csv                          uploaded CSV files, validated, named by their hash

Every write is one transaction (``synchronous=FULL``), so a process killed at any point leaves
every committed run intact and the store passing ``PRAGMA integrity_check``. Checkpoint files are
written to a temporary file in the same folder, fsynced and moved into place with ``os.replace``,
then indexed; a crash leaves at worst an unindexed file, never a torn one. A streamed save
(``create_run(stream=True)``, runs_io.RunWriter) records its writer (pid@host) and a heartbeat;
should the writer die, the run reads back as 'interrupted' with everything up to its last flush. Uploads are written
the same way; the csv task (tasks/csv.py, which owns the folder rule) reads them back by id.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import socket
import sqlite3
import tempfile
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from netarium.tasks.csv import check_upload, store_home, upload_file, upload_id

__all__ = ["STATUSES", "CheckpointError", "MemberRecord", "RunRecord", "RunStore", "SweepRecord", "default_store_path", "save_upload"]

DB_NAME = "netarium.db"
STATUSES = ("running", "done", "paused", "diverged", "failed", "stopped")
# "interrupted" is never written: a run stored as running whose writer is gone reads back so (run_status)
READ_STATUSES = (*STATUSES, "interrupted")
BUSY_TIMEOUT_MS = 10_000
STALE_AFTER_S = 60.0  # a running run written from another host whose heartbeat is older reads back as interrupted

# Migrations, applied in order; PRAGMA user_version records how many have run.
_MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE runs (
        id          INTEGER PRIMARY KEY,
        created     REAL NOT NULL,
        updated     REAL NOT NULL,
        name        TEXT NOT NULL DEFAULT '',
        experiment  TEXT,
        status      TEXT NOT NULL DEFAULT 'running'
                    CHECK (status IN ('running','done','paused','diverged','failed','stopped')),
        steps       INTEGER NOT NULL DEFAULT 0,
        seconds     REAL DEFAULT 0,
        config_json TEXT NOT NULL,
        final_json  TEXT NOT NULL DEFAULT '{}',
        check_json  TEXT,
        notes       TEXT NOT NULL DEFAULT '',
        reason      TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX runs_experiment ON runs (experiment, created);
    CREATE INDEX runs_created ON runs (created);
    CREATE TABLE history (
        run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        metric TEXT NOT NULL,
        step   INTEGER NOT NULL,
        value  REAL,
        PRIMARY KEY (run_id, metric, step)
    ) WITHOUT ROWID;
    CREATE TABLE checkpoints (
        run_id  INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        step    INTEGER NOT NULL,
        path    TEXT NOT NULL,
        created REAL NOT NULL,
        PRIMARY KEY (run_id, step)
    );
    """,
    # 2: sweeps; a sweep's members are runs that name it (kept out of the plain run list)
    """
    CREATE TABLE sweeps (
        id         INTEGER PRIMARY KEY,
        created    REAL NOT NULL,
        updated    REAL NOT NULL,
        name       TEXT NOT NULL DEFAULT '',
        seconds    REAL DEFAULT 0,
        size       INTEGER NOT NULL DEFAULT 0,
        sweep_json TEXT NOT NULL,
        notes      TEXT NOT NULL DEFAULT ''
    );
    ALTER TABLE runs ADD COLUMN sweep_id INTEGER REFERENCES sweeps (id) ON DELETE CASCADE;
    ALTER TABLE runs ADD COLUMN member INTEGER;
    ALTER TABLE runs ADD COLUMN point_json TEXT;
    CREATE INDEX runs_sweep ON runs (sweep_id, member);
    """,
    # 3: a streamed save's writer ("pid@host") and its last heartbeat (see run_status)
    """
    ALTER TABLE runs ADD COLUMN writer TEXT;
    ALTER TABLE runs ADD COLUMN heartbeat REAL;
    """,
)
SCHEMA_VERSION = len(_MIGRATIONS)


class CheckpointError(ValueError):
    """A checkpoint that cannot be read back (missing, damaged, NaN) or does not fit its model; the
    message is one sentence for the page or the terminal."""


def _short(error: BaseException, limit: int = 120) -> str:
    """An error's text on one line, escaped and cut (a damaged file's header may hold any bytes)."""
    text = " ".join(str(error).split()).encode("unicode_escape").decode("ascii")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def default_store_path() -> Path:
    """The default database file: ``$NETARIUM_HOME/netarium.db``, else ``./runs/netarium.db``."""
    return store_home() / DB_NAME


def _dumps(obj: Any) -> str:
    """JSON text that keeps NaN/inf (written as NaN/Infinity, which ``json.loads`` reads back)."""
    return json.dumps(obj, allow_nan=True)


def _loads(text: str | None) -> Any:
    """Inverse of :func:`_dumps`; ``None`` stays ``None``."""
    return None if text is None else json.loads(text)


def _real(value: float | None) -> float:
    """A REAL read back from SQLite, which stores NaN as NULL: NULL becomes NaN again."""
    return math.nan if value is None else float(value)


def writer_id() -> str:
    """This process as a run's writer: "pid@host"."""
    return f"{os.getpid()}@{socket.gethostname()}"


def _pid_alive(pid: int) -> bool:
    """Whether a process with this id exists on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def writer_gone(writer: str | None, heartbeat: float | None, now: float | None = None,
                stale_after: float = STALE_AFTER_S) -> bool:
    """True when a streamed save's writer can no longer write: on this host, its process is not alive
    (a paused app session beats no more but lives on); on another host, its last heartbeat is older than
    `stale_after` seconds. A run without a writer (saved in one go) is never gone."""
    if not writer:
        return False
    pid, _, host = writer.partition("@")
    if host == socket.gethostname() and pid.isdigit():
        return not _pid_alive(int(pid))
    now = time.time() if now is None else now
    return heartbeat is None or now - heartbeat > stale_after


def run_status(status: str, writer: str | None, heartbeat: float | None, now: float | None = None) -> str:
    """The status a run reads back with: a stored "running" whose writer is gone is "interrupted"."""
    return "interrupted" if status == "running" and writer_gone(writer, heartbeat, now) else status


def _fsync_dir(folder: Path) -> None:
    """Flush a directory entry (a rename) to disk where the platform allows it."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def save_upload(data: bytes, home: Path | None = None) -> str:
    """Validate uploaded CSV bytes and keep them as ``<home>/uploads/<sha256>.csv``; return that id.

    `home` defaults to the store's home folder. The name comes from the bytes alone, so nothing a
    browser sends names a file; the same bytes uploaded twice are kept once. Raises CSVError (the
    message names the row and column) when the bytes are too many or not a CSV task.
    """
    check_upload(data)
    key = upload_id(data)
    final = upload_file(key, home)
    if final.is_file() and upload_id(final.read_bytes()) == key:
        return key
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=final.parent, prefix=f".{final.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(final.parent)
    return key


@dataclass(frozen=True)
class RunRecord:
    """One stored run as read back from the store."""

    id: int
    created: float
    updated: float
    name: str
    experiment: str | None
    status: str
    steps: int
    seconds: float
    config: dict[str, Any]
    final: dict[str, float]
    check: dict[str, Any] | None
    notes: str
    reason: str
    writer: str | None = None  # "pid@host" of a streamed save (create_run with stream=True)
    heartbeat: float | None = None  # when that writer last said it was alive


@dataclass(frozen=True)
class SweepRecord:
    """One stored sweep: its definition (Sweep JSON as a dict) and how many members it has."""

    id: int
    created: float
    name: str
    seconds: float
    size: int
    sweep: dict[str, Any]
    notes: str


@dataclass(frozen=True)
class MemberRecord:
    """A stored sweep member: its run (config, status, final numbers), index and point."""

    member: int
    point: dict[str, Any]
    run: RunRecord


_RUN_COLUMNS = (
    "id, created, updated, name, experiment, status, steps, seconds, "
    "config_json, final_json, check_json, notes, reason, writer, heartbeat"
)


def _record(row: tuple[Any, ...]) -> RunRecord:
    """Build a RunRecord from a row selected with ``_RUN_COLUMNS`` (status as run_status reads it)."""
    (rid, created, updated, name, experiment, status, steps, seconds, config, final, check, notes, reason,
     writer, heartbeat) = row[:15]
    return RunRecord(
        id=int(rid),
        created=float(created),
        updated=float(updated),
        name=name,
        experiment=experiment,
        status=run_status(status, writer, heartbeat),
        steps=int(steps),
        seconds=_real(seconds),
        config=_loads(config),
        final=_loads(final) or {},
        check=_loads(check),
        notes=notes,
        reason=reason,
        writer=writer,
        heartbeat=None if heartbeat is None else float(heartbeat),
    )


class RunStore:
    """Runs, metric history and safetensors checkpoints in an embedded SQLite database.

    One store may be shared by a worker thread and the UI thread: the connection is opened with
    ``check_same_thread=False`` and every call holds an internal lock. Other processes (or other
    RunStore objects) may open the same file at the same time; WAL lets readers run beside a writer.
    """

    def __init__(self, path: str | Path | None = None) -> None:
        """Open (creating if needed) the store at ``path`` or :func:`default_store_path`."""
        self.path = Path(path) if path is not None else default_store_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.home = self.path.parent
        self.checkpoint_root = self.home / "checkpoints"
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(
            self.path, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False, isolation_level="DEFERRED"
        )
        self._closed = False
        with self._lock:
            self._conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute("PRAGMA synchronous = FULL")
            self._conn.execute("PRAGMA foreign_keys = ON")
            self._migrate()

    # ---- lifecycle -------------------------------------------------------------------------

    def _migrate(self) -> None:
        """Bring the schema up to SCHEMA_VERSION, one migration per transaction."""
        version = self._conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise RuntimeError(
                f"the run store (under NETARIUM_HOME) has schema version {version}, newer than this netarium ({SCHEMA_VERSION})"
            )
        for index in range(version, SCHEMA_VERSION):
            # executescript would commit on its own; run statements inside one explicit transaction.
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                # Another process may have migrated while we waited for the write lock.
                current = self._conn.execute("PRAGMA user_version").fetchone()[0]
                if current > index:
                    self._conn.execute("COMMIT")
                    continue
                for statement in _MIGRATIONS[index].split(";"):
                    if statement.strip():
                        self._conn.execute(statement)
                self._conn.execute(f"PRAGMA user_version = {index + 1}")
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise

    @property
    def schema_version(self) -> int:
        """The schema version recorded in the database file."""
        with self._lock:
            return int(self._conn.execute("PRAGMA user_version").fetchone()[0])

    def close(self) -> None:
        """Close the connection; further calls raise ``sqlite3.ProgrammingError``."""
        with self._lock:
            if not self._closed:
                self._conn.close()
                self._closed = True

    def __enter__(self) -> RunStore:
        """Use the store as a context manager that closes it on exit."""
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Close the store."""
        self.close()

    def integrity_ok(self) -> bool:
        """True when ``PRAGMA integrity_check`` reports exactly 'ok'."""
        with self._lock:
            rows = self._conn.execute("PRAGMA integrity_check").fetchall()
        return [r[0] for r in rows] == ["ok"]

    # ---- writes ----------------------------------------------------------------------------

    def create_run(self, config: dict[str, Any], experiment: str | None = None, name: str = "",
                   stream: bool = False) -> int:
        """Record a new run with status 'running' and return its id. With `stream`, this process is
        recorded as its writer (pid, host, heartbeat): should it die before finishing the run, the run
        reads back as 'interrupted' (run_status); keep it alive with :meth:`beat`."""
        now = time.time()
        writer = writer_id() if stream else None
        with self._lock, self._conn:
            cur = self._conn.execute(
                "INSERT INTO runs (created, updated, name, experiment, status, config_json, writer, heartbeat) "
                "VALUES (?, ?, ?, ?, 'running', ?, ?, ?)",
                (now, now, name, experiment, _dumps(config), writer, now if stream else None),
            )
            return int(cur.lastrowid)  # type: ignore[arg-type]

    def beat(self, run_id: int, steps: int | None = None, seconds: float | None = None) -> None:
        """A streamed run's writer is alive (heartbeat now), at `steps` after `seconds` when given."""
        now = time.time()
        self._write_run(
            "UPDATE runs SET heartbeat = ?, updated = ?, steps = COALESCE(?, steps), seconds = COALESCE(?, seconds) "
            "WHERE id = ?", (now, now, None if steps is None else int(steps), None if seconds is None else float(seconds),
                             run_id), run_id)

    def replace_history(self, run_id: int, points: Iterable[tuple[str, int, float]]) -> None:
        """Make (metric, step, value) points the run's whole history, in one transaction."""
        rows = [(run_id, str(metric), int(step), float(value)) for metric, step, value in points]
        with self._lock, self._conn:
            self._conn.execute("DELETE FROM history WHERE run_id = ?", (run_id,))
            self._conn.executemany(
                "INSERT INTO history (run_id, metric, step, value) VALUES (?, ?, ?, ?)", rows
            )
            self._conn.execute("UPDATE runs SET updated = ? WHERE id = ?", (time.time(), run_id))

    def append_history(self, run_id: int, points: Iterable[tuple[str, int, float]]) -> None:
        """Add (metric, step, value) points in one transaction; a repeated (metric, step) is replaced."""
        rows = [(run_id, str(metric), int(step), float(value)) for metric, step, value in points]
        if not rows:
            return
        with self._lock, self._conn:
            self._conn.executemany(
                "INSERT OR REPLACE INTO history (run_id, metric, step, value) VALUES (?, ?, ?, ?)", rows
            )
            self._conn.execute("UPDATE runs SET updated = ? WHERE id = ?", (time.time(), run_id))

    def update_run(
        self,
        run_id: int,
        *,
        status: str | None = None,
        steps: int | None = None,
        seconds: float | None = None,
        final: dict[str, float] | None = None,
        check: dict[str, Any] | None = None,
        reason: str | None = None,
    ) -> None:
        """Set the given fields of a run (the others stay as they are) and bump ``updated``."""
        fields: dict[str, Any] = {}
        if status is not None:
            if status not in STATUSES:
                raise ValueError(f"status must be one of {STATUSES}, got {status!r}")
            fields["status"] = status
        if steps is not None:
            fields["steps"] = int(steps)
        if seconds is not None:
            fields["seconds"] = float(seconds)
        if final is not None:
            fields["final_json"] = _dumps(final)
        if check is not None:
            fields["check_json"] = _dumps(check)
        if reason is not None:
            fields["reason"] = reason
        fields["updated"] = time.time()
        assignments = ", ".join(f"{column} = ?" for column in fields)
        self._write_run(f"UPDATE runs SET {assignments} WHERE id = ?", (*fields.values(), run_id), run_id)

    def finish(
        self,
        run_id: int,
        final: dict[str, float],
        steps: int,
        seconds: float,
        status: str = "done",
        check: dict[str, Any] | None = None,
        reason: str = "",
    ) -> None:
        """Record a run's end: final numbers, steps, wall seconds, status, check result and reason."""
        self.update_run(
            run_id, status=status, steps=steps, seconds=seconds, final=final, check=check, reason=reason
        )

    def set_notes(self, run_id: int, text: str) -> None:
        """Replace a run's free-text notes."""
        self._write_run(
            "UPDATE runs SET notes = ?, updated = ? WHERE id = ?", (text, time.time(), run_id), run_id
        )

    def rename(self, run_id: int, name: str) -> None:
        """Replace a run's display name."""
        self._write_run(
            "UPDATE runs SET name = ?, updated = ? WHERE id = ?", (name, time.time(), run_id), run_id
        )

    def delete_run(self, run_id: int) -> None:
        """Delete a run, its history and checkpoint index (one transaction), then its checkpoint files."""
        with self._lock, self._conn:
            self._conn.execute("DELETE FROM runs WHERE id = ?", (run_id,))
        shutil.rmtree(self._run_dir(run_id), ignore_errors=True)

    def _write_run(self, sql: str, params: tuple[Any, ...], run_id: int) -> None:
        """Run one UPDATE of a run in its own transaction; KeyError when the run does not exist."""
        with self._lock, self._conn:
            cur = self._conn.execute(sql, params)
            if cur.rowcount == 0:
                raise KeyError(f"no run with id {run_id} in the run store")

    # ---- checkpoints -----------------------------------------------------------------------

    def _run_dir(self, run_id: int) -> Path:
        """The folder holding one run's checkpoint files."""
        return self.checkpoint_root / f"run-{int(run_id)}"

    def save_checkpoint(
        self,
        run_id: int,
        tensors: dict[str, torch.Tensor],
        step: int,
        metadata: dict[str, str] | None = None,
        replace: bool = False,
    ) -> Path:
        """Write tensors atomically to ``checkpoints/run-<id>/step-<step>.safetensors``; return the path.
        With `replace`, the run's other checkpoints are dropped once this one is indexed (a streamed
        save keeps only its latest)."""
        with self._lock:
            exists = self._conn.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone()
        if exists is None:
            raise KeyError(f"no run with id {run_id} in the run store")
        cpu = {str(k): v.detach().to("cpu").contiguous() for k, v in tensors.items()}
        folder = self._run_dir(run_id)
        folder.mkdir(parents=True, exist_ok=True)
        final = folder / f"step-{int(step)}.safetensors"
        fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=f".{final.name}.", suffix=".tmp")
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            save_file(cpu, str(tmp), metadata={str(k): str(v) for k, v in (metadata or {}).items()})
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, final)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        _fsync_dir(folder)
        relative = final.relative_to(self.home).as_posix()
        with self._lock, self._conn:
            self._conn.execute(
                "INSERT OR REPLACE INTO checkpoints (run_id, step, path, created) VALUES (?, ?, ?, ?)",
                (run_id, int(step), relative, time.time()),
            )
            self._conn.execute("UPDATE runs SET updated = ? WHERE id = ?", (time.time(), run_id))
            old = []
            if replace:
                old = self._conn.execute(
                    "SELECT path FROM checkpoints WHERE run_id = ? AND step != ?", (run_id, int(step))).fetchall()
                self._conn.execute("DELETE FROM checkpoints WHERE run_id = ? AND step != ?", (run_id, int(step)))
        for (path,) in old:
            (self.home / path).unlink(missing_ok=True)
        return final

    def checkpoints(self, run_id: int) -> list[tuple[int, Path]]:
        """A run's indexed checkpoints as (step, absolute path), oldest step first."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT step, path FROM checkpoints WHERE run_id = ? ORDER BY step", (run_id,)
            ).fetchall()
        return [(int(step), self.home / path) for step, path in rows]

    def load_checkpoint(self, run_id: int, step: int | None = None) -> dict[str, torch.Tensor]:
        """Load a run's checkpoint at ``step`` (the latest when None) as CPU tensors; never unpickles.
        KeyError when there is none; CheckpointError when its file is missing or damaged or holds
        NaN or infinity (reading never writes to the store)."""
        available = self.checkpoints(run_id)
        if not available:
            raise KeyError(f"run {run_id} has no checkpoints in the run store")
        if step is None:
            step, path = available[-1]
        else:
            matches = [p for s, p in available if s == int(step)]
            if not matches:
                steps = [s for s, _ in available]
                raise KeyError(f"run {run_id} has no checkpoint at step {step}; steps saved: {steps}")
            path = matches[0]
        which = f"run {run_id}'s checkpoint at step {step}"
        try:
            tensors = load_file(str(path), device="cpu")
        except FileNotFoundError:
            raise CheckpointError(f"{which} is missing: its file is no longer in the store") from None
        except (SafetensorError, OSError) as e:
            raise CheckpointError(f"{which} cannot be read, its file is damaged ({_short(e)})") from None
        for name, tensor in tensors.items():
            if tensor.is_floating_point() and not bool(torch.isfinite(tensor.float()).all()):
                shown = _short(ValueError(name), 60)
                raise CheckpointError(f"{which} holds NaN or infinite values (in {shown}); it cannot be used")
        return tensors

    # ---- reads -----------------------------------------------------------------------------

    def get_run(self, run_id: int) -> RunRecord:
        """One run by id; KeyError when there is none."""
        with self._lock:
            row = self._conn.execute(f"SELECT {_RUN_COLUMNS} FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise KeyError(f"no run with id {run_id} in the run store")
        return _record(row)

    def list_runs(self, experiment: str | None = None, limit: int = 200) -> list[RunRecord]:
        """Runs newest first (sweep members not among them), only those of ``experiment`` when given,
        at most ``limit``."""
        where, params = ("AND experiment = ?", (experiment,)) if experiment is not None else ("", ())
        with self._lock:
            rows = self._conn.execute(
                f"SELECT {_RUN_COLUMNS} FROM runs WHERE sweep_id IS NULL {where} ORDER BY created DESC, id DESC LIMIT ?",
                (*params, int(limit)),
            ).fetchall()
        return [_record(row) for row in rows]

    # ---- sweeps ----------------------------------------------------------------------------

    def save_sweep(self, sweep: dict[str, Any], members: Iterable[dict[str, Any]], name: str = "",
                   seconds: float = 0.0) -> int:
        """Store a sweep and its members in one transaction; return the sweep's id. A member is
        {"index", "point", "config", "state", "reason", "step", "final", "history": {metric: [[step, value]]}}."""
        now = time.time()
        members = list(members)
        with self._lock, self._conn:
            sweep_id = int(self._conn.execute(
                "INSERT INTO sweeps (created, updated, name, seconds, size, sweep_json) VALUES (?, ?, ?, ?, ?, ?)",
                (now, now, name, float(seconds), len(members), _dumps(sweep)),
            ).lastrowid)  # type: ignore[arg-type]
            for m in members:
                status = m["state"] if m["state"] in STATUSES else "done"
                run_id = int(self._conn.execute(
                    "INSERT INTO runs (created, updated, name, status, steps, config_json, final_json, reason, "
                    "sweep_id, member, point_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (now, now, f"{name} #{m['index']}" if name else "", status, int(m.get("step", 0)),
                     _dumps(m["config"]), _dumps(m.get("final", {})), m.get("reason", ""), sweep_id,
                     int(m["index"]), _dumps(m.get("point", {}))),
                ).lastrowid)  # type: ignore[arg-type]
                rows = [(run_id, metric, int(step), None if value is None else float(value))
                        for metric, points in m.get("history", {}).items() for step, value in points]
                self._conn.executemany("INSERT OR REPLACE INTO history (run_id, metric, step, value) VALUES (?, ?, ?, ?)", rows)
        return sweep_id

    def list_sweeps(self, limit: int = 200) -> list[SweepRecord]:
        """Sweeps newest first, at most ``limit``."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT id, created, name, seconds, size, sweep_json, notes FROM sweeps ORDER BY created DESC, id DESC LIMIT ?",
                (int(limit),)).fetchall()
        return [SweepRecord(int(i), float(c), n, _real(s), int(k), _loads(j), notes) for i, c, n, s, k, j, notes in rows]

    def get_sweep(self, sweep_id: int) -> tuple[SweepRecord, list[MemberRecord]]:
        """A sweep and its members in member order; KeyError when there is none."""
        with self._lock:
            row = self._conn.execute(
                "SELECT id, created, name, seconds, size, sweep_json, notes FROM sweeps WHERE id = ?", (sweep_id,)).fetchone()
            if row is None:
                raise KeyError(f"no sweep with id {sweep_id} in the run store")
            runs = self._conn.execute(
                f"SELECT {_RUN_COLUMNS}, member, point_json FROM runs WHERE sweep_id = ? ORDER BY member",
                (sweep_id,)).fetchall()
        i, c, n, s, k, j, notes = row
        record = SweepRecord(int(i), float(c), n, _real(s), int(k), _loads(j), notes)
        return record, [MemberRecord(int(r[-2]), _loads(r[-1]) or {}, _record(r[:-2])) for r in runs]

    def delete_sweep(self, sweep_id: int) -> None:
        """Delete a sweep with its member runs and their history."""
        with self._lock, self._conn:
            cur = self._conn.execute("DELETE FROM sweeps WHERE id = ?", (sweep_id,))
            if cur.rowcount == 0:
                raise KeyError(f"no sweep with id {sweep_id} in the run store")

    def history(self, run_id: int) -> dict[str, list[tuple[int, float]]]:
        """A run's metric history: metric -> [(step, value)] sorted by step (NaN survives)."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT metric, step, value FROM history WHERE run_id = ? ORDER BY metric, step", (run_id,)
            ).fetchall()
        out: dict[str, list[tuple[int, float]]] = {}
        for metric, step, value in rows:
            out.setdefault(metric, []).append((int(step), _real(value)))
        return out
