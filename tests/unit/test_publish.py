"""The BI copy: tables, Parquet, manifest, denylist, pseudonymisation, atomic swap, pruning."""

from __future__ import annotations

import json
import os
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from ecom_platform.lib import publish
from ecom_platform.lib.publish import PersonalDataError, pseudonym, publish_bi_copy
from tests.integration.conftest_bi import CUSTOMER_IDS, contract_columns, make_warehouse

BI_TABLES = [
    "bi.category_popularity",
    "bi.category_price_stats",
    "bi.cohort_retention",
    "bi.customer_rfm",
    "bi.data_sources",
    "bi.funnel_conversion",
    "bi.product_bestsellers",
    "bi.product_sales_weekly",
    "bi.product_trending",
    "bi.rfm_segments",
    "bi.sales_category_daily",
    "bi.sales_country_daily",
    "bi.sales_daily",
    "bi.user_engagement",
    "bi.user_top_category_brand",
]
# Built by the publish from the ML outputs and the marts (lib/publish/derived.py), after the copies.
DERIVED = ["bi.customers_at_risk", "bi.product_forecast"]
ML_TABLES = [f"ml.{t}" for t in publish.ML_TABLES]
ID_TABLES = [
    "bi.customer_rfm",
    "bi.user_engagement",
    "bi.user_top_category_brand",
    "ml.churn_scores",
    "ml.customer_segments",
    "ml.product_recommendations",
    "bi.customers_at_risk",
]


@pytest.fixture
def wh(tmp_path) -> Path:
    return make_warehouse(tmp_path / "live" / "warehouse.duckdb")


def _ids(con, table: str) -> set:
    return {r[0] for r in con.execute(f"SELECT DISTINCT customer_id FROM {table}").fetchall()}


def _ro(path):
    return duckdb.connect(str(path), read_only=True)


def test_fixture_warehouse_matches_the_dbt_contracts(wh):
    """The test warehouse has exactly the contracted bi columns and types (keeps the tests honest)."""
    con = _ro(wh)
    for table, cols in contract_columns().items():
        got = con.execute(
            """SELECT column_name, upper(replace(data_type, ' ', '')) FROM information_schema.columns
               WHERE table_schema = 'bi' AND table_name = ? ORDER BY ordinal_position""",
            [table],
        ).fetchall()
        assert got == cols, table
    con.close()


