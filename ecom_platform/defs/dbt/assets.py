"""The ``@dbt_assets`` (every model, seed and test: one ``dbt build`` a run) and what a step adds: tests, row counts, lineage."""

import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets
from dagster_dbt.asset_utils import DAGSTER_DBT_UNIQUE_ID_METADATA_KEY, get_manifest_and_translator_from_dbt_assets

from ecom_platform.config import dbt_run_environment
from ecom_platform.contract import (
    COLUMN_METADATA_TAG,
    TESTS_SCOPE_TAG,
    UNIT_TESTS_TAG,
    WINDOW_END_TAG,
    WINDOW_START_TAG,
    WINDOWED_MARTS_TAG,
)
from ecom_platform.defs.dbt import spark
from ecom_platform.defs.dbt.project import KEEP_INVOCATION_FOLDERS, dbt_project
from ecom_platform.defs.dbt.resource import _dbt_adapter, release_adapter_connection
from ecom_platform.defs.dbt.translator import translator
from ecom_platform.defs.resources import WRITER_POOL, WarehouseResource
from ecom_platform.lib.warehouse import prune_dbt_invocation_folders, table_row_counts, wait_until_writable


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=translator,
    pool=WRITER_POOL,
)
def dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource):
    """`dbt build` over the selected models: runs, seeds, tests (as checks), row counts, column lineage."""
    Path(warehouse.path).parent.mkdir(parents=True, exist_ok=True)
    window = run_window(context.run.tags if context.run else {})
    if window is None:
        # --full-refresh: the incremental models (the daily facts, int_retail__order_lines,
        # the clickstream kept by key, the incremental marts) are rebuilt with CREATE TABLE AS
        context.log.info("no day window: every model rebuilt in full")
        command = ["build", "--full-refresh"]
    else:
        context.log.info(
            f"day window {window['window_start_date']} .. {window['window_end_date']} (end exclusive) for the "
            "daily facts, int_retail__order_lines and the clickstream kept by key"
        )
        command = ["build"]
    yield from _build(context, dbt, warehouse, command, window=window)


def run_window(tags: Mapping[str, str]) -> dict[str, str] | None:
    """The run's day window as dbt reads it ({window_start_date, window_end_date}, end
    exclusive) from its tags (first and last day, inclusive), or None (a full rebuild).
    A malformed tag is an error that names it: guessing would rebuild the wrong days."""
    start, end = tags.get(WINDOW_START_TAG), tags.get(WINDOW_END_TAG)
    if not start and not end:
        return None
    try:
        first, last = dt.date.fromisoformat(start or ""), dt.date.fromisoformat(end or "")
    except ValueError:
        raise dg.Failure(
            f"run tags {WINDOW_START_TAG}={start!r} and {WINDOW_END_TAG}={end!r}: both must be days "
            "(YYYY-MM-DD), the first and last day to rebuild; leave both out to rebuild every day"
        ) from None
    if last < first:
        raise dg.Failure(f"run tags {WINDOW_START_TAG}={start} is after {WINDOW_END_TAG}={end}: no day to rebuild")
    return {"window_start_date": first.isoformat(), "window_end_date": (last + dt.timedelta(days=1)).isoformat()}


def _build(
    context: dg.AssetExecutionContext,
    dbt: DbtCliResource,
    warehouse: WarehouseResource,
    command: list[str],
    window: dict[str, str] | None,
):
    """Start dbt (``command`` + the step's selection) and yield its events with row counts."""
    tags = context.run.tags if context.run else {}
    # dagster-dbt reads column metadata through a dbt adapter in this process: on Spark that
    # would start a JVM here, holding the metastore dbt needs (the declared schema stays)
    column_metadata = tags.get(COLUMN_METADATA_TAG) != "off" and not warehouse.on_spark
    # no logs/dbt.log: the run's logs hold dbt's events, and the SQL each node ran is in the
    # invocation's target folder (run/, compiled/). Writing every statement to that file at
    # debug level cost about 1 s of a scale-1 refresh (dbt formats each event under the GIL).
    args = [*command, "--log-level-file", "none", *_indirect_selection(context)]
    if tags.get(UNIT_TESTS_TAG) == "off":
        args += ["--exclude-resource-type", "unit_test"]
    run_env = {
        **(window or {}),
        "new_rows_run_id": context.run.run_id if tags.get(TESTS_SCOPE_TAG) == "new_rows" else None,
        # the incremental marts recompute only the window's days (dbt_project/macros/mart_window.sql)
        "marts_window": "on" if window and tags.get(WINDOWED_MARTS_TAG) == "on" else None,
    }
    # dbt opens the file itself: wait here (bounded, said in the log) while another process,
    # such as a BI tool on the live file, holds it, rather than let dbt fail on the lock
    wait_until_writable(warehouse.path, warehouse.lock_wait_seconds, log=context.log.warning)
    if warehouse.on_spark:
        spark.sync_raw(warehouse, context.log.info)
    invocation = None
    try:
        # the dbt process starts inside: these variables go with it
        with dbt_run_environment(run_env), _dbt_adapter(column_metadata):
            invocation = dbt.cli(args, context=context)
        yield from _with_metadata(context, invocation.stream(), warehouse, column_metadata)
    finally:
        release_adapter_connection()
        # one folder per dbt invocation (beside the others, under DBT_TARGET_PATH when set):
        # keep the newest few for debugging, not every one
        folders = invocation.target_path.parent if invocation is not None else Path(dbt_project.project_dir) / "target"
        prune_dbt_invocation_folders(folders, keep=KEEP_INVOCATION_FOLDERS)


