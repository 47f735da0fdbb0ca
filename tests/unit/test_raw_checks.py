"""The Python checks on raw tables, each with a passing and a failing input."""

from __future__ import annotations

import duckdb
import pytest

from ecom_platform.lib import checks, ingest


@pytest.fixture()
def con():
    c = duckdb.connect()
    ingest.ensure_raw_schema(c)
    c.execute(
        """
        INSERT INTO raw.transactions VALUES
        ('1', 'A', 'a', 1, '2024-01-01 10:00', 1.00, 10, 'UK', 'f.csv', NULL, 'sha1', 1, now(), 'r'),
        ('1', 'B', 'b', 2, '2024-01-01 10:00', 2.00, 10, 'UK', 'f.csv', NULL, 'sha1', 2, now(), 'r')
        """
    )
    yield c
    c.close()


def test_required_not_null(con):
    ok = checks.required_not_null(con, "transactions")
    assert ok.passed
    con.execute(
        "INSERT INTO raw.transactions VALUES ('2', NULL, 'c', 1, '2024-01-02', 1, NULL, 'UK', 'g.csv', NULL, 'sha2', 1, now(), 'r')"
    )
    bad = checks.required_not_null(con, "transactions")
    assert not bad.passed
    assert bad.metadata["null_counts"] == {"stock_code": 1}


def test_unique_lineage_key(con):
    assert checks.unique_lineage_key(con, "transactions").passed
    con.execute("INSERT INTO raw.transactions SELECT * FROM raw.transactions WHERE _row_number = 2")
    bad = checks.unique_lineage_key(con, "transactions")
    assert not bad.passed
    assert bad.metadata["duplicate_keys"] == 1
    assert "loaded twice" in bad.description


def test_unique_lineage_key_of_a_runs_files_sees_their_duplicates_in_older_runs(con):
    # run 's' loads a file whose sha1 rows were already loaded by run 'r': a duplicate key
    con.execute("INSERT INTO raw.transactions SELECT * REPLACE ('s' AS _run_id) FROM raw.transactions LIMIT 1")
    bad = checks.unique_lineage_key(con, "transactions", run_id="s")
    assert not bad.passed and bad.metadata["duplicate_keys"] == 1
    # a run that loaded another file is not told about an old duplicate: that was checked then
    con.execute(
        "INSERT INTO raw.transactions VALUES "
        "('3', 'C', 'c', 1, '2024-01-03 10:00', 1.00, 11, 'UK', 'g.csv', NULL, 'sha3', 1, now(), 't')"
    )
    ok = checks.unique_lineage_key(con, "transactions", run_id="t")
    assert (
        ok.passed
        and ok.description == "raw.transactions: every (file sha256, row number) of the files this run loaded is unique"
    )
    assert not checks.unique_lineage_key(con, "transactions").passed  # the whole table still has it


def test_quarantine_rate(con):
    ok = checks.quarantine_rate(con, "transactions", max_rate=0.5)
    assert ok.passed and ok.metadata["quarantine_rate"] == 0.0
    con.execute(
        "INSERT INTO raw.quarantine VALUES "
        "('transactions', 'f.csv', 'sha1', 3, '{}', 'quantity ''x'' is not a valid integer', 'r', now()),"
        "('transactions', 'f.csv', 'sha1', 4, '{}', 'quantity ''y'' is not a valid integer', 'r', now())"
    )
    bad = checks.quarantine_rate(con, "transactions", max_rate=0.4)
    assert not bad.passed
    assert bad.metadata["quarantine_rate"] == 0.5
    assert bad.metadata["top_reasons"] == {"quantity '…' is not a valid integer": 2}
    assert "ABOVE the 40.00% threshold" in bad.description