def test_publish_copies_every_bi_and_ml_table_with_parquet_and_manifest(wh, tmp_path):
    bi_dir = tmp_path / "bi"
    s = publish_bi_copy(wh, bi_dir)

    assert s["tables"] == BI_TABLES + sorted(ML_TABLES) + DERIVED
    assert s["missing_ml_tables"] == [] and s["derived_tables_not_built"] == {}
    assert s["pseudonymised"] is False
    assert Path(s["path"]) == bi_dir / "ecom_bi.duckdb"
    assert Path(s["path"]).resolve() == Path(s["version_path"]).resolve()
    assert s["seconds"] > 0

    src, out = _ro(wh), _ro(s["path"])
    for t in BI_TABLES + ML_TABLES:
        n = src.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
        assert n > 0
        assert s["rows"][t] == n
        assert out.execute(f"SELECT count(*) FROM {t}").fetchone()[0] == n
        schema, name = t.split(".")
        pq = Path(s["parquet_dir"]) / schema / f"{name}.parquet"
        assert out.execute("SELECT count(*) FROM read_parquet(?)", [str(pq)]).fetchone()[0] == n
    # Same content, not just the same count.
    assert (
        out.execute("SELECT sum(net_revenue) FROM bi.sales_daily").fetchone()
        == src.execute("SELECT sum(net_revenue) FROM bi.sales_daily").fetchone()
    )
    # Without a key, ids are kept as they are.
    assert _ids(out, "bi.customer_rfm") == set(CUSTOMER_IDS)
    # Nothing outside bi.* and the listed ml.* tables (marts.dim_customers has an e-mail; not published).
    published = {
        f"{a}.{b}" for a, b in out.execute("SELECT table_schema, table_name FROM information_schema.tables").fetchall()
    }
    assert published == set(BI_TABLES + ML_TABLES + DERIVED) | {"meta.publish_info", "meta.tables"}
    # The source is named without a host path (the file name by default).
    assert out.execute("SELECT version, pseudonymised, source_warehouse FROM meta.publish_info").fetchone() == (
        s["version"],
        False,
        "warehouse.duckdb",
    )
    assert (
        dict(
            (
                (f"{a}.{b}", n)
                for a, b, n in out.execute("SELECT table_schema, table_name, row_count FROM meta.tables").fetchall()
            )
        )
        == s["rows"]
    )
    src.close()
    out.close()

    manifest = json.loads((bi_dir / "manifest.json").read_text())
    assert manifest["version"] == s["version"]
    assert manifest["pseudonymised"] is False
    assert manifest["source_warehouse"] == "warehouse.duckdb"
    assert str(tmp_path) not in (bi_dir / "manifest.json").read_text()
    assert manifest["published_at"]
    by_name = {f"{t['schema']}.{t['table']}": t for t in manifest["tables"]}
    assert set(by_name) == set(s["tables"])
    assert by_name["bi.sales_daily"]["rows"] == s["rows"]["bi.sales_daily"]
    assert [c["name"] for c in by_name["bi.sales_daily"]["columns"]] == [
        c for c, _ in contract_columns()["sales_daily"]
    ]
    assert by_name["bi.sales_daily"]["columns"][4] == {"name": "net_revenue", "type": "DECIMAL(18,2)"}
    # The stable parquet entry point follows the current version.
    assert (bi_dir / "parquet" / "bi" / "sales_daily.parquet").exists()
    # Written in DuckDB 1.0's storage format (header version 64) so older BI drivers open it.
    header = Path(s["path"]).read_bytes()[:20]
    assert header[8:12] == b"DUCK" and int.from_bytes(header[12:20], "little") == 64
    assert manifest["storage_version"] == "v1.0.0"
    # Published files are read-only on disk too.
    assert all(oct(f.stat().st_mode)[-3:] == "444" for f in Path(s["version_path"]).parent.rglob("*") if f.is_file())


def test_absent_ml_tables_are_reported_not_fatal(tmp_path):
    wh = make_warehouse(tmp_path / "w.duckdb", ml_tables=["churn_scores"])
    s = publish_bi_copy(wh, tmp_path / "bi")
    assert "ml.churn_scores" in s["tables"]
    assert s["missing_ml_tables"] == [t for t in ML_TABLES if t != "ml.churn_scores"]
    manifest = json.loads(Path(s["manifest"]).read_text())
    assert manifest["missing_ml_tables"] == s["missing_ml_tables"]
    # ml.training_features is not a published ML output.
    assert "ml.training_features" not in s["tables"]


@pytest.mark.parametrize(
    "column",
    [
        "email",
        "E-Mail",
        "customer_email",
        "email_address",
        "first_name",
        "last_name",
        "full_name",
        "name",
        "customer_name",
        "username",
        "surname",
        "phone",
        "phone_number",
        "home_phone",
        "mobile",
        "birth_date",
        "date_of_birth",
        "dob",
        "birthday",
        "street",
        "address",
        "postcode",
        "zip_code",
        "ip_address",
        "iban",
        "card_number",
        "passport",
        "national_id",
        "password",
    ],
)
def test_denylist_refuses_personal_data_columns(column):
    assert publish.denylisted(column) is not None


@pytest.mark.parametrize(
    "column",
    [
        "customer_id",
        "country",
        "first_order_month",
        "segment",
        "segment_name",
        "product_description",
        "stock_code",
        "category",
        "brand",
        "risk_band",
        "top_drivers",
        "churn_probability",
        "mobile_share",
        "smartphone_views",
        "shipping_days",
        "breakdown_value",
        "birth_year",
        "order_count",
        "reason",
    ],
)
def test_denylist_allows_the_bi_columns(column):
    assert publish.denylisted(column) is None


def test_every_contracted_column_passes_the_denylist():
    for table, cols in contract_columns().items():
        for c, _ in cols:
            assert publish.denylisted(c) is None, f"bi.{table}.{c}"