def _indirect_selection(context: dg.AssetExecutionContext) -> list[str]:
    """Run a test only once every model it reads is built (dbt's `buildable`), not as soon as one is.

    With dbt's default (`eager`), a run of part of the project (the landing sensor's: what
    the new files feed) would also run each test touching one of its models, even one whose
    other model the run does not build and may not exist yet. When the user deselected some checks, dagster-dbt selects tests explicitly (indirect
    selection `empty`); leave that alone.

    `buildable` only sees the dbt graph of the run: a test also reading a model that is
    neither built in the run nor upstream of it (fct_order_lines -> dim_dates: the facts'
    keys are computed, not looked up, so the dimensions are not their parents) would not
    run, and its check would stay planned for ever. Such tests are selected explicitly when
    the model they also read is ready (see :func:`_planned_tests_beyond_buildable`).
    """
    selected = set(context.selected_asset_keys)
    checks_of_selected = {
        spec.key for spec in context.assets_def.node_check_specs_by_output_name.values() if spec.asset_key in selected
    }
    if checks_of_selected - set(context.selected_asset_check_keys):
        return []
    args = ["--indirect-selection", "buildable"]
    manifest, translator, project = get_manifest_and_translator_from_dbt_assets([context.assets_def])
    extra = _planned_tests_beyond_buildable(context, manifest, translator, project)
    if extra:
        # dagster-dbt unions this --select with its own; naming the step's models too keeps
        # them selected when its own selection is an --exclude (an unsubsetted dbt_models).
        args += ["--select", " ".join([*_dbt_names(context, manifest, context.selected_asset_keys), *extra])]
    return args


def _dbt_names(context: dg.AssetExecutionContext, manifest: Mapping[str, Any], keys) -> list[str]:
    """dbt names (fqn) of the models / seeds behind ``keys``."""
    assets_def = context.assets_def
    unique_ids = [assets_def.get_asset_spec(k).metadata[DAGSTER_DBT_UNIQUE_ID_METADATA_KEY] for k in keys]
    return sorted(".".join(manifest["nodes"][uid]["fqn"]) for uid in unique_ids)


def _planned_tests_beyond_buildable(
    context: dg.AssetExecutionContext, manifest: Mapping[str, Any], translator: DagsterDbtTranslator, project
) -> list[str]:
    """dbt names of this step's planned tests that `buildable` leaves out but can run now.

    A test is left out by `buildable` when one of the models it reads is neither built in
    this step nor a dbt ancestor of a model built here. It can run once that model is
    built: by an earlier step of this run when the run holds it, else by any earlier run.
    Dagster cannot order a step after a check's other inputs (dagster-dbt gives the op no
    input for them), so "built" is read from the materializations. A test whose model is
    not built yet is left out with a warning: its check stays planned.
    """
    assets_def = context.assets_def
    parent_map = manifest["parent_map"]
    step_nodes = {
        assets_def.get_asset_spec(k).metadata[DAGSTER_DBT_UNIQUE_ID_METADATA_KEY] for k in context.selected_asset_keys
    }
    buildable, todo = set(step_nodes), list(step_nodes)
    while todo:
        for parent in parent_map.get(todo.pop(), []):
            if parent not in buildable:
                buildable.add(parent)
                todo.append(parent)

    run = context.run
    if run.asset_selection is not None:
        in_run = set(run.asset_selection)
    else:
        in_run = set(context.job_def.asset_layer.selected_asset_keys)
    ready: dict[dg.AssetKey, bool] = {}

    def is_ready(key: dg.AssetKey) -> bool:
        if key not in ready:
            event = context.instance.get_latest_materialization_event(key)
            ready[key] = event is not None and (key not in in_run or event.run_id == run.run_id)
        return ready[key]

    extra, waiting = [], []
    for check_key in sorted(context.selected_asset_check_keys, key=lambda c: (c.asset_key.path, c.name)):
        spec = assets_def.get_spec_for_check_key(check_key)
        unique_id = (spec.metadata or {}).get(DAGSTER_DBT_UNIQUE_ID_METADATA_KEY)
        if not unique_id:
            continue
        outside = [
            translator.get_asset_spec(manifest, parent, project).key
            for parent in parent_map.get(unique_id, [])
            if parent not in buildable and not parent.startswith("source.")
        ]
        if not outside:
            continue  # buildable selects it
        if all(is_ready(key) for key in outside):
            extra.append(".".join(manifest["nodes"][unique_id]["fqn"]))
        else:
            waiting.append(f"{check_key.to_user_string()} (reads {', '.join(k.to_user_string() for k in outside)})")
    if waiting:
        context.log.warning(
            f"{len(waiting)} planned check(s) not run: a model they read is not built yet: " + "; ".join(waiting)
        )
    return extra


