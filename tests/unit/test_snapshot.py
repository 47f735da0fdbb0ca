"""The refactoring snapshot (devtools/snapshot.py): order-independent, names what differs."""

import duckdb

from devtools.snapshot import compare, take


def _warehouse(path, rows):
    con = duckdb.connect(str(path))
    con.execute("CREATE SCHEMA marts")
    con.execute("CREATE TABLE marts.sales (day DATE, revenue DOUBLE, n INTEGER, _run_id VARCHAR)")
    con.executemany("INSERT INTO marts.sales VALUES (?, ?, ?, ?)", rows)
    con.execute("CREATE VIEW marts.total AS SELECT sum(revenue) AS revenue FROM marts.sales")
    con.close()
    return take(path)


def test_the_same_rows_in_another_order_and_another_run_are_identical(tmp_path):
    rows = [
        ("2024-01-01", 10.5, 1, "run-a"),
        ("2024-01-02", 0.1 + 0.2, 2, "run-a"),
        ("2024-01-02", 0.1 + 0.2, 2, "run-a"),
    ]
    first = _warehouse(tmp_path / "a.duckdb", rows)
    # float noise (0.1 + 0.2 against 0.3) is below the 9 significant digits compared
    again = _warehouse(tmp_path / "b.duckdb", [(d, round(r, 9), n, "run-b") for d, r, n, _ in reversed(rows)])
    assert first["marts.sales"]["rows"] == 3 and first["marts.sales"]["volatile"] == ["_run_id"]
    assert set(first) == {"marts.sales", "marts.total"}
    assert compare(first, again) == []


def test_a_changed_value_a_lost_duplicate_and_a_new_column_are_named(tmp_path):
    rows = [("2024-01-01", 10.5, 1, "r"), ("2024-01-02", 7.25, 2, "r"), ("2024-01-02", 7.25, 2, "r")]
    expected = _warehouse(tmp_path / "a.duckdb", rows)
    changed = _warehouse(tmp_path / "b.duckdb", [("2024-01-01", 10.51, 1, "r"), ("2024-01-02", 7.25, 2, "r")])
    assert compare(expected, changed) == [
        "marts.sales: 2 rows, expected 3",
        "marts.sales.day: values differ",
        "marts.sales.n: values differ",
        "marts.sales.revenue: values differ",
        "marts.total.revenue: values differ",
    ]
    con = duckdb.connect(str(tmp_path / "c.duckdb"))
    con.execute("CREATE SCHEMA marts")
    con.execute(
        "CREATE TABLE marts.sales AS SELECT *, 1 AS extra FROM "
        "(VALUES ('2024-01-01'::DATE, 10.5, 1, 'r')) t(day, revenue, n, _run_id)"
    )
    con.close()
    assert "marts.sales.extra: new column" in compare(expected, take(tmp_path / "c.duckdb"))
    assert "marts.total: missing (expected 1 rows)" in compare(expected, take(tmp_path / "c.duckdb"))
