"""The benchmark's references (plain-DuckDB floor, pandas peer) and the agreement check."""

from __future__ import annotations

import csv
import gzip
from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

import duckdb
import numpy as np
import pytest

from benchmarks import refs as bench_refs
from devtools.generator import generate
from ecom_platform.config import DBT_PROJECT_DIR

pytestmark = pytest.mark.component  # trains models / builds shops or Dagster runs: make test, not test-fast

SEEDS = DBT_PROJECT_DIR / "seeds"


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    landing = tmp_path_factory.mktemp("landing")
    manifest = generate(landing, scale=0.01, seed=7)
    floor = bench_refs.floor_tables(landing, SEEDS)
    peer = bench_refs.pandas_tables(landing, SEEDS, chunksize=1000)  # several chunks per file
    return landing, manifest, floor, peer


def _independent_lines(landing: Path, non_merch: set[str]):
    """Accepted, de-duplicated lines straight from the CSV text (csv + Decimal, no DuckDB, no pandas)."""
    seen, lines = set(), []
    for path in sorted((landing / "transactions").glob("*.csv.gz")):
        with gzip.open(path, "rt", encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                rec = {k: (v or "").strip() for k, v in row.items()}
                try:
                    qty = int(rec["Quantity"])
                    price = Decimal(rec["Price"])
                    when = datetime.strptime(rec["InvoiceDate"], "%Y-%m-%d %H:%M:%S")
                    cust = int(rec["Customer ID"]) if rec["Customer ID"] else None
                except (ValueError, InvalidOperation):
                    continue
                if not rec["Invoice"] or not rec["StockCode"]:
                    continue
                key = tuple(
                    rec[k]
                    for k in (
                        "Invoice",
                        "StockCode",
                        "Description",
                        "Quantity",
                        "InvoiceDate",
                        "Price",
                        "Customer ID",
                        "Country",
                    )
                )
                if key in seen:
                    continue
                seen.add(key)
                lines.append(
                    {
                        "invoice": rec["Invoice"],
                        "day": when.date(),
                        "qty": qty,
                        "amount": qty * price,
                        "cust": cust,
                        "merch": rec["StockCode"].upper() not in non_merch,
                        "cancel": rec["Invoice"].upper().startswith("C"),
                    }
                )
    return lines


def test_floor_and_pandas_agree_exactly(shop):
    _, _, floor, peer = shop
    report = bench_refs.compare(floor, peer, "floor", "pandas")
    assert report["agree"], report
    # exact, not just to the cent
    for table in ("kpi_sales_daily", "customer_rfm"):
        assert floor[table].equals(peer[table]), table


def test_references_match_hand_checkable_facts(shop):
    landing, manifest, floor, _ = shop
    lines = _independent_lines(landing, {c.upper() for c in manifest["non_merch_codes"]})
    merch = [x for x in lines if x["merch"]]
    kpi = floor["kpi_sales_daily"]
    assert int(kpi["revenue_milli"].sum()) == int(sum(x["amount"] for x in merch) * 1000)
    assert int(kpi["units"].sum()) == sum(x["qty"] for x in merch)
    orders_by_day = defaultdict(set)
    for x in merch:
        if not x["cancel"]:
            orders_by_day[x["day"]].add(x["invoice"])
    assert int(kpi["orders"].sum()) == sum(len(v) for v in orders_by_day.values())
    # one row per day from the first to the last merchandise day
    days = [x["day"] for x in merch]
    assert len(kpi) == (max(days) - min(days)).days + 1
    assert kpi["sales_day"].iloc[0] == min(days) and kpi["sales_day"].iloc[-1] == max(days)
    # malformed rows were dropped, exact duplicates kept once
    assert (
        len(lines)
        == manifest["totals"]["transactions"]["rows_written"]
        - manifest["totals"]["transactions"]["bad_rows"]
        - manifest["quirks"]["duplicate_lines"]
    )

    rfm = floor["customer_rfm"].set_index("customer_id")
    known = [x for x in lines if x["cust"] is not None]
    buyers = {x["cust"] for x in known if not x["cancel"]}
    assert set(rfm.index) == buyers
    snapshot = max(x["day"] for x in known).toordinal() + 1
    for cust in list(buyers)[:15]:
        mine = [x for x in known if x["cust"] == cust]
        assert rfm.loc[cust, "frequency"] == len({x["invoice"] for x in mine if not x["cancel"]})
        assert rfm.loc[cust, "monetary_milli"] == int(sum(x["amount"] for x in mine) * 1000)
        assert rfm.loc[cust, "recency_days"] == snapshot - max(x["day"] for x in mine if not x["cancel"]).toordinal()
    # ntile(5): bucket sizes differ by at most one; the code maps to a segment
    sizes = rfm["r_score"].value_counts()
    assert sizes.max() - sizes.min() <= 1 and set(sizes.index) == {1, 2, 3, 4, 5}
    assert rfm["segment"].notna().all()
    assert (rfm["rfm_code"] == rfm.r_score.astype(str) + rfm.f_score.astype(str) + rfm.m_score.astype(str)).all()


def test_ntile_matches_duckdb():
    con = duckdb.connect()
    for n in range(0, 23):
        expected = [
            r[0] for r in con.execute(f"SELECT ntile(5) OVER (ORDER BY i) FROM range({n}) t(i) ORDER BY i").fetchall()
        ]
        assert bench_refs.ntile(n, 5).tolist() == expected, n


def _write(path: Path, text: str, encoding: str = "utf-8") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = text.encode(encoding)
    if path.name.endswith(".gz"):
        data = gzip.compress(data)
    path.write_bytes(data)


def test_quirks_in_a_tiny_hand_made_landing(tmp_path):
    """UCI I headers, Latin-1, a bad quantity, '12.5', an exact duplicate, postage, a cancellation."""
    _write(
        tmp_path / "transactions" / "a.csv",
        (
            "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
            "1001,85123A,WHITE HANGING HEART ,6,2024-01-02 10:00:00,2.55,17850.0,United Kingdom\n"
            "1001,85123A,WHITE HANGING HEART ,6,2024-01-02 10:00:00,2.55,17850.0,United Kingdom\n"  # duplicate
            "1001,POST,POSTAGE,1,2024-01-02 10:00:00,18,17850,United Kingdom\n"  # not merchandise
            "1001,22423,REGENCY CAKESTAND,N/A,2024-01-02 10:00:00,12.75,17850,United Kingdom\n"  # quarantined
            "1001,22423,REGENCY CAKESTAND,12.5,2024-01-02 10:00:00,12.75,17850,United Kingdom\n"  # quarantined
            "1002,22423,CAFÉ STAND,2,2024-01-04 09:00:00,12.75,,France\n"  # anonymous, Latin-1 text
            "C1003,85123A,WHITE HANGING HEART,-2,2024-01-04 11:00:00,2.55,17850,United Kingdom\n"
            "1004,22423,REGENCY CAKESTAND,1,2024-01-03 12:00:00,£12.75,12347,Iceland\n"  # quarantined
            "1005,22423,REGENCY CAKESTAND,1,2024-01-03 12:00:00,12.75,12347O,Iceland\n"  # quarantined
            "1006,22423,REGENCY CAKESTAND,3,2024-01-03 12:00:00,12.75,12347,Iceland\n"
        ),
        encoding="latin-1",
    )
    floor = bench_refs.floor_tables(tmp_path, SEEDS)
    peer = bench_refs.pandas_tables(tmp_path, SEEDS)
    assert bench_refs.compare(floor, peer)["agree"]
    kpi = floor["kpi_sales_daily"].set_index("sales_day")
    assert list(kpi.index) == [date(2024, 1, 2), date(2024, 1, 3), date(2024, 1, 4)]
    assert kpi.loc[date(2024, 1, 2), "revenue_milli"] == 15_300  # 6 x 2.55 once; postage left out
    assert kpi.loc[date(2024, 1, 3), "revenue_milli"] == 38_250
    assert kpi.loc[date(2024, 1, 4), "revenue_milli"] == 25_500 - 5_100  # sale minus cancellation
    assert kpi.loc[date(2024, 1, 4), "orders"] == 1 and kpi.loc[date(2024, 1, 4), "cancellations"] == 1
    assert kpi.loc[date(2024, 1, 4), "unique_customers"] == 0  # the order is anonymous
    assert kpi["units"].tolist() == [6, 3, 0]
    rfm = floor["customer_rfm"].set_index("customer_id")
    assert sorted(rfm.index) == [12347, 17850]
    # postage counts in monetary, the cancellation too; snapshot = 2024-01-05
    assert rfm.loc[17850, "monetary_milli"] == 15_300 + 18_000 - 5_100
    assert rfm.loc[17850, "recency_days"] == 3 and rfm.loc[17850, "frequency"] == 1
    assert rfm.loc[12347, "recency_days"] == 2


def test_compare_reports_a_planted_mismatch(shop):
    _, _, floor, _ = shop
    other = {k: v.copy() for k, v in floor.items()}
    other["kpi_sales_daily"].loc[3, "revenue_milli"] += 10  # one cent
    other["customer_rfm"].loc[0, "segment"] = (
        "Champions" if other["customer_rfm"].loc[0, "segment"] != "Champions" else "Lost"
    )
    other["customer_rfm"] = other["customer_rfm"].drop(index=1)
    report = bench_refs.compare(floor, other, "floor", "planted")
    assert not report["agree"]
    kpi = report["tables"]["kpi_sales_daily"]
    assert kpi["mismatches"] == {"revenue_milli": 1}
    assert kpi["examples"][0]["sales_day"] == str(floor["kpi_sales_daily"].loc[3, "sales_day"])
    rfm = report["tables"]["customer_rfm"]
    assert rfm["mismatches"] == {"segment": 1} and rfm["only_in_floor"] == 1

    # less than half a cent is "to the cent"
    close = {k: v.copy() for k, v in floor.items()}
    close["kpi_sales_daily"].loc[3, "revenue_milli"] += 4
    assert bench_refs.compare(floor, close)["agree"]


def test_ours_reads_the_warehouse_marts(tmp_path):
    """warehouse_tables reads marts.* and normalises exactly like the references."""
    wh = tmp_path / "w.duckdb"
    con = duckdb.connect(str(wh))
    con.execute("CREATE SCHEMA marts")
    con.execute("""CREATE TABLE marts.kpi_sales_daily AS SELECT DATE '2024-01-02' AS sales_day,
        CAST(15.3 AS DECIMAL(18,3)) AS revenue, CAST(15.3 AS DECIMAL(18,3)) AS gross_revenue,
        CAST(0 AS DECIMAL(18,3)) AS cancelled_revenue, 1 AS orders, 0 AS cancellations,
        CAST(6 AS BIGINT) AS units, 1 AS unique_customers""")
    con.execute("""CREATE TABLE marts.customer_rfm AS SELECT CAST(17850 AS BIGINT) AS customer_id, 3 AS recency_days,
        1 AS frequency, CAST(28.2 AS DECIMAL(18,3)) AS monetary, 1 AS r_score, 1 AS f_score, 1 AS m_score,
        '111' AS rfm_code, 'Lost' AS segment""")
    con.close()
    ours = bench_refs.warehouse_tables(wh)
    assert ours["kpi_sales_daily"]["revenue_milli"].tolist() == [15_300]
    assert ours["customer_rfm"]["monetary_milli"].tolist() == [28_200]
    assert np.issubdtype(ours["customer_rfm"]["customer_id"].dtype, np.integer)
