"""A day dropped into the landing folder: the landing sensor's run request, executed as the
daemon would, brings the daily facts, the marts and the BI copy up to date, and only that day
of the facts is rebuilt; its staging tests read only the rows it ingested, a full build every
row. One scenario (each full build of the refresh selection costs about a minute)."""

from __future__ import annotations

import dagster as dg
import duckdb
import pytest

from tests.conftest import step_failures, use_environment
from tests.shop_files import EVENTS_HEADER, TRANSACTIONS_HEADER, event_lines, transaction_lines, write, write_dimensions

pytestmark = pytest.mark.integration

D1, D2, D3 = "2024-01-02", "2024-01-03", "2024-01-04"


def _execute(defs, instance, keys, check_keys, tags):
    selection = dg.AssetSelection.assets(*keys).without_checks() | dg.AssetSelection.checks(*check_keys)
    job = dg.define_asset_job("landing_refresh_test", selection=selection).resolve(
        asset_graph=defs.resolve_asset_graph()
    )
    result = job.execute_in_process(
        instance=instance,
        tags={"ecom/column_metadata": "off", **tags},
        raise_on_error=False,
        run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
    )
    assert result.success, step_failures(result)
    return result


def _state(settings) -> dict:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        q = lambda sql: con.execute(sql).fetchall()  # noqa: E731
        state = {
            "lines": dict(q("SELECT CAST(invoice_day AS VARCHAR), count(*) FROM marts.fct_order_lines GROUP BY 1")),
            "events": dict(q("SELECT CAST(event_day AS VARCHAR), count(*) FROM marts.fct_events GROUP BY 1")),
            "kpi": {d: float(r) for d, r in q("SELECT CAST(sales_day AS VARCHAR), revenue FROM marts.kpi_sales_daily")},
            "rfm": q("SELECT customer_id, frequency, CAST(monetary AS DOUBLE) FROM marts.customer_rfm ORDER BY 1"),
            "int_lines": q("SELECT * EXCLUDE (_ingested_at) FROM intermediate.int_retail__order_lines ORDER BY ALL"),
        }
    bi = settings.bi_dir / "ecom_bi.duckdb"
    with duckdb.connect(str(bi), read_only=True) as con:
        state["bi_days"] = sorted(str(r[0]) for r in con.execute("SELECT sales_date FROM bi.sales_daily").fetchall())
    return state


