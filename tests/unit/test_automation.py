"""Sensors, schedules and jobs: ticks through evaluate_tick, selections resolved on the real graph."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os

import dagster as dg
import duckdb
import pytest

from tests.conftest import use_environment
from tests.shop_files import EVENTS_HEADER, TRANSACTIONS_HEADER, event_lines, transaction_lines, write


@pytest.fixture
def env(tmp_path, monkeypatch, dbt_manifest):
    from ecom_platform.definitions import build_defs

    settings = use_environment(monkeypatch, tmp_path)
    settings.landing_dir.mkdir(parents=True)
    instance = dg.DagsterInstance.ephemeral()
    return settings, build_defs(settings), instance


def tick(defs, instance, cursor=None):
    """One tick of the landing sensor as the daemon runs it: the code location's graph and landing folder."""
    sensor = defs.resolve_sensor_def("landing_sensor")
    resources = {"landing": defs.resources["landing"], "warehouse": defs.resources["warehouse"]}
    with dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs, resources=resources) as ctx:
        return sensor.evaluate_tick(ctx)


def ingest_all(settings) -> None:
    """What `make run` does first: ingest every landing file into the warehouse."""
    from ecom_platform.lib import ingest

    settings.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(settings.warehouse_path)) as con:
        for source in ("transactions", "events"):
            ingest.ingest_source(con, settings.landing_dir, source, "run-make-run")


def test_after_make_run_the_first_tick_requests_nothing_and_new_or_changed_files_still_run(env):
    """No surprise reprocessing: the first tick on a fresh Dagster home (`make dev` after
    `make run`) adopts what raw.ingest_log holds, at once, without a run."""
    settings, defs, instance = env
    landing = settings.landing_dir
    for d in ("2024-01-02", "2024-01-03"):
        write(landing, f"transactions/{d}.csv", TRANSACTIONS_HEADER, transaction_lines(d, 3))
    e = write(landing, "events/e1.csv", EVENTS_HEADER, event_lines("2024-01-03", 4))
    ingest_all(settings)

    first = tick(defs, instance)
    assert first.run_requests == []
    assert first.skip_message == "3 file(s) already in the warehouse (raw.ingest_log) taken as loaded, no run"
    cursor = json.loads(first.cursor)
    assert set(cursor["files"]) == {"transactions/2024-01-02.csv", "transactions/2024-01-03.csv", "events/e1.csv"}
    assert cursor["files"]["events/e1.csv"]["sha256"] == sha(e) and cursor["looks"] == {}
    assert (
        tick(defs, instance, first.cursor).skip_message == "nothing new in the landing folder (3 file(s) already taken)"
    )

    # a new file and a changed one (same name, new bytes) are still picked up, after two looks
    n = write(landing, "transactions/2024-01-04.csv", TRANSACTIONS_HEADER, transaction_lines("2024-01-04", 2))
    write(landing, "events/e1.csv", EVENTS_HEADER, event_lines("2024-01-05", 5), mtime_ns=2 * 10**18)
    look = tick(defs, instance, first.cursor)
    assert look.run_requests == [] and "2 new or changed file(s) not yet stable" in look.skip_message
    (req,) = tick(defs, instance, look.cursor).run_requests
    assert req.tags["ecom/files"] == "events/e1.csv,transactions/2024-01-04.csv"
    # the adopted file's old days are unknown: no day window, every day is rebuilt
    assert req.tags["ecom/days"] == "all (days unknown for events/e1.csv)"
    assert "ecom/window_start" not in req.tags and "ecom/dbt_windowed_marts" not in req.tags
    assert json.loads(tick(defs, instance, look.cursor).cursor)["files"]["transactions/2024-01-04.csv"][
        "sha256"
    ] == sha(n)


def test_a_file_changed_since_make_run_is_not_adopted(env):
    settings, defs, instance = env
    landing = settings.landing_dir
    write(landing, "transactions/t.csv", TRANSACTIONS_HEADER, transaction_lines("2024-01-02", 3))
    ingest_all(settings)
    write(landing, "transactions/t.csv", TRANSACTIONS_HEADER, transaction_lines("2024-01-02", 4))  # new bytes
    first = tick(defs, instance)
    assert first.run_requests == [] and "1 new or changed file(s) not yet stable" in first.skip_message
    (req,) = tick(defs, instance, first.cursor).run_requests
    assert req.tags["ecom/files"] == "transactions/t.csv"