def _with_metadata(context: dg.AssetExecutionContext, events, warehouse: WarehouseResource, column_metadata: bool):
    """Row counts always; column schema and lineage unless the run says ``ecom/column_metadata=off``.

    Column lineage (sqlglot over every model and its parents) costs tens of seconds and
    does not change when only data does, so the landing sensor's runs skip it to stay
    near-real-time; full builds (make run, schedules) keep it.

    On Spark, the step's tables are first copied into the DuckDB file (:mod:`.spark`).
    Row counts are counted here, in one DuckDB connection once dbt has exited (it holds the
    file's write lock until then, so no count can run earlier), not by dagster-dbt's
    ``fetch_row_counts``, which opens the warehouse through the dbt adapter for every model
    and cost seconds per step (docs/benchmarks.md, Measured choices). The events are held until the counts are
    attached, as dagster-dbt's row counts held them too; a failed dbt run still yields
    what it built, then raises.
    """
    if column_metadata:
        events = events.fetch_column_metadata()
    held, error = [], None
    try:
        for event in events:
            held.append(event)
    except Exception as exc:  # noqa: BLE001 - re-raised below, after what dbt built is reported
        error = exc
    release_adapter_connection()  # column metadata may have opened the file in this process
    keys_by_output = context.assets_def.keys_by_output_name
    outputs = {ev.output_name: keys_by_output[ev.output_name] for ev in held if isinstance(ev, dg.Output)}
    counts: dict[tuple[str, ...], int] = {}
    if outputs and warehouse.on_spark:
        counts.update(spark.pull_built_tables(context, warehouse, outputs.values()))
    elif outputs and Path(warehouse.path).exists():
        with warehouse.connect(read_only=True) as con:
            counts = table_row_counts(con, [tuple(k.path) for k in outputs.values() if len(k.path) == 2])
    specs = context.assets_def.specs_by_key
    for ev in held:
        if isinstance(ev, dg.Output):
            key = outputs[ev.output_name]
            extra = {}
            if tuple(key.path) in counts:
                extra["dagster/row_count"] = dg.MetadataValue.int(counts[tuple(key.path)])
            described = with_descriptions(ev.metadata.get(COLUMN_SCHEMA), specs[key].metadata.get(COLUMN_SCHEMA))
            if described is not None:
                extra[COLUMN_SCHEMA] = described
            if extra:
                ev = ev.with_metadata({**ev.metadata, **extra})
        yield ev
    if error is not None:
        raise error


COLUMN_SCHEMA = "dagster/column_schema"


def with_descriptions(fetched, declared) -> dg.TableSchemaMetadataValue | None:
    """The column schema read from the warehouse (names and types, what dagster-dbt's
    ``fetch_column_metadata`` attaches to a materialization) with each column's description
    from the asset's declared schema (the dbt YAML), so the columns a run records are as
    described as the asset's definition. None when there is nothing to add."""
    if fetched is None or declared is None:
        return None
    # an asset spec holds a TableSchema, an event a TableSchemaMetadataValue wrapping one
    fetched_schema = getattr(fetched, "schema", fetched)
    texts = {c.name.lower(): c.description for c in getattr(declared, "schema", declared).columns if c.description}
    columns = fetched_schema.columns
    if not any(not c.description and c.name.lower() in texts for c in columns):
        return None
    return dg.MetadataValue.table_schema(
        dg.TableSchema(
            columns=[
                dg.TableColumn(
                    c.name, c.type, c.description or texts.get(c.name.lower()), constraints=c.constraints, tags=c.tags
                )
                for c in columns
            ],
            constraints=fetched_schema.constraints,
        )
    )