def test_publish_refuses_a_personal_data_column_and_keeps_the_current_version(wh, tmp_path):
    bi_dir = tmp_path / "bi"
    first = publish_bi_copy(wh, bi_dir)
    con = duckdb.connect(str(wh))
    con.execute(
        "CREATE TABLE bi.customer_contacts AS SELECT customer_id, 'x@example.com' AS email, "
        "DATE '1980-01-01' AS birth_date FROM bi.customer_rfm"
    )
    con.close()

    with pytest.raises(PersonalDataError) as err:
        publish_bi_copy(wh, bi_dir)
    msg = str(err.value)
    assert "publishing refused" in msg
    assert "bi.customer_contacts.email (e-mail address)" in msg
    assert "bi.customer_contacts.birth_date (exact birth date)" in msg

    # Nothing swapped, nothing half-built left behind.
    assert publish.current_version(bi_dir).name == first["version"]
    assert [p.name for p in (bi_dir / "versions").iterdir()] == [first["version"]]
    assert json.loads((bi_dir / "manifest.json").read_text())["version"] == first["version"]


def test_pseudonym_is_a_keyed_hash_with_one_mapping_for_all_id_types():
    k = "a-secret-key"
    assert pseudonym(12345, k) == pseudonym(12345.0, k) == pseudonym("12345", k) == pseudonym(" 12345 ", k)
    assert pseudonym(Decimal("12345.00"), k) == pseudonym(12345, k)
    assert pseudonym(12345, k) != pseudonym(12346, k)
    assert pseudonym(12345, k) != pseudonym(12345, "another-key")
    assert 0 <= pseudonym(12345, k) < 2**63
    with pytest.raises(ValueError):
        pseudonym(1, "")


def test_pseudonymised_ids_are_consistent_across_tables_and_stable_per_key(wh, tmp_path):
    s1 = publish_bi_copy(wh, tmp_path / "bi1", pseudonym_key="key-one")
    s1b = publish_bi_copy(wh, tmp_path / "bi1b", pseudonym_key="key-one")
    s2 = publish_bi_copy(wh, tmp_path / "bi2", pseudonym_key="key-two")
    assert s1["pseudonymised"] is True
    assert set(s1["pseudonymised_columns"]) == set(ID_TABLES)

    c1, c1b, c2 = _ro(s1["path"]), _ro(s1b["path"]), _ro(s2["path"])
    raw = set(CUSTOMER_IDS)
    expected = {pseudonym(i, "key-one") for i in raw}
    ids1 = _ids(c1, "bi.customer_rfm")
    assert ids1 == expected  # HMAC-SHA256 of every raw id, as documented
    assert not ids1 & raw  # no raw id survives
    # The same mapping in every table: joins still work (a VARCHAR id keeps the number as text).
    assert _ids(c1, "ml.churn_scores") == ids1
    assert _ids(c1, "ml.customer_segments") == ids1
    assert {int(x) for x in _ids(c1, "ml.product_recommendations")} == ids1
    assert (
        c1.execute(
            "SELECT data_type FROM information_schema.columns WHERE table_name = 'product_recommendations' "
            "AND column_name = 'customer_id'"
        ).fetchone()[0]
        == "VARCHAR"
    )
    joined = c1.execute("SELECT count(*) FROM bi.customer_rfm r JOIN ml.churn_scores c USING (customer_id)").fetchone()[
        0
    ]
    assert joined == len(raw)
    # Per-customer facts travel with the pseudonym.
    src = _ro(wh)
    orig = dict(src.execute("SELECT customer_id, net_revenue FROM bi.customer_rfm").fetchall())
    pub = dict(c1.execute("SELECT customer_id, net_revenue FROM bi.customer_rfm").fetchall())
    assert pub == {pseudonym(k, "key-one"): v for k, v in orig.items()}
    # Stable for the same key, different for another one.
    assert _ids(c1b, "bi.customer_rfm") == ids1
    assert not _ids(c2, "bi.customer_rfm") & ids1
    # The mapping itself is never published; the key is identified only by a fingerprint.
    assert c1.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name LIKE '%pseudo%'").fetchone()[0] == 0
    info = c1.execute("SELECT pseudonymised, pseudonym_key_id FROM meta.publish_info").fetchone()
    assert info == (True, publish.key_fingerprint("key-one"))
    assert "key-one" not in Path(s1["manifest"]).read_text()
    # Parquet carries the pseudonyms too.
    pq = Path(s1["parquet_dir"]) / "bi" / "customer_rfm.parquet"
    assert {r[0] for r in c1.execute("SELECT customer_id FROM read_parquet(?)", [str(pq)]).fetchall()} == ids1
    for c in (c1, c1b, c2, src):
        c.close()


