"""ML assets: the wiring of each model's run (:mod:`ecom_platform.lib.ml_runner`: read the
marts, train, score) into Dagster, and the write of ``ml.*`` back.

Each model is one multi-asset. Its ``ml/<name>_model`` asset (the model run: champion,
evaluation, verdict) is materialized on every run and writes the model's row of
``ml.model_status`` and its metrics to ``ml.model_metrics``. Its tables are written only
when the champion beats the naive baseline on enough data; otherwise they are not
overwritten (the previous published version stays), the non-blocking check
``publishable`` warns with the reason, and everything downstream (the BI copy, the
dashboard) still publishes. A model whose training raises is recorded the same way
(status ``failed``), so one model never holds the others back.
"""

import dagster as dg
import pandas as pd

from ecom_platform.defs.resources import WRITER_POOL, MLSettings, WarehouseResource
from ecom_platform.lib import ml_io, ml_runner, model_status
from ecom_platform.lib.ml_runner import MODELS, ModelSpec, train_model

GROUP = "ml"
MART_INPUTS = [dg.AssetKey(["marts", table]) for table in ml_runner.MART_INPUTS]


def model_key(model: ModelSpec) -> dg.AssetKey:
    """The model run itself: champion, evaluation and verdict (a row in ml.model_status, its
    metrics in ml.model_metrics). Materialized on every run, published or not."""
    return dg.AssetKey(["ml", f"{model.name}_model"])


def build_model_asset(model: ModelSpec) -> dg.AssetsDefinition:
    deps = [*MART_INPUTS, *(dg.AssetKey(["marts", t]) for t in model.extra_inputs)]
    kinds = {"python", "lightgbm" if model.name in ("churn", "forecast") else "scikitlearn", "duckdb"}
    run_spec = dg.AssetSpec(
        key=model_key(model),
        group_name=GROUP,
        description=(
            f"{model.description} The model run: every candidate against the naive baseline "
            "on a time-based split, the champion and the verdict (one row in ml.model_status, "
            "metrics in ml.model_metrics). Materialized whether or not the tables are published."
        ),
        deps=deps,
        kinds=kinds,
    )
    specs = [run_spec] + [
        dg.AssetSpec(
            key=["ml", table],
            group_name=GROUP,
            description=f"{desc} Written only when the model is published; otherwise the last "
            "published version stays (see ml.model_status).",
            deps=deps,
            kinds=kinds,
            skippable=True,
        )
        for table, desc in model.outputs.items()
    ]

    @dg.multi_asset(
        name=f"train_{model.name}",
        specs=specs,
        description=model.description,
        pool=WRITER_POOL,
        check_specs=[
            dg.AssetCheckSpec(
                "publishable",
                asset=model_key(model),
                blocking=False,
                description="The champion beats the naive baseline on the time-based evaluation, with "
                "enough data. When not, the model's tables are not written (the reason is in "
                "ml.model_status) and everything else still publishes.",
            )
        ],
    )
    def _model(context: dg.AssetExecutionContext, warehouse: WarehouseResource, ml: MLSettings):
        tables = tuple(model.outputs)
        try:
            outcome = train_model(
                model, warehouse.connect, ml.max_customers, warehouse.memory_limit, log=context.log.info
            )
        except Exception as e:  # noqa: BLE001 - a model's failure must not hold the others back
            context.log.exception(f"{model.name}: training failed; its tables are not published")
            status = model_status.from_error(model.name, e, tables)
            with warehouse.connect() as con:
                model_status.write(con, status, context.run.run_id)
            yield dg.MaterializeResult(
                asset_key=model_key(model),
                metadata={"published": False, "status": status.status, "reason": status.reason},
            )
            yield dg.AssetCheckResult(
                asset_key=model_key(model),
                check_name="publishable",
                passed=False,
                severity=dg.AssetCheckSeverity.ERROR,
                description=status.reason,
            )
            return
        result = outcome.state
        run = outcome.run
        status = model_status.from_run(model.name, run, tables)
        with warehouse.connect() as con:
            ml_io.append_metrics(con, run.metrics_frame(), context.run.run_id)
            written = {}
            if run.publishable:
                for table, frame in outcome.tables.items():
                    written[table] = ml_io.write_table(con, table, frame)
            model_status.write(con, status, context.run.run_id)
        context.log.info(f"{status.one_line()} ({outcome.metadata['seconds_train_and_score']:.1f}s training)")
        common = {
            "publishable": run.publishable,
            "verdict": run.reason,
            "artifact_hash": run.artifact_hash,
            "data_window": f"{run.data_start} .. {run.data_end}",
            "train_rows": run.n_train,
            "eval_rows": run.n_eval,
            **outcome.metadata,
            "metrics": dg.MetadataValue.md(run.markdown_table()),
            "params": dg.MetadataValue.json(run.params),
        }
        for key, value in run.metrics.items():
            if isinstance(value, (int, float)) and value == value:
                common[f"metric/{key}"] = float(value)
        yield dg.MaterializeResult(
            asset_key=model_key(model),
            metadata={
                **common,
                "published": run.publishable,
                "status": status.status,
                "reason": status.reason,
                "what_would_change_it": status.what_would_change_it or "-",
                "champion": status.champion or "-",
            },
        )
        for table, rows in written.items():
            yield dg.MaterializeResult(asset_key=["ml", table], metadata={**common, "dagster/row_count": rows})
        yield dg.AssetCheckResult(
            asset_key=model_key(model),
            check_name="publishable",
            passed=run.publishable,
            severity=dg.AssetCheckSeverity.WARN,
            description=status.reason,
            metadata={
                "metrics": dg.MetadataValue.md(run.markdown_table()),
                "data_check": dg.MetadataValue.json(result.check.as_dict()),
                "what_would_change_it": status.what_would_change_it or "-",
            },
        )

    return _model


model_assets = [build_model_asset(m) for m in MODELS]
MODEL_RUN_KEYS = [model_key(m) for m in MODELS]


@dg.asset(
    key=["ml", "model_metrics"],
    group_name=GROUP,
    pool=WRITER_POOL,
    kinds={"duckdb"},
    deps=MODEL_RUN_KEYS,
    description="Every model run and metric beside its baseline's value (history kept), and "
    "ml.model_status (one row per model: published or not, why, what would change it); "
    "this asset summarises the latest run per model.",
)
def model_metrics(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    with warehouse.connect(read_only=False) as con:
        has_metrics = con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'ml' AND table_name = 'model_metrics'"
        ).fetchone()[0]
        latest = (
            con.execute(
                """
            SELECT task, model, metric, value, baseline_name, baseline_value, beats_baseline, publishable
            FROM ml.model_metrics
            QUALIFY recorded_at = max(recorded_at) OVER (PARTITION BY task)
            ORDER BY task, is_primary DESC, metric, baseline_name
            """
            ).df()
            if has_metrics
            else pd.DataFrame()
        )
        total = con.execute("SELECT count(*) FROM ml.model_metrics").fetchone()[0] if has_metrics else 0
        statuses = model_status.read(con)
    md = latest.to_string(index=False)
    status_md = "\n".join(
        ["| model | published | reason |", "|---|---|---|"]
        + [f"| {s['model']} | {'yes' if s['published'] else 'no'} | {s['reason']} |" for s in statuses]
    )
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": int(total),
            "latest_runs": dg.MetadataValue.md(f"```\n{md}\n```"),
            "model_status": dg.MetadataValue.md(status_md),
            "published_models": ", ".join(s["model"] for s in statuses if s["published"]) or "none",
        }
    )


ml_assets_defs = [*model_assets, model_metrics]
