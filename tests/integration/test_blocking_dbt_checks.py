"""dbt tests as blocking Dagster asset checks, on a real in-process materialization.

The issue: "dbt tests surface as Dagster asset checks; an error-severity failure blocks
what is downstream." The blocking is dbt's own: ``dbt build`` skips every node downstream
of a model whose error-severity test failed, so dagster-dbt emits no materialization for
them (and the step fails on dbt's exit code); models not downstream are still built.

One tiny generated shop, ingested and built once (baseline). Then the same selection (the
``dbt_models`` asset: every dbt model, one ``dbt build``) runs twice:

- control: on the clean data; every check passes, every model is rebuilt;
- planted: after one raw event with an unknown ``event_type`` ('wishlist') is written
  straight into ``raw.events`` (ingestion would quarantine it), which fails the
  error-severity ``accepted_values`` test of ``stg_shop__events``.

Before each of the two runs a sentinel (a duplicated row) is added to a table downstream of
``stg_shop__events`` (``marts.dim_dates``) and to one that is not (``marts.dim_customers``):
a rebuilt table loses its sentinel, a blocked one keeps it.
"""

from __future__ import annotations

import json

import dagster as dg
import duckdb
import pytest

from devtools.generator import generate
from tests.conftest import check_results, step_failures, use_environment

pytestmark = pytest.mark.integration

SCALE = 0.01
FAILING_MODEL = "stg_shop__events"
PLANTED_EVENT_TYPE = "wishlist"
# Tables that get a sentinel row before the control and the planted run.
DOWNSTREAM_TABLE = "marts.dim_dates"  # stg_shop__events -> int_calendar__date_range -> dim_dates
INDEPENDENT_TABLE = "marts.dim_customers"  # not downstream of stg_shop__events


def materialize(settings, selection, instance):
    """Materialize ``selection`` in process (column lineage metadata off: it only costs time)."""
    from ecom_platform.contract import COLUMN_METADATA_TAG
    from ecom_platform.definitions import build_defs

    defs = build_defs(settings)
    job = dg.define_asset_job("blocking_dbt_checks", selection=selection, tags={COLUMN_METADATA_TAG: "off"}).resolve(
        asset_graph=defs.resolve_asset_graph()
    )
    return job.execute_in_process(
        instance=instance,
        raise_on_error=False,
        run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
    )


def materialized(result) -> set[dg.AssetKey]:
    """Asset keys with a materialization event in the run."""
    return {e.asset_key for e in result.all_events if e.event_type_value == "ASSET_MATERIALIZATION"}


def check_evaluations(result) -> dict[str, dg.AssetCheckEvaluation]:
    """``{"asset/key:check_name": AssetCheckEvaluation}`` for every check evaluated in a run."""
    out = {}
    for e in result.all_events:
        if e.event_type_value == "ASSET_CHECK_EVALUATION":
            ev = e.event_specific_data
            out[f"{ev.asset_key.to_user_string()}:{ev.check_name}"] = ev
    return out


def dbt_graph():
    """(manifest, {unique_id: AssetKey}) for the models of the manifest."""
    from ecom_platform.defs.dbt import dbt_project, translator

    manifest = json.loads(dbt_project.manifest_path.read_text())
    keys = {
        uid: translator.get_asset_spec(manifest, uid, dbt_project).key
        for uid, node in manifest["nodes"].items()
        if node["resource_type"] in ("model", "seed")
    }
    return manifest, keys


def model_uid(manifest, name: str) -> str:
    (uid,) = [u for u, n in manifest["nodes"].items() if n["resource_type"] == "model" and n["name"] == name]
    return uid


def descendants(manifest, uid: str) -> set[str]:
    """Every model downstream of ``uid`` in the whole dbt graph (tests excluded)."""
    out, todo = set(), [uid]
    while todo:
        for child in manifest["child_map"].get(todo.pop(), []):
            if child.startswith(("model.", "seed.")) and child not in out:
                out.add(child)
                todo.append(child)
    return out


def event_type_test(manifest) -> dict:
    """The accepted_values test on stg_shop__events.event_type (the test the planted row fails)."""
    uid = model_uid(manifest, FAILING_MODEL)
    (node,) = [
        n
        for n in manifest["nodes"].values()
        if n["resource_type"] == "test"
        and n.get("attached_node") == uid
        and n.get("column_name") == "event_type"
        and (n.get("test_metadata") or {}).get("name") == "accepted_values"
    ]
    return node


def add_sentinels(warehouse) -> dict[str, int]:
    """Duplicate one row of each sentinel table; return the counts before the duplicate."""
    before = {}
    with duckdb.connect(str(warehouse)) as con:
        for table in (DOWNSTREAM_TABLE, INDEPENDENT_TABLE):
            before[table] = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            con.execute(f"INSERT INTO {table} SELECT * FROM {table} LIMIT 1")
    return before


def table_counts(warehouse) -> dict[str, int]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return {
            t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in (DOWNSTREAM_TABLE, INDEPENDENT_TABLE)
        }


def plant_unknown_event_type(warehouse) -> None:
    """One raw event with an event_type outside the accepted values, with its own lineage
    (so no other test, e.g. the unique (_file_sha256, _row_number), fails with it)."""
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            f"""INSERT INTO raw.events
                SELECT * REPLACE ('{PLANTED_EVENT_TYPE}' AS event_type, 'planted/by_test.csv' AS _source_file,
                                  'planted-by-test' AS _file_sha256, 1 AS _row_number)
                FROM raw.events LIMIT 1"""
        )


