"""ML assets: thin wrappers that read the marts, call ml_assets, and write ml.* back.

Each model is one multi-asset whose outputs are written only when the model beats its
baseline(s) on enough data. Otherwise nothing is overwritten (the previous published
version stays), the blocking check ``publishable`` fails with the reason, and everything
downstream (the BI copy) waits. Every run's metrics land in ``ml.model_metrics`` either way.
"""

import time
from dataclasses import dataclass
from typing import Callable

import dagster as dg
import pandas as pd

from ecom_platform.defs.resources import WRITER_POOL, WarehouseResource
from ecom_platform.lib import ml_io

GROUP = "ml"
MART_INPUTS = [
    dg.AssetKey(["marts", "fct_order_lines"]),
    dg.AssetKey(["marts", "dim_products"]),
    dg.AssetKey(["marts", "dim_customers"]),
]


@dataclass(frozen=True)
class ModelAsset:
    name: str
    description: str
    outputs: dict[str, str]  # table -> description
    extra_deps: tuple[dg.AssetKey, ...]
    needs_events: bool
    train: Callable[[dict[str, pd.DataFrame]], object]
    tables: Callable[[object], dict[str, pd.DataFrame]]
    # the ``lines`` columns the model uses (ml_io.LINE_COLUMN_SQL); prepare_lines fills the rest
    line_columns: tuple[str, ...] | None = None


# What each model reads of the order lines (9.8M rows at scale 10): the description (text,
# ~0.3 GB there) only for the recommendation reasons, the unit price never (net_amount and
# quantity carry it).
CUSTOMER_LINE_COLUMNS = ("invoice", "stock_code", "customer_id", "invoice_date", "quantity",
                         "net_amount", "is_cancellation", "is_merchandise", "category", "country")
FORECAST_LINE_COLUMNS = ("stock_code", "invoice_date", "quantity", "net_amount", "is_cancellation",
                         "is_merchandise", "category")
RECS_LINE_COLUMNS = ("invoice", "stock_code", "description", "customer_id", "invoice_date",
                     "quantity", "is_cancellation", "is_merchandise")


# The train functions take the frames out of ``inputs`` (pop): then the model holds the only
# reference and can free the order lines once it has narrowed them.


def _train_churn(inputs):
    from ml_assets.churn import run_churn

    return run_churn(inputs.pop("lines"), inputs.pop("customers"), inputs.pop("events", None))


def _train_segments(inputs):
    from ml_assets.segmentation import run_segmentation

    return run_segmentation(inputs.pop("lines"), inputs.pop("customers"), inputs.pop("rfm"))


def _train_forecast(inputs):
    from ml_assets.forecasting import run_forecasting

    return run_forecasting(inputs.pop("lines"))


def _train_recs(inputs):
    from ml_assets.recommendations import run_recommendations

    return run_recommendations(inputs.pop("lines"), inputs.pop("customers"))


MODELS = [
    ModelAsset(
        name="churn",
        description="Churn in the next 90 days: LightGBM against logistic regression and recency alone, time-split.",
        outputs={
            "churn_scores": "Churn probability, risk band and top drivers per active customer, as of the latest date.",
            "churn_feature_importance": "Global feature importance of the published churn model.",
        },
        extra_deps=(dg.AssetKey(["marts", "fct_events"]),),
        needs_events=True,
        train=_train_churn,
        tables=lambda r: {"churn_scores": r.scores, "churn_feature_importance": r.importance},
        line_columns=CUSTOMER_LINE_COLUMNS,
    ),
    ModelAsset(
        name="segmentation",
        description="Customer segments: capped, scaled, PCA, K-Means with k chosen by silhouette.",
        outputs={
            "customer_segments": "One row per customer: cluster and segment name.",
            "segment_profiles": "One row per segment: size, centroid profile and derived name.",
        },
        extra_deps=(dg.AssetKey(["marts", "customer_rfm"]),),
        needs_events=False,
        train=_train_segments,
        tables=lambda r: {"customer_segments": r.segments, "segment_profiles": r.profiles},
        line_columns=CUSTOMER_LINE_COLUMNS,
    ),
    ModelAsset(
        name="forecast",
        description="Weekly demand: global LightGBM against naive, seasonal naive, moving average and Holt-Winters.",
        outputs={
            "demand_forecast": "Next 8 weeks per series with 80% intervals, safety stock and reorder point.",
            "forecast_backtest": "Rolling-origin backtest: MASE, WAPE and bias per model and series.",
        },
        extra_deps=(),
        needs_events=False,
        train=_train_forecast,
        tables=lambda r: {"demand_forecast": _forecast_with_reorder(r), "forecast_backtest": r.backtest},
        line_columns=FORECAST_LINE_COLUMNS,
    ),
    ModelAsset(
        name="recommendations",
        description="Item-to-item co-purchase recommendations against popularity, evaluated on each customer's last basket.",
        outputs={
            "product_recommendations": "Top-10 products per customer with a reason.",
            "frequently_bought_together": "Product pairs bought together, with support and lift.",
        },
        extra_deps=(),
        needs_events=False,
        train=_train_recs,
        tables=lambda r: {"product_recommendations": r.recommendations, "frequently_bought_together": r.fbt},
        line_columns=RECS_LINE_COLUMNS,
    ),
]


