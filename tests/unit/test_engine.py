"""The Spark engine's moving parts that need no Spark: the raw Parquet folders and reading Spark's tables back."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from ecom_platform import config
from ecom_platform.lib import ingest
from ecom_platform.lib.engine import raw_parquet, spark_tables


def _raw(con, rows: list[tuple[str, str, str]]) -> None:
    """raw.transactions lines (invoice, source file, sha) through the real DDL."""
    ingest.ensure_raw_schema(con)
    for i, (invoice, name, sha) in enumerate(rows):
        con.execute(
            "INSERT INTO raw.transactions (invoice, stock_code, quantity, invoice_date, price, country, "
            "_source_file, _file_sha256, _row_number) VALUES (?, 'A1', 1, TIMESTAMP '2024-01-02 10:00', 1.5, 'UK', ?, ?, ?)",
            [invoice, name, sha, i + 1],
        )


def _parquet_rows(folder: Path) -> list[tuple]:
    return duckdb.sql(f"SELECT invoice, _source_file FROM read_parquet('{folder}/*.parquet') ORDER BY ALL").fetchall()


def test_one_parquet_file_per_landing_file_and_a_second_sync_writes_nothing(tmp_path):
    con = duckdb.connect()
    _raw(
        con,
        [
            ("1", "transactions/a.csv", "a" * 64),
            ("2", "transactions/a.csv", "a" * 64),
            ("3", "transactions/b.csv", "b" * 64),
        ],
    )
    first = raw_parquet.sync(con, tmp_path)
    assert first.files["transactions"] == 2 and first.written["transactions"] == 2
    assert len(list((tmp_path / "transactions").glob("*.parquet"))) == 2
    assert _parquet_rows(tmp_path / "transactions") == [
        ("1", "transactions/a.csv"),
        ("2", "transactions/a.csv"),
        ("3", "transactions/b.csv"),
    ]
    # a source without rows: one file with its columns and no rows, so Spark knows them
    events = list((tmp_path / "events").glob("*.parquet"))
    assert [p.name for p in events] == [raw_parquet.EMPTY]
    assert duckdb.sql(f"SELECT count(*) FROM '{events[0]}'").fetchall() == [(0,)]
    assert "event_time" in [c for c, *_ in duckdb.sql(f"DESCRIBE SELECT * FROM '{events[0]}'").fetchall()]
    # the ledger tables, rewritten whole
    assert (tmp_path / "ingest_log" / "data.parquet").exists()
    second = raw_parquet.sync(con, tmp_path)
    assert second.written == {name: 0 for name in second.written}
    assert second.removed == {name: 0 for name in second.removed}


def test_a_replaced_file_swaps_its_parquet_and_a_killed_write_is_cleaned_up(tmp_path):
    con = duckdb.connect()
    _raw(con, [("1", "transactions/a.csv", "a" * 64)])
    raw_parquet.sync(con, tmp_path)
    old = {p.name for p in (tmp_path / "transactions").glob("*.parquet")}
    # a corrected a.csv replaced its rows (ingestion deletes the old version's rows)
    con.execute("DELETE FROM raw.transactions")
    _raw(con, [("9", "transactions/a.csv", "c" * 64)])
    (tmp_path / "transactions" / ".half-written.parquet.tmp").write_bytes(b"PAR")  # kill -9 mid-copy
    result = raw_parquet.sync(con, tmp_path)
    assert (result.written["transactions"], result.removed["transactions"]) == (1, 1)
    assert not old & {p.name for p in (tmp_path / "transactions").glob("*.parquet")}
    assert _parquet_rows(tmp_path / "transactions") == [("9", "transactions/a.csv")]
    assert not list((tmp_path / "transactions").glob(".*"))


def _spark_like_table(root: Path, schema: str, name: str, partitioned_days: list[str] | None) -> None:
    """Files laid out as Spark writes a table (``part-*.parquet``, ``day=...`` folders)."""
    folder = spark_tables.table_folder(root, schema, name)
    folder.mkdir(parents=True)
    (folder / "_SUCCESS").touch()
    if partitioned_days is None:
        duckdb.sql("SELECT 1 AS k, 2.50::DECIMAL(18,2) AS amount").write_parquet(str(folder / "part-00000.parquet"))
        return
    for i, day in enumerate(partitioned_days):
        (folder / f"day={day}").mkdir()
        duckdb.sql(f"SELECT {i} AS k, 1.25::DECIMAL(18,2) AS amount").write_parquet(
            str(folder / f"day={day}" / "part-00000.parquet")
        )
    columns = spark_tables.schema_folder(root, schema, name)
    columns.mkdir(parents=True)
    # what spark_schema_file writes: Spark's columns, partition column last, no rows
    duckdb.sql("SELECT 1 AS k, 1.25::DECIMAL(18,2) AS amount, DATE '2024-01-01' AS day LIMIT 0").write_parquet(
        str(columns / "part-00000.parquet")
    )


def test_spark_tables_come_back_with_types_order_and_descriptions(tmp_path):
    _spark_like_table(tmp_path, "marts", "plain", None)
    _spark_like_table(tmp_path, "marts", "by_day", ["2024-01-01", "2024-01-02"])
    _spark_like_table(tmp_path, "marts", "empty_by_day", [])
    described = {
        ("marts", "by_day"): spark_tables.Described("Daily rows.", {"day": "The day.", "k": "A key.", "amount": "£."}),
        ("marts", "plain"): spark_tables.Described("One row.", {"amount": "Money."}),
    }
    con = duckdb.connect()
    rows = spark_tables.pull(
        con, tmp_path, [("marts", "plain"), ("marts", "by_day"), ("marts", "empty_by_day")], described
    )
    assert rows == {("marts", "plain"): 1, ("marts", "by_day"): 2, ("marts", "empty_by_day"): 0}
    # the documented column order (the partition column is not moved last), Spark's types
    assert con.sql("DESCRIBE marts.by_day").fetchall()[0][:2] == ("day", "DATE")
    assert [c for c, *_ in con.sql("DESCRIBE marts.by_day").fetchall()] == ["day", "k", "amount"]
    assert con.sql("SELECT day, k, amount FROM marts.by_day ORDER BY k").fetchall()[1][2] == pytest.approx(1.25)
    assert [c for c, *_ in con.sql("DESCRIBE marts.empty_by_day").fetchall()] == ["k", "amount", "day"]
    assert con.execute(
        "SELECT comment FROM duckdb_columns() WHERE table_name = 'plain' AND column_name = 'amount'"
    ).fetchall() == [("Money.",)]
    assert con.execute("SELECT comment FROM duckdb_tables() WHERE table_name = 'by_day'").fetchall() == [
        ("Daily rows.",)
    ]


def test_a_table_spark_did_not_write_fails_the_pull_and_keeps_the_old_copy(tmp_path):
    con = duckdb.connect()
    con.execute("CREATE SCHEMA marts; CREATE TABLE marts.plain AS SELECT 42 AS k")
    _spark_like_table(tmp_path, "marts", "plain", None)
    with pytest.raises(
        spark_tables.SparkTableMissing, match=r"marts\.gone: dbt built it on Spark, but .* does not exist"
    ):
        spark_tables.pull(con, tmp_path, [("marts", "plain"), ("marts", "gone")])
    # one transaction: the table already replaced in this pull is rolled back too
    assert con.sql("SELECT k FROM marts.plain").fetchall() == [(42,)]


def test_the_engine_comes_from_ecom_engine(monkeypatch, tmp_path):
    monkeypatch.setenv("ECOM_DATA_DIR", str(tmp_path))
    for var in ("ECOM_WAREHOUSE", "ECOM_ENV"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.delenv("ECOM_ENGINE", raising=False)
    s = config.get_settings()
    assert (s.engine, s.dbt_target) == ("duckdb", "dev")
    monkeypatch.setenv("ECOM_ENGINE", "Spark")
    s = config.get_settings()
    assert (s.engine, s.dbt_target, s.spark_root) == ("spark", "spark", tmp_path / "dev" / "spark")
    monkeypatch.setenv("ECOM_ENGINE", "snowflake")
    with pytest.raises(config.ConfigError, match="ECOM_ENGINE='snowflake': expected one of duckdb, spark"):
        config.get_settings()
