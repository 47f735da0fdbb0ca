"""ops.run_failures: row validation, failing-file extraction, idempotent insert."""

from __future__ import annotations

import re

import duckdb
import pytest

from ecom_platform.lib import failure_log


def test_failing_files_are_read_from_ingestion_errors():
    msg = "transactions/2024-01.csv: the file is empty (0 bytes); events/x y.csv.gz: not gzip data"
    assert failure_log.failing_files(msg) == "transactions/2024-01.csv,events/x y.csv.gz"
    assert failure_log.failing_files("Failure: products/p.xlsx: required column missing") == "products/p.xlsx"
    assert failure_log.failing_files("dbt build failed: 2 tests") is None
    assert failure_log.failing_files("see data/landing/events/x.csv: gone") is None  # not a landing-relative path
    assert failure_log.failing_files(None) is None


def test_record_is_idempotent_and_keeps_every_column():
    con = duckdb.connect(":memory:")
    row = {
        "kind": "check_failure",
        "run_id": "r1",
        "job_name": "landing_refresh",
        "failed_at": "2025-01-02 03:04:05",
        "step_key": "raw__events",
        "asset_key": "raw/events",
        "check_name": "no_rejected_files",
        "severity": "ERROR",
        "error_message": "events/bad.csv: the file is empty (0 bytes)",
        "failing_file": "events/bad.csv",
        "trigger": "landing_sensor",
        "run_files": "events/bad.csv,events/ok.csv",
    }
    assert failure_log.record(con, [row, {"kind": "run_failure", "run_id": "r1", "error_message": "boom"}]) == 2
    assert failure_log.record(con, [row]) == 0
    got = con.execute(
        "SELECT kind, step_key, asset_key, check_name, failing_file, CAST(failed_at AS VARCHAR), recorded_at IS NOT NULL "
        "FROM ops.run_failures ORDER BY kind"
    ).fetchall()
    assert got == [
        (
            "check_failure",
            "raw__events",
            "raw/events",
            "no_rejected_files",
            "events/bad.csv",
            "2025-01-02 03:04:05",
            True,
        ),
        ("run_failure", "", "", "", None, None, True),
    ]


@pytest.mark.parametrize(
    "row, message",
    [
        ({"kind": "run_failure"}, "missing 'run_id'"),
        ({"kind": "oops", "run_id": "r"}, "kind 'oops'"),
        ({"kind": "run_failure", "run_id": "r", "colour": "red"}, "unknown column(s) ['colour']"),
    ],
)
def test_bad_rows_are_refused_with_the_problem_named(row, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        failure_log.validate_row(row)
