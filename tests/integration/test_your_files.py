"""`make run LANDING=…` on a shop's own exports: the real UCI Online Retail file
(transactions only, no events, no catalogue, no profiles) through the documented command.

Exit 0, a BI copy with sales, RFM, segments and recommendations, churn scores or the
recorded reason, and the summary naming each model and each missing input; in the
warehouse, the file's published figures from raw to the marts, reconciled to the cent.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from decimal import Decimal

import duckdb
import pytest

from ecom_platform.config import REPO_ROOT
from tests.conftest import SHARED_DATASETS, dbt_data_tests

pytestmark = [pytest.mark.integration, pytest.mark.realdata]

UCI = SHARED_DATASETS / "uci_online_retail" / "online_retail.csv.gz"
MODELS = {"churn", "forecast", "recommendations", "segmentation"}


@pytest.fixture(scope="module")
def shop_run(tmp_path_factory):
    if not UCI.exists():
        pytest.skip(f"real dataset file not found at {UCI} (../shared/datasets is absent or incomplete)")
    root = tmp_path_factory.mktemp("your_files")
    exports = root / "my_exports"
    (exports / "transactions").mkdir(parents=True)
    shutil.copy(UCI, exports / "transactions" / UCI.name)
    (exports / "README.txt").write_text("a stray file the run must name and not read\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ECOM_", "DAGSTER_HOME", "MAKE"))}
    env["ECOM_DATA_DIR"] = str(root / "state")
    # make run parses dbt; here into a folder of its own, so the manifest the other test
    # worker reads (make test runs two) is never rewritten under it
    env["DBT_TARGET_PATH"] = str(root / "dbt_target")
    proc = subprocess.run(
        ["make", "--no-print-directory", "run", f"LANDING={exports}"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1500,
    )
    state = root / "state"
    yield proc, state, exports


@pytest.fixture(scope="module")
def live(shop_run):
    """The shop's live warehouse, read-only."""
    _, state, _ = shop_run
    con = duckdb.connect(str(state / "dev" / "warehouse.duckdb"), read_only=True)
    yield con
    con.close()


def test_the_command_exits_0_and_summarises_each_model_and_missing_input(shop_run):
    proc, _, exports = shop_run
    out = proc.stdout
    assert proc.returncode == 0, (out[-4000:], proc.stderr[-4000:])
    assert "make run finished" in out
    assert "not generating" not in out and "generating the shop" not in out
    assert "not read (outside the source folders): README.txt" in out
    models = out.split("Models (ml.model_status):", 1)[1].split("\n")[1:5]
    assert {line.split()[0] for line in models} == MODELS
    assert all((" published " in line) or (" NOT published " in line) for line in models)
    for source in ("events", "products", "customers"):
        assert f"no {source} file has landed: drop {source} exports into {exports / source}/" in out


def test_the_bi_copy_has_sales_rfm_segments_recommendations_and_every_model_status(shop_run):
    proc, state, _ = shop_run
    bi = state / "dev" / "bi" / "ecom_bi.duckdb"
    assert bi.exists(), proc.stdout[-3000:]
    con = duckdb.connect(str(bi), read_only=True)
    try:
        n_days, revenue = con.execute("SELECT count(*), sum(net_revenue) FROM bi.sales_daily").fetchone()
        assert n_days > 300 and revenue > 8_000_000
        assert con.execute("SELECT count(*) FROM bi.customer_rfm").fetchone()[0] > 4_000
        statuses = {
            r[0]: r[1:]
            for r in con.execute(
                "SELECT model, published, reason, what_would_change_it FROM ml.model_status"
            ).fetchall()
        }
        assert set(statuses) == MODELS
        for model, (published, reason, change) in statuses.items():
            assert reason, model
            assert published or change, model
        assert statuses["segmentation"][0] and statuses["recommendations"][0]
        assert con.execute("SELECT count(DISTINCT customer_id) FROM ml.customer_segments").fetchone()[0] > 4_000
        assert con.execute("SELECT count(DISTINCT customer_id) FROM ml.product_recommendations").fetchone()[0] > 4_000
        churn_tables = {
            r[0]
            for r in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'ml'"
            ).fetchall()
        }
        # churn: scores when published, else the recorded reason (checked above)
        assert ("churn_scores" in churn_tables) == statuses["churn"][0]
        sources = dict(con.execute("SELECT source, files_loaded FROM bi.data_sources").fetchall())
        assert sources == {"transactions": 1, "events": 0, "products": 0, "customers": 0}
        # the clickstream marts exist and are empty
        assert con.execute("SELECT count(*) FROM bi.funnel_conversion").fetchone()[0] == 0
    finally:
        con.close()