def test_a_dropped_day_reaches_the_marts_and_the_bi_copy(tmp_path, monkeypatch, dbt_manifest):
    from ecom_platform.definitions import build_defs
    from ecom_platform.defs import automation

    settings = use_environment(monkeypatch, tmp_path)
    landing = settings.landing_dir
    write_dimensions(landing)
    write(landing, f"transactions/{D1}.csv", TRANSACTIONS_HEADER, transaction_lines(D1, 3))
    write(landing, f"events/{D1}.csv", EVENTS_HEADER, event_lines(D1, 4))
    defs = build_defs(settings)
    graph = defs.resolve_asset_graph()
    instance = dg.DagsterInstance.ephemeral()
    sensor = defs.resolve_sensor_def("landing_sensor")
    resources = {"landing": defs.resources["landing"], "warehouse": defs.resources["warehouse"]}

    def tick(cursor):
        with dg.build_sensor_context(instance=instance, definitions=defs, resources=resources, cursor=cursor) as ctx:
            return sensor.evaluate_tick(ctx)

    # the first build: everything the sensor may run, unpartitioned; the sensor adopts the files
    sel = automation.REFRESH_SELECTION
    _execute(
        defs,
        instance,
        [k for k in sel.resolve(graph) if graph.get(k).is_executable],
        list(sel.resolve_checks(graph)),
        {},
    )
    before = _state(settings)
    assert (before["lines"], before["events"], before["bi_days"]) == ({D1: 3}, {D1: 4}, [D1])
    cursor = tick(tick(None).cursor).cursor

    # a new day lands: two looks (a file must be stable), then one run request for that day
    write(landing, f"transactions/{D2}.csv", TRANSACTIONS_HEADER, transaction_lines(D2, 2, customer=12002))
    write(landing, f"events/{D2}.csv", EVENTS_HEADER, event_lines(D2, 5, user=12002))
    first = tick(cursor)
    assert not first.run_requests
    second = tick(first.cursor)
    (request,) = second.run_requests
    tags = dict(request.tags)
    assert (tags["dagster/asset_partition_range_start"], tags["dagster/asset_partition_range_end"]) == (D2, D2)
    assert dg.AssetKey(["ml", "churn_scores"]) not in request.asset_selection
    result = _execute(defs, instance, request.asset_selection, request.asset_check_keys, tags)

    after = _state(settings)
    assert after["lines"] == {D1: 3, D2: 2} and after["events"] == {D1: 4, D2: 5}
    # transaction_lines: quantity i + 1 at 2.50 -> 2.5 * (1 + 2) on the new day
    assert after["kpi"] == {**before["kpi"], D2: 7.5}
    assert [r[:2] for r in after["rfm"]] == [(12001, 1), (12002, 1)]  # 12002 bought for the first time
    assert after["bi_days"] == [D1, D2]

    # only the new day was rebuilt (facts and int_retail__order_lines): no re-parse, no unit tests
    messages = [e.message for e in instance.all_logs(result.run_id) if e.message]
    commands = [m for m in messages if "Running dbt command" in m]
    assert len(commands) == 3  # staging..dimensions | the daily facts | marts and BI layer
    assert all(
        "--exclude-resource-type unit_test" in c and "--vars" not in c and "--full-refresh" not in c for c in commands
    )
    assert f"partition window {D2} .. 2024-01-04 (end exclusive)" in messages
    assert (
        sum(m.startswith(f"window {D2} .. 2024-01-04 (end exclusive) for int_retail__order_lines") for m in messages)
        == 2
    )
    evaluated = {(e.asset_key, e.check_name) for e in result.get_asset_check_evaluations()}
    assert evaluated == {(c.asset_key, c.name) for c in request.asset_check_keys}
    assert all(e.passed for e in result.get_asset_check_evaluations())

    # the windowed refresh left exactly what a full rebuild makes
    full = _execute(
        defs,
        instance,
        [k for k in sel.resolve(graph) if graph.get(k).is_executable],
        list(sel.resolve_checks(graph)),
        {},
    )
    full_commands = [e.message for e in instance.all_logs(full.run_id) if "Running dbt command" in (e.message or "")]
    assert full_commands and all("--full-refresh" in c for c in full_commands)
    rebuilt = _state(settings)
    assert {k: v for k, v in rebuilt.items() if k != "bi_days"} == {k: v for k, v in after.items() if k != "bi_days"}

    # A sensor run's staging tests check the rows that run ingested (older rows were checked
    # when they arrived); a full build checks every row. An old raw row that breaks a staging
    # test (written behind ingestion's back, which rejects such rows from files) shows both.
    with duckdb.connect(str(settings.warehouse_path)) as con:
        con.execute("""INSERT INTO raw.events SELECT * REPLACE ('teleport' AS event_type, 'x' AS _file_sha256)
                       FROM raw.events LIMIT 1""")
    write(landing, f"events/{D3}.csv", EVENTS_HEADER, event_lines(D3, 3))
    (request,) = tick(tick(second.cursor).cursor).run_requests
    assert request.tags["ecom/dbt_tests_scope"] == "new_rows"
    check = "accepted_values_stg_shop__events_event_type__view__cart__remove_from_cart__purchase"

    def event_type_check(result):
        (ev,) = [e for e in result.get_asset_check_evaluations() if e.check_name == check]
        return ev.passed, ev.metadata["dagster_dbt/failed_row_count"].value

    sensor_run = _execute(defs, instance, request.asset_selection, request.asset_check_keys, dict(request.tags))
    assert event_type_check(sensor_run) == (True, 0)  # its 3 new rows are fine
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        # the planted row is on an older day, outside the run's window: the facts got day 3 only
        assert con.execute("SELECT count(*) FROM marts.fct_events").fetchone()[0] == 4 + 5 + 3

    selection = dg.AssetSelection.assets(
        *[k for k in sel.resolve(graph) if graph.get(k).is_executable]
    ).without_checks() | dg.AssetSelection.checks(*sel.resolve_checks(graph))
    job = dg.define_asset_job("full", selection=selection).resolve(asset_graph=graph)
    full = job.execute_in_process(
        instance=instance,
        raise_on_error=False,
        tags={"ecom/column_metadata": "off"},
        run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
    )
    assert event_type_check(full) == (False, 1)  # a full build reads every row