def _forecast_with_reorder(result) -> pd.DataFrame:
    forecast = result.forecast
    reorder = getattr(result, "reorder", None)
    if reorder is None or reorder.empty or "series_id" not in reorder.columns:
        return forecast
    extra = [c for c in reorder.columns if c not in forecast.columns or c == "series_id"]
    return forecast.merge(reorder[extra], on="series_id", how="left")


def build_model_asset(model: ModelAsset) -> dg.AssetsDefinition:
    first = next(iter(model.outputs))
    specs = [
        dg.AssetSpec(
            key=["ml", table],
            group_name=GROUP,
            description=desc,
            deps=[*MART_INPUTS, *model.extra_deps],
            kinds={"python", "lightgbm" if model.name in ("churn", "forecast") else "scikitlearn", "duckdb"},
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
                asset=["ml", first],
                blocking=True,
                description="Beats every baseline on the time-based evaluation, with enough data.",
            )
        ],
    )
    def _model(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
        t0 = time.perf_counter()
        with warehouse.connect() as con:
            inputs = ml_io.read_inputs(
                con, with_events=model.needs_events, line_columns=model.line_columns,
                restore_memory_limit=warehouse.memory_limit,
            )
        t_read = time.perf_counter() - t0
        sizes = ", ".join(f"{len(frame):,} {name}" for name, frame in inputs.items())
        context.log.info(f"{model.name}: read {sizes} in {t_read:.1f}s; training")
        result = model.train(inputs)
        del inputs
        run = result.run
        t_train = time.perf_counter() - t0 - t_read
        metrics_rows = run.metrics_frame()
        with warehouse.connect() as con:
            ml_io.append_metrics(con, metrics_rows, context.run_id)
            written = {}
            if run.publishable:
                for table, frame in model.tables(result).items():
                    written[table] = ml_io.write_table(con, table, frame)
        context.log.info(f"{model.name}: {run.reason} ({t_train:.1f}s training)")
        common = {
            "publishable": run.publishable,
            "verdict": run.reason,
            "artifact_hash": run.artifact_hash,
            "data_window": f"{run.data_start} .. {run.data_end}",
            "train_rows": run.n_train,
            "eval_rows": run.n_eval,
            "seconds_read": round(t_read, 2),
            "seconds_train_and_score": round(t_train, 2),
            "metrics": dg.MetadataValue.md(run.markdown_table()),
            "params": dg.MetadataValue.json(run.params),
        }
        for key, value in run.metrics.items():
            if isinstance(value, (int, float)) and value == value:
                common[f"metric/{key}"] = float(value)
        for table, rows in written.items():
            yield dg.MaterializeResult(
                asset_key=["ml", table], metadata={**common, "dagster/row_count": rows}
            )
        yield dg.AssetCheckResult(
            asset_key=["ml", first],
            check_name="publishable",
            passed=run.publishable,
            description=run.reason,
            metadata={
                "metrics": dg.MetadataValue.md(run.markdown_table()),
                "data_check": dg.MetadataValue.json(result.check.as_dict()),
            },
        )

    return _model


model_assets = [build_model_asset(m) for m in MODELS]
ML_TABLES = [t for m in MODELS for t in m.outputs]


@dg.asset(
    key=["ml", "model_metrics"],
    group_name=GROUP,
    pool=WRITER_POOL,
    kinds={"duckdb"},
    deps=[dg.AssetKey(["ml", t]) for t in ML_TABLES],
    description="Every model run and metric beside its baseline's value (history kept); this asset summarises the latest run per model.",
)
def model_metrics(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    with warehouse.connect(read_only=False) as con:
        latest = con.execute(
            """
            SELECT task, model, metric, value, baseline_name, baseline_value, beats_baseline, publishable
            FROM ml.model_metrics
            QUALIFY recorded_at = max(recorded_at) OVER (PARTITION BY task)
            ORDER BY task, is_primary DESC, metric, baseline_name
            """
        ).df()
        total = con.execute("SELECT count(*) FROM ml.model_metrics").fetchone()[0]
    md = latest.to_string(index=False)
    return dg.MaterializeResult(
        metadata={"dagster/row_count": int(total), "latest_runs": dg.MetadataValue.md(f"```\n{md}\n```")}
    )


ml_assets_defs = [*model_assets, model_metrics]