def test_the_dashboard_says_which_file_would_fill_the_clickstream_panels(shop_run):
    _, state, _ = shop_run
    html = (state / "dev" / "bi" / "dashboard.html").read_text()
    assert "No events file has landed: drop events exports into landing/events/" in html
    assert 'data-model="churn"' in html


def test_the_summary_of_that_shop_reads_its_own_warehouse(shop_run):
    _, state, exports = shop_run
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ECOM_", "DAGSTER_HOME", "MAKE"))}
    env["ECOM_DATA_DIR"] = str(state)
    con = duckdb.connect(str(state / "dev" / "warehouse.duckdb"), read_only=True)
    before = con.execute("SELECT count(*), sum(quantity) FROM raw.transactions").fetchone()
    con.close()
    assert before[0] == 541_909
    proc = subprocess.run(
        ["make", "--no-print-directory", "summary", f"LANDING={exports}"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0 and "loaded: 1 files, 541,909 rows accepted" in proc.stdout, proc.stdout


def test_make_models_evaluate_reproduces_the_recorded_figures(shop_run):
    """One code path: `make models EVALUATE=1` retrains every model read-only with the
    function the assets call and finds each recorded primary metric again."""
    _, state, exports = shop_run
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ECOM_", "DAGSTER_HOME", "MAKE"))}
    env["ECOM_DATA_DIR"] = str(state)
    proc = subprocess.run(
        ["make", "--no-print-directory", "models", "EVALUATE=1", f"LANDING={exports}"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    out = proc.stdout
    assert proc.returncode == 0, (out[-3000:], proc.stderr[-3000:])
    evaluated = [line for line in out.splitlines() if line.startswith("re-evaluated ")]
    assert {line.split()[1].rstrip(":") for line in evaluated} == MODELS
    assert all("(the same as recorded)" in line for line in evaluated), evaluated
    # the trained models have a figure, not None
    assert sum(" None " not in line for line in evaluated) >= 2, evaluated


def test_every_check_passes_and_only_model_verdicts_warn(shop_run, dbt_manifest):
    out = shop_run[0].stdout
    n_checks = int(re.search(r"materializations, (\d+) checks", out).group(1))
    assert n_checks > len(dbt_data_tests(dbt_manifest))  # every dbt test, and the Python checks
    assert "check failed:" not in out and "step failed:" not in out
    warned = re.findall(r"check warned: (\S+) (\S+)", out)
    assert all(key.endswith("_model") and name == "publishable" for key, name in warned), warned


def test_raw_holds_the_published_rows_and_total(live):
    n, total, invoices, customers = live.execute(
        "SELECT count(*), sum(quantity * price), count(DISTINCT invoice), count(DISTINCT customer_id) "
        "FROM raw.transactions"
    ).fetchone()
    assert n == 541_909
    assert round(total, 2) == Decimal("9747747.93")
    assert (invoices, customers) == (25_900, 4_372)
    assert live.execute("SELECT count(*) FROM raw.quarantine").fetchone() == (0,)


def test_marts_keep_every_invoice_and_customer(live):
    assert live.execute("SELECT count(*) FROM marts.fct_orders").fetchone() == (25_900,)
    assert live.execute("SELECT count(*) FROM marts.dim_customers WHERE customer_key <> -1").fetchone() == (4_372,)
    assert live.execute("SELECT count(*) FROM marts.dim_customers WHERE customer_key = -1").fetchone() == (1,)
    # 33 customers have only cancellations, so they get no RFM score.
    assert live.execute("SELECT count(*) FROM marts.customer_rfm").fetchone() == (4_339,)


def test_order_lines_reconcile_with_raw_to_the_cent(live):
    raw_total = live.execute("SELECT sum(quantity * price) FROM raw.transactions").fetchone()[0]
    fct_total, fct_lines = live.execute("SELECT sum(net_amount), count(*) FROM marts.fct_order_lines").fetchone()
    assert fct_lines == 541_909 - 5_268  # exact duplicate lines are the one exclusion
    excluded = live.execute(
        "SELECT sum(amount) FROM marts.reconciliation_order_lines WHERE step_type = 'exclusion'"
    ).fetchone()[0]
    assert raw_total - excluded == fct_total
    assert round(fct_total, 2) == Decimal("9726006.95")
    assert live.execute("SELECT count(*) FROM marts.reconciliation_order_lines").fetchone()[0] >= 3
