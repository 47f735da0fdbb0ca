"""`make run LANDING=…` on a shop's own exports: the real UCI Online Retail file
(transactions only, no events, no catalogue, no profiles) through the documented command.

Exit 0, a BI copy with sales, RFM, segments and recommendations, churn scores or the
recorded reason, and the summary naming each model and each missing input.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import duckdb
import pytest

from ecom_platform.config import REPO_ROOT
from tests.conftest import SHARED_DATASETS

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
    proc = subprocess.run(["make", "--no-print-directory", "run", f"LANDING={exports}"], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=1500)
    state = root / "state"
    yield proc, state, exports


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
        statuses = {r[0]: r[1:] for r in con.execute(
            "SELECT model, published, reason, what_would_change_it FROM ml.model_status").fetchall()}
        assert set(statuses) == MODELS
        for model, (published, reason, change) in statuses.items():
            assert reason, model
            assert published or change, model
        assert statuses["segmentation"][0] and statuses["recommendations"][0]
        assert con.execute("SELECT count(DISTINCT customer_id) FROM ml.customer_segments").fetchone()[0] > 4_000
        assert con.execute("SELECT count(DISTINCT customer_id) FROM ml.product_recommendations").fetchone()[0] > 4_000
        churn_tables = {r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'ml'").fetchall()}
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
    proc = subprocess.run(["make", "--no-print-directory", "summary", f"LANDING={exports}"], cwd=REPO_ROOT,
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and "loaded: 1 files, 541,909 rows accepted" in proc.stdout, proc.stdout
