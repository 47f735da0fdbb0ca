"""Ingestion alone on the other real files: Online Retail II (sheet "Year 2009-2010") and
the REES46 clickstream sample, each into a warehouse of its own (no dbt).

Online Retail itself goes through the whole pipeline, as a user runs it, in
test_your_files.py (`make run LANDING=…`), where its published figures are checked from raw
to the marts.
"""

from __future__ import annotations

import shutil
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from ecom_platform.lib import ingest
from tests.conftest import SHARED_DATASETS

pytestmark = [pytest.mark.integration, pytest.mark.realdata]

UCI_II = SHARED_DATASETS / "uci_online_retail_ii" / "online_retail_II_2009_2010.csv.gz"
REES46 = SHARED_DATASETS / "rees46_ecommerce_behavior_sample" / "2019-Oct.csv.gz"


def require(path: Path) -> None:
    if not path.exists():
        pytest.skip(f"real dataset file not found at {path} (../shared/datasets is absent or incomplete)")


@pytest.fixture(scope="module")
def rees46_raw(tmp_path_factory):
    """The REES46 clickstream sample ingested alone into a temporary warehouse (no dbt)."""
    require(REES46)
    root = tmp_path_factory.mktemp("rees46")
    (root / "landing" / "events").mkdir(parents=True)
    shutil.copy(REES46, root / "landing" / "events" / REES46.name)
    con = duckdb.connect(str(root / "warehouse.duckdb"))
    results, refused = ingest.ingest_source(con, root / "landing", "events", "run-rees46")
    yield results, refused, con
    con.close()


def raw_figures(con) -> tuple:
    """(lines, Σ quantity × price, distinct invoices, distinct customers) of raw.transactions."""
    return con.execute(
        "SELECT count(*), sum(quantity * price), count(DISTINCT invoice), count(DISTINCT customer_id) FROM raw.transactions"
    ).fetchone()


def test_raw_holds_the_rees46_sample(rees46_raw):
    results, refused, con = rees46_raw
    assert refused == [] and [r.status for r in results] == ["loaded"]
    assert con.execute("SELECT count(*) FROM raw.events").fetchone() == (17_434,)
    assert con.execute("SELECT count(*) FROM raw.quarantine WHERE source = 'events'").fetchone() == (0,)


@pytest.fixture(scope="module")
def uci_ii_raw(tmp_path_factory):
    """Online Retail II ingested alone into a temporary warehouse (no dbt)."""
    require(UCI_II)
    root = tmp_path_factory.mktemp("uci_ii")
    (root / "landing" / "transactions").mkdir(parents=True)
    shutil.copy(UCI_II, root / "landing" / "transactions" / UCI_II.name)
    con = duckdb.connect(str(root / "warehouse.duckdb"))
    results, refused = ingest.ingest_source(con, root / "landing", "transactions", "run-uci-ii")
    yield results, refused, con
    con.close()


def test_online_retail_ii_raw_holds_the_published_figures(uci_ii_raw):
    results, refused, con = uci_ii_raw
    assert refused == []
    assert [(r.file_name, r.status, r.rows_read, r.rows_rejected, r.error) for r in results] == [
        (f"transactions/{UCI_II.name}", "loaded", 525_461, 0, None)
    ]
    n, total, invoices, customers = raw_figures(con)
    assert n == 525_461
    assert round(total, 2) == Decimal("9539484.63")
    assert (invoices, customers) == (28_816, 4_383)
    assert con.execute("SELECT count(*) FROM raw.quarantine").fetchone() == (0,)
    # The other figures the dataset README lists for this file; its 4,632 StockCodes count
    # '47503J ' (one row, trailing space) apart from '47503J', ingestion trims values.
    assert con.execute(
        "SELECT sum(quantity), count(customer_id), count(*) - count(description), count(DISTINCT country), "
        "count(DISTINCT stock_code), count(*) FILTER (WHERE invoice LIKE 'C%'), min(invoice_date), max(invoice_date) "
        "FROM raw.transactions"
    ).fetchone() == (
        5_432_041,
        417_534,
        2_928,
        40,
        4_631,
        10_206,
        datetime(2009, 12, 1, 7, 45),
        datetime(2010, 12, 9, 20, 1),
    )
    # Lineage: every record numbered once, 1..n, in file order.
    assert con.execute(
        "SELECT min(_row_number), max(_row_number), count(DISTINCT _row_number) FROM raw.transactions"
    ).fetchone() == (1, 525_461, 525_461)