def test_the_first_tick_waits_for_a_busy_warehouse_instead_of_requesting_everything(env, tmp_path):
    import subprocess
    import sys

    settings, defs, instance = env
    write(settings.landing_dir, "transactions/t.csv", TRANSACTIONS_HEADER, transaction_lines("2024-01-02", 3))
    ingest_all(settings)
    # another process (a pipeline run) holds the write lock
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('ready', flush=True); time.sleep(60)",
            str(settings.warehouse_path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        busy = tick(defs, instance)
        assert busy.run_requests == []
        assert busy.skip_message.startswith("first look: the warehouse is busy")
        assert busy.cursor is None  # the next tick tries again from scratch
    finally:
        holder.kill()
        holder.wait()
    assert tick(defs, instance).skip_message.startswith("1 file(s) already in the warehouse")


def sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def keys(request) -> set[str]:
    return {k.to_user_string() for k in request.asset_selection}


def test_first_tick_waits_then_one_run_for_every_stable_file(env):
    settings, defs, instance = env
    landing = settings.landing_dir
    t = write(landing, "transactions/t1.csv", TRANSACTIONS_HEADER, transaction_lines("2024-01-02", 3))
    e = write(landing, "events/e1.csv", EVENTS_HEADER, event_lines("2024-01-03", 4))

    first = tick(defs, instance)
    assert first.run_requests == []
    assert "2 new or changed file(s) not yet stable" in first.skip_message
    assert set(json.loads(first.cursor)["looks"]) == {"transactions/t1.csv", "events/e1.csv"}

    second = tick(defs, instance, first.cursor)
    (req,) = second.run_requests
    pairs = sorted([("events/e1.csv", sha(e)), ("transactions/t1.csv", sha(t))])
    digest = hashlib.sha256("\n".join(f"{r}\t{s}" for r, s in pairs).encode()).hexdigest()
    assert req.run_key == f"batch@{digest}"
    assert req.tags["ecom/files"] == "events/e1.csv,transactions/t1.csv"
    assert req.tags["ecom/window_start"] == "2024-01-02"
    assert req.tags["ecom/window_end"] == "2024-01-03"
    assert req.tags["ecom/on_rejected_file"] == "check"
    # near-real-time: no column lineage, no dbt unit tests (they cannot change with new data)
    assert (req.tags["ecom/column_metadata"], req.tags["ecom/dbt_unit_tests"]) == ("off", "off")
    selected = keys(req)
    assert {
        "raw/transactions",
        "raw/events",
        "marts/fct_order_lines",
        "marts/fct_events",
        "marts/kpi_sales_daily",
        "marts/customer_rfm",
        "bi/sales_daily",
        "bi_copy/warehouse",
    } <= selected
    assert not {k for k in selected if k.startswith(("ml/", "raw/customers", "raw/products"))}
    cursor = json.loads(second.cursor)
    assert cursor["files"]["transactions/t1.csv"]["sha256"] == sha(t)
    assert cursor["files"]["transactions/t1.csv"]["days"] == ["2024-01-02"]
    assert cursor["looks"] == {}

    third = tick(defs, instance, second.cursor)
    assert third.run_requests == []
    assert third.skip_message == "nothing new in the landing folder (2 file(s) already taken)"
    assert third.cursor == second.cursor


def test_one_new_file_runs_its_source_only_with_a_file_hash_run_key(env):
    settings, defs, instance = env
    landing = settings.landing_dir
    write(landing, "transactions/t1.csv", TRANSACTIONS_HEADER, transaction_lines("2024-01-02", 3))
    cursor = tick(defs, instance, tick(defs, instance).cursor).cursor

    e = write(landing, "events/2024-01-05.csv", EVENTS_HEADER, event_lines("2024-01-05", 2))
    assert tick(defs, instance, cursor).run_requests == []  # first look
    res = tick(defs, instance, tick(defs, instance, cursor).cursor)
    (req,) = res.run_requests
    assert req.run_key == f"events/2024-01-05.csv@{sha(e)}"
    assert req.tags["ecom/files"] == "events/2024-01-05.csv"
    assert (req.tags["ecom/window_start"], req.tags["ecom/window_end"]) == (
        "2024-01-05",
        "2024-01-05",
    )
    selected = keys(req)
    assert "raw/events" in selected and "marts/fct_events" in selected
    assert "raw/transactions" not in selected and "marts/fct_order_lines" not in selected


def test_a_changed_file_reruns_with_the_new_hash_and_both_versions_days(env):
    settings, defs, instance = env
    landing = settings.landing_dir
    t = write(landing, "transactions/t.csv", TRANSACTIONS_HEADER, transaction_lines("2024-01-02", 2), mtime_ns=10**18)
    cursor = tick(defs, instance, tick(defs, instance).cursor).cursor
    old = sha(t)

    write(landing, "transactions/t.csv", TRANSACTIONS_HEADER, transaction_lines("2024-01-04", 3), mtime_ns=2 * 10**18)
    look = tick(defs, instance, cursor)
    assert look.run_requests == [] and "not yet stable" in look.skip_message
    requested = tick(defs, instance, look.cursor)
    (req,) = requested.run_requests
    assert sha(t) != old and req.run_key == f"transactions/t.csv@{sha(t)}"
    # the old version's day is rebuilt too (its rows leave it)
    assert (req.tags["ecom/window_start"], req.tags["ecom/window_end"]) == (
        "2024-01-02",
        "2024-01-04",
    )
    # only transactions changed (no dimension moved): the incremental marts take the window too
    assert req.tags["ecom/dbt_windowed_marts"] == "on"

    # a products file moves dimensions (a category): the marts take every day again
    write(
        landing,
        "products/products.csv",
        "stock_code,product_id,description,category,brand,list_price",
        ["SKU000,1000,Item 0,garden,acme,2.50"],
    )
    (req,) = tick(defs, instance, tick(defs, instance, requested.cursor).cursor).run_requests
    assert req.tags["ecom/sources"] == "products"
    assert "ecom/dbt_windowed_marts" not in req.tags
    # no day in the file: today's window, whose facts' post-hooks re-resolve the keys
    today = dt.datetime.now(dt.UTC).date().isoformat()
    assert (req.tags["ecom/window_start"], req.tags["ecom/window_end"]) == (today, today)


def test_old_days_make_the_window_and_the_run_window_reaches_dbt(env):
    from ecom_platform.defs.dbt import run_window

    settings, defs, instance = env
    landing = settings.landing_dir
    write(
        landing,
        "transactions/old.csv",
        TRANSACTIONS_HEADER,
        [*transaction_lines("2009-11-30", 1), *transaction_lines("2010-01-04", 2)],
    )
    (req,) = tick(defs, instance, tick(defs, instance).cursor).run_requests
    # no calendar limits the window: a day before any other is rebuilt like the rest
    assert (req.tags["ecom/window_start"], req.tags["ecom/window_end"]) == ("2009-11-30", "2010-01-04")
    assert req.tags["ecom/days"] == "2009-11-30..2010-01-04 (2 day(s) touched)"
    assert run_window(req.tags) == {"window_start_date": "2009-11-30", "window_end_date": "2010-01-05"}
    assert run_window({}) is None  # no window: every model rebuilt in full


def test_a_malformed_run_window_fails_naming_the_tag():
    from ecom_platform.defs.dbt import run_window

    with pytest.raises(dg.Failure, match=r"ecom/window_start='2024-13-01'.*both must be days"):
        run_window({"ecom/window_start": "2024-13-01", "ecom/window_end": "2024-12-02"})
    with pytest.raises(dg.Failure, match=r"both must be days"):
        run_window({"ecom/window_start": "2024-12-01"})
    with pytest.raises(dg.Failure, match=r"ecom/window_start=2024-12-03 is after ecom/window_end=2024-12-02"):
        run_window({"ecom/window_start": "2024-12-03", "ecom/window_end": "2024-12-02"})


def test_a_half_written_file_is_not_picked_up(env):
    settings, defs, instance = env
    landing = settings.landing_dir
    (landing / "events").mkdir(parents=True)
    (landing / "events" / "big.csv.tmp").write_text(EVENTS_HEADER + "\n")  # .tmp convention: invisible
    growing = landing / "events" / "growing.csv"
    lines = event_lines("2024-01-02", 30)
    cursor = None
    for n in (5, 10, 20):  # the writer appends between looks
        write(landing, "events/growing.csv", EVENTS_HEADER, lines[:n], mtime_ns=n * 10**18)
        res = tick(defs, instance, cursor)
        assert res.run_requests == []
        assert res.skip_message.startswith("1 new or changed file(s) not yet stable")
        assert "big.csv.tmp" not in res.cursor
        cursor = res.cursor
    # size and mtime held for two looks: now it is taken
    (req,) = tick(defs, instance, cursor).run_requests
    assert req.run_key == f"events/growing.csv@{sha(growing)}"


def test_paths_leaving_the_landing_folder_are_refused(env, tmp_path):
    settings, defs, instance = env
    landing = settings.landing_dir
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    secret = write(outside, "stolen.csv", TRANSACTIONS_HEADER, transaction_lines("2024-01-02", 1))
    (landing / "transactions").mkdir(parents=True)
    os.symlink(secret, landing / "transactions" / "link.csv")
    os.symlink(outside, landing / "events")  # a whole source folder pointing outside

    for cursor in (None, tick(defs, instance).cursor):
        res = tick(defs, instance, cursor)
        assert res.run_requests == []
        assert "path(s) refused" in res.skip_message
        assert "link.csv" in res.skip_message
        assert "stolen.csv" not in res.cursor and "link.csv" not in res.cursor


def test_a_file_that_cannot_be_ingested_does_not_block_the_others_and_is_not_retried(env):
    settings, defs, instance = env
    landing = settings.landing_dir
    (landing / "events").mkdir(parents=True)
    (landing / "events" / "empty.csv").write_bytes(b"")
    good = write(landing, "events/good.csv", EVENTS_HEADER, event_lines("2024-01-06", 2))
    (req,) = tick(defs, instance, tick(defs, instance).cursor).run_requests
    assert req.tags["ecom/files"] == "events/empty.csv,events/good.csv"
    assert req.tags["ecom/window_start"] == "2024-01-06"  # the empty file has no day
    cursor = json.loads(tick(defs, instance, tick(defs, instance).cursor).cursor)
    assert cursor["files"]["events/empty.csv"]["days"] == []
    # later ticks do not ask again
    later = tick(defs, instance, json.dumps(cursor))
    assert later.run_requests == [] and "nothing new" in later.skip_message
    assert good.exists()


# ------------------------------------------------------------------ jobs and schedules
def _job_keys(defs, name) -> set[str]:
    return {k.to_user_string() for k in defs.resolve_job_def(name).asset_layer.selected_asset_keys}


def test_jobs_and_schedules_select_what_they_promise(env):
    _, defs, _ = env
    graph = defs.resolve_asset_graph()
    all_dbt = {
        k.to_user_string()
        for k in graph.get_all_asset_keys()
        if k.path[0] in ("staging", "intermediate", "marts", "bi", "seeds")
    }
    ml = {k.to_user_string() for k in graph.get_all_asset_keys() if k.path[0] == "ml"}
    assert len(ml) == 13  # 4 model runs, their 8 tables, model_metrics

    daily = _job_keys(defs, "daily_batch")
    assert daily == all_dbt | {
        "ml/churn_model",
        "ml/churn_scores",
        "ml/churn_feature_importance",
        "ml/model_metrics",
        "bi_copy/warehouse",
        "bi_copy/dashboard",
    }
    assert {"marts/fct_order_lines", "marts/kpi_sales_daily"} <= daily

    weekly = _job_keys(defs, "weekly_retrain")
    assert weekly == ml | {"bi_copy/warehouse", "bi_copy/dashboard"}

    refresh = _job_keys(defs, "landing_refresh")
    assert not refresh & ml
    assert {"raw/transactions", "marts/fct_order_lines", "marts/fct_events", "bi_copy/warehouse"} <= refresh
    assert defs.resolve_job_def("landing_refresh").partitions_def is None

    schedules = {s.name: s for s in defs.schedules}
    assert schedules["daily_batch_schedule"].job_name == "daily_batch"
    assert schedules["daily_batch_schedule"].cron_schedule == "0 5 * * *"
    assert schedules["weekly_retrain_schedule"].job_name == "weekly_retrain"
    assert schedules["weekly_retrain_schedule"].cron_schedule == "0 3 * * 1"
    assert {s.name for s in defs.sensors} == {
        "landing_sensor",
        "default_automation_condition_sensor",
        "freshness_checks_sensor",
        "record_run_failures",
        "record_failed_checks",
        "stale_run_janitor",
    }


def test_one_dbt_asset_and_automation_conditions(env):
    from ecom_platform.defs.dbt import dbt_models

    _, defs, _ = env
    graph = defs.resolve_asset_graph()
    assert not {k for k in graph.get_all_asset_keys() if graph.get(k).partitions_def is not None}
    facts = [dg.AssetKey(["marts", "fct_order_lines"]), dg.AssetKey(["marts", "fct_events"])]
    dbt_keys = {k for k in graph.get_all_asset_keys() if k.path[0] in ("staging", "intermediate", "marts", "bi")}
    # one @dbt_assets: every model (and seed) is one `dbt build`, whatever a run selects
    assert dbt_keys <= set(dbt_models.keys)
    for key in facts:
        assert graph.get(key).automation_condition is None  # kept by the landing sensor's windows
    kpi = graph.get(dg.AssetKey(["marts", "kpi_sales_daily"]))
    assert kpi.automation_condition.get_label() == "eager_on_inputs"
    assert graph.get(dg.AssetKey(["ml", "churn_scores"])).automation_condition is None


def test_freshness_checks_cover_sources_and_bi_facing_tables(env):
    _, defs, _ = env
    checked = {
        c.asset_key.to_user_string() for c in defs.resolve_asset_graph().asset_check_keys if c.name == "freshness_check"
    }
    assert {
        "raw/transactions",
        "raw/events",
        "raw/customers",
        "raw/products",
        "marts/kpi_sales_daily",
        "marts/customer_rfm",
        "bi/sales_daily",
        "bi_copy/warehouse",
    } <= checked


# ------------------------------------------------------------------ failure log
@dg.op
def _ingest_bad_file():
    raise dg.Failure(description="transactions/broken.csv: the file is empty (0 bytes)")


@dg.job(tags={"ecom/files": "transactions/broken.csv", "ecom/trigger": "landing_sensor"})
def _failing_job():
    _ingest_bad_file()


def test_run_failure_sensor_records_the_failing_step_and_file_through_the_writer(env):
    from ecom_platform.defs.automation import record_failures_job, record_run_failures
    from ecom_platform.defs.resources import WarehouseResource

    settings, _, instance = env
    failed = _failing_job.execute_in_process(instance=instance, raise_on_error=False)
    assert not failed.success
    ctx = dg.build_run_status_sensor_context(
        sensor_name="record_run_failures",
        dagster_instance=instance,
        dagster_run=failed.dagster_run,
        dagster_event=failed.get_run_failure_event(),
    ).for_run_failure()
    req = record_run_failures(ctx)
    assert isinstance(req, dg.RunRequest)
    assert req.run_key == f"record_failures:{failed.run_id}"

    warehouse = WarehouseResource(path=str(settings.warehouse_path))
    for _ in range(2):  # recording twice keeps one row
        done = record_failures_job.execute_in_process(
            run_config=req.run_config, instance=instance, resources={"warehouse": warehouse}
        )
        assert done.success
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        rows = con.execute(
            "SELECT run_id, kind, job_name, step_key, failing_file, trigger, run_files, failed_at IS NOT NULL, "
            "error_message FROM ops.run_failures"
        ).fetchall()
    assert len(rows) == 1
    run_id, kind, job, step, file, trigger, run_files, has_time, message = rows[0]
    assert (run_id, kind, job, step, file, trigger, run_files, has_time) == (
        failed.run_id,
        "run_failure",
        "_failing_job",
        "_ingest_bad_file",
        "transactions/broken.csv",
        "landing_sensor",
        "transactions/broken.csv",
        True,
    )
    assert "the file is empty" in message

    # a failed recording run is never answered with another recording
    rec_fail = record_failures_job.execute_in_process(
        run_config={"ops": {"write_run_failures": {"config": {"rows_json": '[{"kind": "bad"}]'}}}},
        instance=instance,
        resources={"warehouse": warehouse},
        raise_on_error=False,
    )
    assert not rec_fail.success
    ctx = dg.build_run_status_sensor_context(
        sensor_name="record_run_failures",
        dagster_instance=instance,
        dagster_run=rec_fail.dagster_run,
        dagster_event=rec_fail.get_run_failure_event(),
    ).for_run_failure()
    skip = record_run_failures(ctx)
    assert isinstance(skip, dg.SkipReason) and "not recorded" in skip.skip_message


@pytest.mark.component  # a Dagster run in process
def test_in_a_sensor_run_a_rejected_file_fails_a_check_not_the_run(tmp_path, monkeypatch, dbt_manifest):
    from ecom_platform.contract import ON_REJECTED_TAG
    from ecom_platform.defs.ingestion import ingestion_assets
    from ecom_platform.defs.resources import LandingFolder, WarehouseResource

    settings = use_environment(monkeypatch, tmp_path)
    (settings.landing_dir / "events").mkdir(parents=True)
    (settings.landing_dir / "events" / "empty.csv").write_bytes(b"")
    write(settings.landing_dir, "events/good.csv", EVENTS_HEADER, event_lines("2024-01-06", 3))
    events_asset = next(a for a in ingestion_assets if a.key == dg.AssetKey(["raw", "events"]))
    resources = {
        "warehouse": WarehouseResource(path=str(settings.warehouse_path)),
        "landing": LandingFolder(path=str(settings.landing_dir)),
        "settings": settings,
    }
    result = dg.materialize(
        [events_asset],
        resources=resources,
        instance=dg.DagsterInstance.ephemeral(),
        tags={ON_REJECTED_TAG: "check", "ecom/files": "events/empty.csv,events/good.csv"},
    )
    assert result.success
    (check,) = [c for c in result.get_asset_check_evaluations() if c.check_name == "no_rejected_files"]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    assert check.metadata["rejected_files"].data == ["events/empty.csv"]
    assert "events/empty.csv" in check.description and "empty" in check.description
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM raw.events").fetchone()[0] == 3
        assert dict(con.execute("SELECT file_name, status FROM raw.ingest_log").fetchall()) == {
            "events/empty.csv": "rejected",
            "events/good.csv": "loaded",
        }

    # a new bad file in a run started by hand (no tag): the run fails and names the file
    write(settings.landing_dir, "events/header_only.csv", EVENTS_HEADER, [])
    failed = dg.materialize(
        [events_asset], resources=resources, instance=dg.DagsterInstance.ephemeral(), raise_on_error=False
    )
    assert not failed.success
    (failure,) = [e for e in failed.all_events if e.is_step_failure]
    assert "events/header_only.csv" in failure.event_specific_data.error.message
    # ... after recording what it committed: the materialization and every check
    (mat,) = failed.asset_materializations_for_node("raw__events")
    assert mat.metadata["files_rejected"].value == 1
    assert mat.metadata["dagster/row_count"].value == 3
    evals = {c.check_name: c for c in failed.get_asset_check_evaluations()}
    assert sorted(evals) == [
        "no_rejected_files",
        "quarantine_rate_below_threshold",
        "required_columns_not_null",
        "unique_lineage_key",
    ]
    assert not evals["no_rejected_files"].passed
    assert "events/header_only.csv" in evals["no_rejected_files"].description
    assert evals["required_columns_not_null"].passed and evals["unique_lineage_key"].passed
