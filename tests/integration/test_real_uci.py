"""The published figures of the real UCI Online Retail data survive ingestion and dbt."""

from __future__ import annotations

import shutil
from decimal import Decimal

import duckdb
import pytest

from tests.conftest import SHARED_DATASETS, check_results, materialize_everything, step_failures, use_environment

pytestmark = [pytest.mark.integration, pytest.mark.realdata]

UCI = SHARED_DATASETS / "uci_online_retail" / "online_retail.csv.gz"
REES46 = SHARED_DATASETS / "rees46_ecommerce_behavior_sample" / "2019-Oct.csv.gz"


@pytest.fixture(scope="module")
def uci_warehouse(tmp_path_factory, dbt_manifest):
    if not UCI.exists():
        pytest.skip(f"real dataset not found at {UCI} (../shared/datasets is absent)")
    root = tmp_path_factory.mktemp("uci")
    (root / "landing" / "transactions").mkdir(parents=True)
    (root / "landing" / "events").mkdir(parents=True)
    shutil.copy(UCI, root / "landing" / "transactions" / UCI.name)
    shutil.copy(REES46, root / "landing" / "events" / REES46.name)
    mp = pytest.MonkeyPatch()
    settings = use_environment(mp, root)
    result = materialize_everything(settings, selection="not group:ml")
    mp.undo()
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    yield result, con
    con.close()


def test_run_succeeds_and_every_check_passes(uci_warehouse):
    result, _ = uci_warehouse
    assert step_failures(result) == []
    checks = check_results(result)
    assert len(checks) > 250
    assert [k for k, ok in checks.items() if not ok] == []


def test_raw_holds_the_published_rows_and_total(uci_warehouse):
    _, con = uci_warehouse
    n, total, invoices, customers = con.execute(
        "SELECT count(*), sum(quantity * price), count(DISTINCT invoice), count(DISTINCT customer_id) FROM raw.transactions"
    ).fetchone()
    assert n == 541_909
    assert round(total, 2) == Decimal("9747747.93")
    assert (invoices, customers) == (25_900, 4_372)
    assert con.execute("SELECT count(*) FROM raw.quarantine").fetchone() == (0,)
    assert con.execute("SELECT count(*) FROM raw.events").fetchone() == (17_434,)


def test_marts_keep_every_invoice_and_customer(uci_warehouse):
    _, con = uci_warehouse
    assert con.execute("SELECT count(*) FROM marts.fct_orders").fetchone() == (25_900,)
    assert con.execute("SELECT count(*) FROM marts.dim_customers WHERE customer_key <> -1").fetchone() == (4_372,)
    assert con.execute("SELECT count(*) FROM marts.dim_customers WHERE customer_key = -1").fetchone() == (1,)
    # 33 customers have only cancellations, so they get no RFM score.
    assert con.execute("SELECT count(*) FROM marts.customer_rfm").fetchone() == (4_339,)


def test_order_lines_reconcile_with_raw_to_the_cent(uci_warehouse):
    _, con = uci_warehouse
    raw_total = con.execute("SELECT sum(quantity * price) FROM raw.transactions").fetchone()[0]
    fct_total, fct_lines = con.execute("SELECT sum(net_amount), count(*) FROM marts.fct_order_lines").fetchone()
    recon = con.execute("SELECT * FROM marts.reconciliation_order_lines").df()
    assert fct_lines == 541_909 - 5_268  # exact duplicate lines are the one exclusion
    excluded = con.execute(
        "SELECT sum(amount) FROM marts.reconciliation_order_lines WHERE step_type = 'exclusion'"
    ).fetchone()[0]
    assert raw_total - excluded == fct_total
    assert round(fct_total, 2) == Decimal("9726006.95")
    assert len(recon) >= 3
