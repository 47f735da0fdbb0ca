"""A BI client's view: the Dagster assets publish the copy, SQLAlchemy + duckdb_engine read it
read-only (the driver Superset and Metabase-style tools use), and writes are refused."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import duckdb
import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from ecom_platform.lib import publish
from ecom_platform.lib.dashboard import expected_charts
from tests.integration.conftest_bi import CUSTOMER_IDS, make_warehouse

pytestmark = [pytest.mark.integration]

KEY = "test-pseudonym-key-0123456789"


@pytest.fixture(scope="module")
def published(tmp_path_factory, dbt_manifest):
    """The BI copy and dashboard as the Dagster assets materialize them (settings from the env)."""
    from ecom_platform.config import get_settings
    from ecom_platform.contract import BI_COPY_KEY, DASHBOARD_KEY
    from ecom_platform.defs.bi import bi_assets
    from ecom_platform.defs.resources import WarehouseResource

    root = tmp_path_factory.mktemp("bi_clients")
    wh = make_warehouse(root / "dev" / "warehouse.duckdb")
    mp = pytest.MonkeyPatch()
    mp.setenv("ECOM_DATA_DIR", str(root))
    mp.setenv("ECOM_WAREHOUSE", str(wh))
    mp.delenv("ECOM_BI_DIR", raising=False)
    mp.setenv("ECOM_BI_PSEUDONYM_KEY", KEY)
    try:
        result = dg.materialize(
            bi_assets,
            resources={"warehouse": WarehouseResource(path=str(wh)), "settings": get_settings()},
            instance=dg.DagsterInstance.ephemeral(),
            raise_on_error=False,
        )
    finally:
        mp.undo()
    mats = {
        e.event_specific_data.materialization.asset_key: e.event_specific_data.materialization.metadata
        for e in result.get_asset_materialization_events()
    }
    return {"result": result, "root": root, "wh": wh, "copy": mats.get(BI_COPY_KEY), "dash": mats.get(DASHBOARD_KEY)}


def _tables(path: Path) -> dict[str, int]:
    con = duckdb.connect(str(path), read_only=True)
    rows = con.execute("SELECT table_schema || '.' || table_name, row_count FROM meta.tables").fetchall()
    con.close()
    return dict(rows)


def test_dagster_assets_publish_the_copy_and_the_dashboard(published):
    assert published["result"].success
    md = published["copy"]
    bi_dir = published["root"] / "dev" / "bi"  # <data>/<env>/bi by default
    path = bi_dir / "ecom_bi.duckdb"
    assert md["path"].value == str(path)
    assert md["pseudonymised"].value is True
    # 18 bi models (bi.data_sources among them), the 2 bi tables the publish builds, 6 ml tables
    assert md["table_count"].value == 26
    assert {"bi.data_sources", "ml.model_status"} <= set(md["row_counts"].value)
    rows = md["row_counts"].value
    assert rows == _tables(path)
    assert rows["bi.sales_daily"] == 364 and rows["bi.customer_rfm"] == len(CUSTOMER_IDS)
    assert md["dagster/row_count"].value == sum(rows.values())
    assert md["missing_ml_tables"].value == [] and md["derived_tables_not_built"].value == {}
    assert md["seconds"].value > 0
    assert set(md["pseudonymised_columns"].value) == {
        "bi.customer_rfm",
        "bi.customers_at_risk",
        "bi.user_engagement",
        "bi.user_top_category_brand",
        "ml.churn_scores",
        "ml.customer_segments",
        "ml.product_recommendations",
    }

    dash = published["dash"]
    html_path = Path(dash["path"].value)
    assert html_path == bi_dir / "dashboard.html"
    assert isinstance(dash["path"], dg.PathMetadataValue)
    assert dash["chart_count"].value == len(expected_charts()) and dash["panels_not_yet_available"].value == {}
    assert dash["bi_version"].value == md["version"].value
    assert 'data-chart="revenue_over_time"' in html_path.read_text()


@pytest.mark.parametrize(
    "how",
    ["connect_args", "url_query"],
)
def test_sqlalchemy_duckdb_engine_reads_every_table_read_only(published, how):
    path = Path(published["copy"]["path"].value)
    if how == "connect_args":
        engine = sa.create_engine(f"duckdb:///{path}", connect_args={"read_only": True})
    else:  # the form a Superset / Metabase-style URI field takes
        engine = sa.create_engine(f"duckdb:///{path}?access_mode=read_only")
    expected = _tables(path)
    assert len(expected) == 26
    with engine.connect() as con:
        assert con.execute(sa.text("SELECT current_setting('access_mode')")).scalar() == "read_only"
        inspector = sa.inspect(con)
        assert set(inspector.get_table_names(schema="bi")) == {t.split(".")[1] for t in expected if t.startswith("bi.")}
        for table, n in expected.items():
            assert con.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar() == n, table
        # Joins across tables work on the pseudonymised ids; no raw id is visible.
        joined = con.execute(
            sa.text("SELECT count(*) FROM bi.customer_rfm r JOIN ml.churn_scores c USING (customer_id)")
        ).scalar()
        assert joined == len(CUSTOMER_IDS)
        ids = {r[0] for r in con.execute(sa.text("SELECT customer_id FROM bi.customer_rfm"))}
        assert ids == {publish.pseudonym(i, KEY) for i in CUSTOMER_IDS}

        for stmt in (
            "CREATE TABLE bi.scratch AS SELECT 1 AS x",
            "INSERT INTO bi.rfm_segments (segment, customers) VALUES ('x', 1)",
            "DELETE FROM bi.sales_daily",
            "DROP TABLE bi.sales_daily",
        ):
            with pytest.raises(sa.exc.DBAPIError, match="read-only"):
                con.execute(sa.text(stmt))
            con.rollback()
        assert con.execute(sa.text("SELECT count(*) FROM bi.sales_daily")).scalar() == expected["bi.sales_daily"]
    engine.dispose()


def test_unpooled_client_sees_each_new_version(published, tmp_path):
    """Each checkout opens the stable path again, so a republish is picked up on the next query."""
    wh = make_warehouse(tmp_path / "w.duckdb", with_ml=False)
    bi_dir = tmp_path / "bi"
    v1 = publish.publish_bi_copy(wh, bi_dir)
    engine = sa.create_engine(
        f"duckdb:///{publish.stable_path(bi_dir)}", connect_args={"read_only": True}, poolclass=NullPool
    )
    with engine.connect() as con:
        assert con.execute(sa.text("SELECT version FROM meta.publish_info")).scalar() == v1["version"]
    v2 = publish.publish_bi_copy(wh, bi_dir)
    with engine.connect() as con:
        assert con.execute(sa.text("SELECT version FROM meta.publish_info")).scalar() == v2["version"]
    engine.dispose()


def test_manifest_documents_what_is_exposed(published):
    bi_dir = Path(published["copy"]["path"].value).parent
    manifest = json.loads((bi_dir / "manifest.json").read_text())
    assert manifest["pseudonymised"] is True
    assert manifest["pseudonym_key_id"] == publish.key_fingerprint(KEY)
    cols = {c["name"] for t in manifest["tables"] for c in t["columns"]}
    assert not [c for c in cols if publish.denylisted(c)]
    assert KEY not in json.dumps(manifest)
