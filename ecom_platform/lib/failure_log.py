"""The failure log ``ops.run_failures``: table, row shape and idempotent insert (no Dagster imports).

One row per failed run step (``kind = 'run_failure'``) or failed asset check
(``kind = 'check_failure'``): run id, job, time, step, asset, check, severity, the error
message, the landing file(s) it names, what started the run and the files the run was
started for. The rows are written by one step in the warehouse's single-writer pool (see
``ecom_platform/defs/automation/failures.py``), never by a sensor directly.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

import duckdb

RUN_FAILURES_TABLE = "ops.run_failures"

RUN_FAILURES_DDL = """
CREATE SCHEMA IF NOT EXISTS ops;
CREATE TABLE IF NOT EXISTS ops.run_failures (
    recorded_at   TIMESTAMP NOT NULL DEFAULT current_timestamp,
    kind          VARCHAR NOT NULL,      -- run_failure | check_failure
    run_id        VARCHAR NOT NULL,
    job_name      VARCHAR,
    failed_at     TIMESTAMP,
    step_key      VARCHAR NOT NULL,      -- '' when no step failed (e.g. the run could not start)
    asset_key     VARCHAR NOT NULL,      -- '' when unknown
    check_name    VARCHAR NOT NULL,      -- '' for a step failure
    severity      VARCHAR,
    error_message VARCHAR,
    failing_file  VARCHAR,               -- landing file(s) named by the error, comma separated
    trigger       VARCHAR,               -- landing_sensor | schedule:<name> | sensor:<name> | manual
    run_files     VARCHAR,               -- the landing files the run was started for
    PRIMARY KEY (run_id, kind, step_key, asset_key, check_name)
);
"""

COLUMNS = (
    "kind",
    "run_id",
    "job_name",
    "failed_at",
    "step_key",
    "asset_key",
    "check_name",
    "severity",
    "error_message",
    "failing_file",
    "trigger",
    "run_files",
)
KINDS = ("run_failure", "check_failure")
_REQUIRED = ("kind", "run_id")

# Ingestion errors start with the landing path: 'transactions/2024-01.csv: the file is empty'
# (Dagster may prefix the message with the exception type: 'Failure: transactions/...').
_FILE_RE = re.compile(r"(?<![\w/.-])((?:transactions|events|customers|products)/[^:;\n]+?):\s")


def failing_files(message: str | None) -> str | None:
    """Landing paths named at the start of an ingestion error (comma separated), or None."""
    if not message:
        return None
    found = _FILE_RE.findall(message)
    return ",".join(dict.fromkeys(found)) or None


def validate_row(row: Mapping) -> dict:
    """The row with every column (missing ones None / ''), or ValueError naming the problem."""
    unknown = set(row) - set(COLUMNS)
    if unknown:
        raise ValueError(f"failure row has unknown column(s) {sorted(unknown)}: {dict(row)}")
    for col in _REQUIRED:
        if not row.get(col):
            raise ValueError(f"failure row is missing {col!r}: {dict(row)}")
    if row["kind"] not in KINDS:
        raise ValueError(f"failure row kind {row['kind']!r} is not one of {KINDS}")
    out = {c: row.get(c) for c in COLUMNS}
    for key_col in ("step_key", "asset_key", "check_name"):
        out[key_col] = out[key_col] or ""
    return out


def record(con: duckdb.DuckDBPyConnection, rows: Iterable[Mapping]) -> int:
    """Insert rows into ``ops.run_failures`` (a row already there is kept). Returns rows added."""
    checked = [validate_row(r) for r in rows]
    con.execute(RUN_FAILURES_DDL)
    before = con.execute(f"SELECT count(*) FROM {RUN_FAILURES_TABLE}").fetchone()[0]
    placeholders = ", ".join("?" * len(COLUMNS))
    for row in checked:
        con.execute(
            f"INSERT OR IGNORE INTO {RUN_FAILURES_TABLE} ({', '.join(COLUMNS)}) VALUES ({placeholders})",
            [row[c] for c in COLUMNS],
        )
    return con.execute(f"SELECT count(*) FROM {RUN_FAILURES_TABLE}").fetchone()[0] - before