def _set_revenue(wh: Path, value: int) -> None:
    con = duckdb.connect(str(wh))
    con.execute("UPDATE bi.sales_daily SET net_revenue = ?", [value])
    con.close()


def test_swap_is_atomic_for_readers_and_old_versions_are_pruned(wh, tmp_path):
    bi_dir = tmp_path / "bi"
    stable = publish.stable_path(bi_dir)
    _set_revenue(wh, 1)
    v1 = publish_bi_copy(wh, bi_dir, keep=2)

    old_reader = _ro(stable)  # a BI session that stays open
    assert old_reader.execute("SELECT DISTINCT net_revenue FROM bi.sales_daily").fetchall() == [(1,)]

    _set_revenue(wh, 2)
    v2 = publish_bi_copy(wh, bi_dir, keep=2)
    assert v2["version"] > v1["version"]
    assert (v2["pruned"], v2["kept_in_use"]) == ([], [])  # v1 is one of the newest 2
    # The open reader still reads its version, completely and consistently...
    assert old_reader.execute("SELECT DISTINCT net_revenue FROM bi.sales_daily").fetchall() == [(1,)]
    assert old_reader.execute("SELECT version FROM meta.publish_info").fetchone()[0] == v1["version"]
    # A new reader of the same stable path sees the new version.
    new_reader = _ro(stable)
    assert new_reader.execute("SELECT DISTINCT net_revenue FROM bi.sales_daily").fetchall() == [(2,)]
    assert new_reader.execute("SELECT version FROM meta.publish_info").fetchone()[0] == v2["version"]
    new_reader.close()

    _set_revenue(wh, 3)
    v3 = publish_bi_copy(wh, bi_dir, keep=2)
    # v1 is older than the newest 2 but still open: kept, and still readable.
    assert (v3["pruned"], v3["kept_in_use"]) == ([], [v1["version"]])
    assert (bi_dir / "versions" / v1["version"]).is_dir()
    assert old_reader.execute("SELECT DISTINCT net_revenue FROM bi.sales_daily").fetchall() == [(1,)]
    old_reader.close()

    _set_revenue(wh, 4)
    v4 = publish_bi_copy(wh, bi_dir, keep=2)
    assert sorted(v4["pruned"]) == [v1["version"], v2["version"]]
    assert sorted(p.name for p in (bi_dir / "versions").iterdir()) == [v3["version"], v4["version"]]
    assert os.readlink(bi_dir / "current") == os.path.join("versions", v4["version"])
    with _ro(stable) as con:
        assert con.execute("SELECT DISTINCT net_revenue FROM bi.sales_daily").fetchall() == [(4,)]


@pytest.mark.parametrize("keep", [1, 0, -1])
def test_keep_below_two_is_refused_before_anything_is_published(wh, tmp_path, keep):
    """The previous version must survive a prune: a reader that resolved `current` just before
    the swap has no DuckDB lock yet, and pruning sees only locks."""
    bi_dir = tmp_path / "bi"
    with pytest.raises(ValueError, match="keep at least 2"):
        publish_bi_copy(wh, bi_dir, keep=keep)
    assert publish.current_version(bi_dir) is None
    assert publish.list_versions(bi_dir) == []
    publish_bi_copy(wh, bi_dir)
    with pytest.raises(ValueError, match="keep at least 2"):
        publish.prune_versions(bi_dir, keep=keep)


def test_source_label_is_relative_never_a_host_path(wh, tmp_path):
    s = publish_bi_copy(wh, tmp_path / "bi", source_label="dev/warehouse.duckdb")
    with _ro(s["path"]) as con:
        assert con.execute("SELECT source_warehouse FROM meta.publish_info").fetchone()[0] == "dev/warehouse.duckdb"
    assert json.loads(Path(s["manifest"]).read_text())["source_warehouse"] == "dev/warehouse.duckdb"
    for bad in (str(wh), "C:\\data\\warehouse.duckdb"):
        with pytest.raises(ValueError, match="must be relative"):
            publish_bi_copy(wh, tmp_path / "bi", source_label=bad)