def baseline_selection(dbt_models) -> dg.AssetSelection:
    """Ingestion and every dbt model: what the dbt_models runs read (raw.*) and the tables
    they rebuild or block."""
    return dg.AssetSelection.groups("ingestion") | dg.AssetSelection.assets(*dbt_models.keys)


@pytest.fixture(scope="module")
def runs(tmp_path_factory, dbt_manifest):
    from ecom_platform.defs.dbt import dbt_models

    root = tmp_path_factory.mktemp("blocking")
    generate(root / "landing", scale=SCALE, seed=7, progress=None)
    mp = pytest.MonkeyPatch()
    try:
        settings = use_environment(mp, root)
        warehouse = settings.warehouse_path
        instance = dg.DagsterInstance.ephemeral()

        baseline = materialize(settings, baseline_selection(dbt_models), instance)
        assert baseline.success, step_failures(baseline)

        # The same selection twice: every dbt model, i.e. one `dbt build`.
        selection = dg.AssetSelection.assets(*dbt_models.keys)
        control_before = add_sentinels(warehouse)
        control = materialize(settings, selection, instance)
        control_after = table_counts(warehouse)

        plant_unknown_event_type(warehouse)
        planted_before = add_sentinels(warehouse)
        planted = materialize(settings, selection, instance)
        planted_after = table_counts(warehouse)
    finally:
        mp.undo()

    manifest, keys = dbt_graph()
    test_node = event_type_test(manifest)
    failing_model = model_uid(manifest, FAILING_MODEL)
    dbt_model_keys = set(dbt_models.keys)
    return {
        "dbt_models": dbt_model_keys,
        # Downstream in the whole dbt graph (dbt skips the dependents of a failed test).
        "downstream": {keys[u] for u in descendants(manifest, failing_model)} & dbt_model_keys,
        "children": {keys[u] for u in manifest["child_map"][failing_model] if u in keys} & dbt_model_keys,
        "failing_key": keys[failing_model],
        "check": f"{keys[failing_model].to_user_string()}:{test_node['name']}",
        "test_node": test_node,
        "control": control,
        "planted": planted,
        "control_tables": (control_before, control_after),
        "planted_tables": (planted_before, planted_after),
    }


def test_the_planted_failure_is_downstream_of_something(runs):
    """Guard against a vacuous test: the failing model has dbt_models descendants, among them
    the sentinel table, and the sentinel's twin is not one of them."""
    as_str = {k.to_user_string() for k in runs["downstream"]}
    assert {"intermediate/int_calendar__date_range", "intermediate/int_events__sessionised"} <= {
        k.to_user_string() for k in runs["children"]
    }
    assert {"marts/dim_dates", "marts/kpi_sales_daily", "bi/sales_daily"} <= as_str
    assert "marts/dim_customers" not in as_str
    assert runs["test_node"]["config"]["severity"].lower() == "error"


def test_control_on_clean_data_passes_and_rebuilds_everything(runs):
    control = runs["control"]
    assert control.success, step_failures(control)
    results = check_results(control)
    assert [k for k, ok in results.items() if not ok] == []
    assert results[runs["check"]] is True
    assert materialized(control) == runs["dbt_models"]
    assert runs["downstream"] <= materialized(control)
    before, after = runs["control_tables"]
    assert after == before, "both sentinel tables were rebuilt (their duplicated row is gone)"


def test_planted_row_fails_the_error_severity_check(runs):
    planted = runs["planted"]
    evaluations = check_evaluations(planted)
    failed = sorted(k for k, ev in evaluations.items() if not ev.passed)
    assert failed == [runs["check"]]
    ev = evaluations[runs["check"]]
    assert ev.asset_key == runs["failing_key"]
    assert ev.check_name == runs["test_node"]["name"]
    assert ev.check_name.startswith("accepted_values_stg_shop__events_event_type")
    assert ev.passed is False
    assert ev.severity == dg.AssetCheckSeverity.ERROR
    assert ev.metadata["unique_id"].value == runs["test_node"]["unique_id"]
    assert ev.metadata["status"].value == "fail"
    assert ev.metadata["dagster_dbt/failed_row_count"].value == 1
    # The model itself was built (its test ran on it); the run fails on dbt's exit code.
    assert runs["failing_key"] in materialized(planted)
    assert not planted.success
    (failure,) = step_failures(planted)
    assert failure.startswith("dbt_models:") and runs["test_node"]["name"] in failure


def test_planted_failure_blocks_downstream_only(runs):
    planted = runs["planted"]
    built = materialized(planted)
    assert built & runs["downstream"] == set(), "a model downstream of the failed check was materialized"
    # Everything not downstream of the failed check still materializes in the same run.
    assert built == runs["dbt_models"] - runs["downstream"]
    # dbt skipped the downstream models' own tests too: none of their checks was evaluated.
    evaluated_assets = {ev.asset_key for ev in check_evaluations(planted).values()}
    assert evaluated_assets & runs["downstream"] == set()


def test_blocked_table_keeps_its_old_content(runs):
    """The warehouse agrees: the downstream table was not rebuilt (it still holds the
    sentinel row added before the run), the independent one was (sentinel gone)."""
    before, after = runs["planted_tables"]
    assert after[DOWNSTREAM_TABLE] == before[DOWNSTREAM_TABLE] + 1
    assert after[INDEPENDENT_TABLE] == before[INDEPENDENT_TABLE]