def test_keeps_the_last_n_versions(wh, tmp_path):
    bi_dir = tmp_path / "bi"
    names = [publish_bi_copy(wh, bi_dir, keep=2)["version"] for _ in range(4)]
    assert names == sorted(names) and len(set(names)) == 4
    assert [p.name for p in publish.list_versions(bi_dir)] == names[-2:]
    assert publish.current_version(bi_dir).name == names[-1]
    # No temp links or half-built folders left behind.
    assert sorted(p.name for p in bi_dir.iterdir() if not p.name.startswith(".publish")) == [
        "current",
        "ecom_bi.duckdb",
        "manifest.json",
        "parquet",
        "versions",
    ]


def test_a_crashed_build_is_cleaned_up_and_never_current(wh, tmp_path):
    bi_dir = tmp_path / "bi"
    s = publish_bi_copy(wh, bi_dir)
    stale = bi_dir / "versions" / "000099-20990101T000000000000Z.building"
    stale.mkdir()
    (stale / "ecom_bi.duckdb").write_bytes(b"half a file")
    assert publish.list_versions(bi_dir)[-1].name == s["version"]  # not a complete version
    s2 = publish_bi_copy(wh, bi_dir)
    assert not stale.exists()
    assert s2["version"].startswith("000002-")


def test_missing_warehouse_or_bi_schema_fails_clearly(tmp_path):
    with pytest.raises(publish.PublishError, match="does not exist"):
        publish_bi_copy(tmp_path / "nope.duckdb", tmp_path / "bi")
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    with pytest.raises(publish.PublishError, match="no tables in schema `bi`"):
        publish_bi_copy(empty, tmp_path / "bi")
    assert publish.current_version(tmp_path / "bi") is None


def test_publishes_from_a_process_that_holds_the_warehouse_open_for_writing(wh, tmp_path):
    """In a Dagster run the same process may still hold the live file read-write (in-process
    executor); DuckDB refuses a second handle, so the publish reads through that instance."""
    writer = duckdb.connect(str(wh))
    before = writer.execute("SELECT count(*) FROM duckdb_tables()").fetchone()[0]
    s = publish_bi_copy(wh, tmp_path / "bi")
    assert s["rows"]["bi.sales_daily"] == 364
    # The live warehouse is untouched and the writer's connection still works.
    assert writer.execute("SELECT count(*) FROM duckdb_tables()").fetchone()[0] == before
    assert [
        r[0] for r in writer.execute("SELECT database_name FROM duckdb_databases() WHERE NOT internal").fetchall()
    ] == [wh.stem]
    writer.execute("CREATE TABLE bi.after_publish AS SELECT 1 AS x")
    writer.close()


def test_the_published_ml_tables_are_the_models_outputs_and_their_verdicts():
    """One list of ML tables for the BI copy (publish.ML_TABLES), held to what the models
    write: every output but the churn model's feature importance (a model diagnostic that
    stays in the warehouse), plus the metrics and the status of every model."""
    from ecom_platform.lib.ml_runner import MODELS

    outputs = {table for m in MODELS for table in m.outputs}
    assert set(publish.ML_TABLES) == (outputs - {"churn_feature_importance"}) | {"model_metrics", "model_status"}


def test_descriptions_travel_into_the_copy_as_comments(wh, tmp_path):
    """dbt writes each model's descriptions into the warehouse as DuckDB comments
    (persist_docs); the copy carries them, quotes included, so a BI tool shows them."""
    con = duckdb.connect(str(wh))
    con.execute("COMMENT ON TABLE bi.sales_daily IS 'Net sales per day: the shop''s headline figures.'")
    con.execute("COMMENT ON COLUMN bi.sales_daily.net_revenue IS 'Merchandise sales net of cancellations.'")
    con.close()
    out = _ro(publish_bi_copy(wh, tmp_path / "bi")["path"])
    table = out.execute(
        "SELECT comment FROM duckdb_tables() WHERE schema_name = 'bi' AND table_name = 'sales_daily'"
    ).fetchone()
    assert table == ("Net sales per day: the shop's headline figures.",)
    columns = dict(
        out.execute(
            "SELECT column_name, comment FROM duckdb_columns() WHERE schema_name = 'bi' AND table_name = 'sales_daily'"
        ).fetchall()
    )
    assert columns["net_revenue"] == "Merchandise sales net of cancellations."
    assert {c for c, comment in columns.items() if comment} == {"net_revenue"}


def test_derived_tables_join_the_models_with_the_marts_under_the_same_pseudonyms(wh, tmp_path):
    s = publish_bi_copy(wh, tmp_path / "bi", pseudonym_key="k1")
    out, src = _ro(s["path"]), _ro(wh)
    # Every customer at risk: probability >= 0.5, the churn scores and RFM rows joined by pseudonym.
    n_src = src.execute("SELECT count(*) FROM ml.churn_scores WHERE churn_probability >= 0.5").fetchone()[0]
    joined = out.execute(
        """SELECT count(*), count(r.customer_id), sum(CASE WHEN a.rfm_segment = r.segment THEN 1 ELSE 0 END)
           FROM bi.customers_at_risk a LEFT JOIN bi.customer_rfm r USING (customer_id)"""
    ).fetchone()
    assert joined == (n_src, n_src, n_src) and n_src > 0
    assert s["pseudonymised_columns"]["bi.customers_at_risk"] == ["customer_id"]
    assert not set(_ids(out, "bi.customers_at_risk")) & set(CUSTOMER_IDS)
    # Ranked by revenue at risk = net revenue x probability, last order from the customer mart.
    top = out.execute(
        "SELECT revenue_at_risk, net_revenue, churn_probability, last_order_date FROM bi.customers_at_risk "
        "WHERE risk_rank = 1"
    ).fetchone()
    assert float(top[0]) == pytest.approx(float(top[1]) * top[2], abs=0.006)
    assert float(top[0]) == float(out.execute("SELECT max(revenue_at_risk) FROM bi.customers_at_risk").fetchone()[0])
    assert top[3] is not None
    # Descriptions travel: every column of a derived table has a comment.
    assert (
        out.execute(
            "SELECT count(*) FROM duckdb_columns() WHERE table_name IN ('customers_at_risk', 'product_forecast') "
            "AND coalesce(comment, '') = ''"
        ).fetchone()[0]
        == 0
    )
    assert out.execute("SELECT count(*) FROM bi.product_forecast").fetchone()[0] == 5


def test_a_derived_table_without_its_model_is_left_out_and_named(tmp_path):
    wh = make_warehouse(tmp_path / "warehouse.duckdb", ml_tables=["model_status", "demand_forecast"])
    s = publish_bi_copy(wh, tmp_path / "bi")
    assert s["derived_tables_not_built"] == {"bi.customers_at_risk": "not built: ml.churn_scores not in the warehouse"}
    assert "bi.product_forecast" in s["tables"]
    # the version is still the version (a loop over the tables left out once renamed it)
    out = _ro(s["path"])
    assert out.execute("SELECT version FROM meta.publish_info").fetchone()[0] == s["version"]
    assert Path(s["version_path"]).parent.name == s["version"] and s["version"].startswith("000001-")


def test_a_derived_table_that_breaks_its_contract_fails_the_publish(wh, tmp_path, monkeypatch):
    from ecom_platform.lib.publish import derived

    broken = derived.DerivedTable(
        name="customers_at_risk",
        description="x",
        columns=(("customer_id", "BIGINT", "x"),),
        key=("customer_id",),
        needs=("ml.churn_scores",),
        sql="SELECT CAST(customer_id AS BIGINT) AS customer_id FROM {src}.ml.churn_scores, range(2)",
    )
    monkeypatch.setattr(derived, "DERIVED_TABLES", (broken,))
    with pytest.raises(publish.PublishError, match=r"bi.customers_at_risk breaks its contract: \d+ duplicated key"):
        publish_bi_copy(wh, tmp_path / "bi")
    assert not (tmp_path / "bi" / "current").exists()
