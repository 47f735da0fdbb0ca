"""Each ML model's training and scoring run, without Dagster: read the marts, train on (a
sample of) the customers, score every customer in chunks, hand back the output tables.

:data:`MODELS` describes the four models (:class:`ModelSpec`: what each reads, how it
trains, scores and turns its state into tables); :func:`train_model` runs one. The assets
in ``defs/ml.py`` wire them into Dagster, and ``cli models --evaluate`` calls the same
function, so the figures are those of one code path.
"""

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

import duckdb
import pandas as pd

from ecom_platform.lib import ml_io

# the marts every model reads (the assets' common deps)
MART_INPUTS = ("fct_order_lines", "dim_products", "dim_customers")


@dataclass(frozen=True)
class ModelSpec:
    """One model: what it reads, how it trains and scores, what it writes. A customer-level model (``score`` set) trains on the first chunk
    of customers (ml_io.customer_chunks: at most ECOM_ML_MAX_CUSTOMERS, everyone below
    that) and then scores each further chunk, read on its own; ``tables`` gives the outputs
    of every customer scored."""

    name: str
    description: str
    outputs: dict[str, str]  # table -> description
    extra_inputs: tuple[str, ...]  # marts read beside MART_INPUTS (the asset's deps)
    needs_events: bool
    # (inputs, span) -> the trained state (with .run and .check); span: the first and last
    # invoice date of all lines when the inputs are a sample of the customers, else None
    train: Callable[[dict[str, object], tuple | None], object]
    tables: Callable[[object], dict[str, pd.DataFrame]]
    # the ``lines`` columns the model uses (ml_io.LINE_COLUMN_SQL); prepare_lines fills the rest
    line_columns: tuple[str, ...] | None = None
    # customer-level models: (state, a further chunk's inputs) -> adds their outputs to state
    score: Callable[[object, dict[str, pd.DataFrame]], None] | None = None
    score_line_columns: tuple[str, ...] | None = None
    # state -> the earliest event a further chunk's scoring reads (None: all of them)
    score_events_from: Callable[[object], pd.Timestamp | None] | None = None
    # a training sample also takes the same share of the guest baskets
    sample_guests: bool = False
    # "lines" (ml_io.read_inputs) or "weekly_demand" (ml_io.read_weekly_demand)
    reads: str = "lines"


# What each model reads of the order lines (9.8M rows at scale 10): the description (text,
# ~0.3 GB there) only for the recommendation reasons, the unit price never (net_amount and
# quantity carry it).
CUSTOMER_LINE_COLUMNS = (
    "invoice",
    "stock_code",
    "customer_id",
    "invoice_date",
    "quantity",
    "net_amount",
    "is_cancellation",
    "is_merchandise",
    "category",
    "country",
)
# the lines' columns forecast_data.weekly_demand uses; the asset reads them aggregated in SQL
# (ml_io.read_weekly_demand: the same series, from a frame that does not grow with the lines)
FORECAST_LINE_COLUMNS = (
    "stock_code",
    "invoice_date",
    "quantity",
    "net_amount",
    "is_cancellation",
    "is_merchandise",
    "category",
)
RECS_LINE_COLUMNS = (
    "invoice",
    "stock_code",
    "description",
    "customer_id",
    "invoice_date",
    "quantity",
    "is_cancellation",
    "is_merchandise",
)
# what recommending further customers reads (ml_assets.recommendations.SCORE_LINE_COLUMNS)
RECS_SCORE_LINE_COLUMNS = ("stock_code", "customer_id", "quantity", "is_cancellation", "is_merchandise")


# The train functions take the frames out of ``inputs`` (pop): then the model holds the only
# reference and can free the order lines once it has narrowed them.


@dataclass
class _Scored:
    """A customer-level model's trained result and the outputs of each chunk scored."""

    result: object
    parts: list = field(default_factory=list)

    @property
    def run(self):
        return self.result.run

    @property
    def check(self):
        return self.result.check


def _train_churn(inputs, span):
    from ml_assets.churn import fit_churn, score_churn

    fit = fit_churn(inputs.pop("lines"), inputs.pop("customers"), inputs.pop("events", None), span=span)
    state = _Scored(fit)
    if fit.model is not None:  # the training customers, on the frames already prepared
        state.parts.append(score_churn(fit.model, *fit.inputs, prepared=True))
    fit.inputs = None
    return state


def _score_churn(state, inputs):
    from ml_assets.churn import score_churn

    if state.result.model is not None:
        state.parts.append(
            score_churn(state.result.model, inputs.pop("lines"), inputs.pop("customers"), inputs.pop("events", None))
        )


def _churn_events_from(state):
    from ml_assets.features import DAY, EVENT_LOOKBACK_DAYS

    model = state.result.model
    return None if model is None else model.as_of - EVENT_LOOKBACK_DAYS * DAY


def _churn_tables(state):
    from ml_assets.churn import churn_result

    r = churn_result(state.result, state.parts)
    scores = r.scores
    if len(state.parts) > 1:
        scores = scores.sort_values("customer_id", ignore_index=True)
    return {"churn_scores": scores, "churn_feature_importance": r.importance}


def _train_segments(inputs, span):
    from ml_assets.segmentation import run_segmentation

    r = run_segmentation(inputs.pop("lines"), inputs.pop("customers"), inputs.pop("rfm"), span=span)
    return _Scored(r, [r.segments])


def _score_segments(state, inputs):
    from ml_assets.segmentation import assign_segments

    if state.result.model is not None:
        state.parts.append(assign_segments(state.result.model, inputs.pop("lines"), inputs.pop("customers")))


def _segment_tables(state):
    from ml_assets.segmentation import recount_profiles

    r = state.result
    if len(state.parts) <= 1:
        return {"customer_segments": r.segments, "segment_profiles": r.profiles}
    segments = pd.concat(state.parts, ignore_index=True).sort_values("customer_id", ignore_index=True)
    return {"customer_segments": segments, "segment_profiles": recount_profiles(r.profiles, segments)}


def _train_forecast(inputs, span):
    from ml_assets.forecasting import run_forecasting

    return run_forecasting(inputs.pop("demand"))


def _train_recs(inputs, span):
    from ml_assets.recommendations import run_recommendations

    r = run_recommendations(inputs.pop("lines"), inputs.pop("customers"))
    return _Scored(r, [r.recommendations])


def _score_recs(state, inputs):
    from ml_assets.recommendations import recommend_customers

    if state.result.model is not None:
        state.parts.append(recommend_customers(state.result.model, inputs.pop("lines"), inputs.pop("customers")))


def _rec_tables(state):
    r = state.result
    recs = r.recommendations
    if len(state.parts) > 1:
        recs = pd.concat(state.parts, ignore_index=True).sort_values(["customer_id", "rank"], ignore_index=True)
    return {"product_recommendations": recs, "frequently_bought_together": r.fbt}


MODELS = [
    ModelSpec(
        name="churn",
        description="Churn in the next 90 days: the better of LightGBM and logistic regression, against recency alone, time-split.",
        outputs={
            "churn_scores": "Churn probability, risk band and top drivers per active customer, as of the latest date.",
            "churn_feature_importance": "Global feature importance of the published churn model.",
        },
        extra_inputs=("fct_events",),
        needs_events=True,
        train=_train_churn,
        tables=_churn_tables,
        line_columns=CUSTOMER_LINE_COLUMNS,
        score=_score_churn,
        score_line_columns=CUSTOMER_LINE_COLUMNS,
        score_events_from=_churn_events_from,
    ),
    ModelSpec(
        name="segmentation",
        description="Customer segments: capped, scaled, PCA, K-Means with k chosen by silhouette.",
        outputs={
            "customer_segments": "One row per customer: cluster and segment name.",
            "segment_profiles": "One row per segment: size, centroid profile and derived name.",
        },
        extra_inputs=("customer_rfm",),
        needs_events=False,
        train=_train_segments,
        tables=_segment_tables,
        line_columns=CUSTOMER_LINE_COLUMNS,
        score=_score_segments,
        score_line_columns=CUSTOMER_LINE_COLUMNS,
    ),
    ModelSpec(
        name="forecast",
        description="Weekly demand: per level the best of LightGBM, AutoETS, Theta, Croston SBA and moving average, against seasonal naive.",
        outputs={
            "demand_forecast": "Next 8 weeks per series with 80% intervals, safety stock and reorder point.",
            "forecast_backtest": "Rolling-origin backtest: MASE, WAPE and bias per model and series.",
        },
        extra_inputs=(),
        needs_events=False,
        train=_train_forecast,
        tables=lambda r: {"demand_forecast": _forecast_with_reorder(r), "forecast_backtest": r.backtest},
        line_columns=FORECAST_LINE_COLUMNS,
        reads="weekly_demand",
    ),
    ModelSpec(
        name="recommendations",
        description="Recommendations: the best of EASE, item cosine and recent popularity, against all-time popularity, evaluated on each customer's last basket.",
        outputs={
            "product_recommendations": "Top-10 products per customer with a reason.",
            "frequently_bought_together": "Product pairs bought together, with support and lift.",
        },
        extra_inputs=(),
        needs_events=False,
        train=_train_recs,
        tables=_rec_tables,
        line_columns=RECS_LINE_COLUMNS,
        score=_score_recs,
        score_line_columns=RECS_SCORE_LINE_COLUMNS,
        sample_guests=True,
    ),
]


@dataclass
class ModelOutcome:
    """What :func:`train_model` hands the asset: the trained state (``.run``, ``.check``),
    the output tables and the metadata on sampling and timing."""

    state: object
    tables: dict[str, pd.DataFrame]
    metadata: dict[str, object]

    @property
    def run(self):
        return self.state.run


def train_model(
    model: ModelSpec,
    connect: Callable[[], AbstractContextManager[duckdb.DuckDBPyConnection]],
    max_customers: int,
    memory_limit: str | None = None,
    log: Callable[[str], None] = lambda msg: None,
    score_unpublishable: bool = False,
) -> ModelOutcome:
    """Read, train and score one model (no Dagster: the asset below and the measurements
    call it). A customer-level model trains on the first of ml_io.customer_chunks (at most
    ``max_customers``; everyone, read as before, when there are no more) and, when
    publishable (or ``score_unpublishable``), scores every further chunk, each read on its
    own connection: memory follows ``max_customers``, not the number of customers."""
    t0 = time.perf_counter()
    chunks: list[ml_io.CustomerChunk] = []
    span = None
    with connect() as con:
        if model.reads == "weekly_demand":
            inputs = {"demand": ml_io.read_weekly_demand(con, restore_memory_limit=memory_limit)}
        else:
            chunks = ml_io.customer_chunks(con, max_customers) if model.score else []
            first = chunks[0] if chunks and not chunks[0].everyone else None
            if first is not None:
                span = ml_io.line_span(con)
            guests = first.n_customers / first.total_customers if first is not None and model.sample_guests else None
            inputs = ml_io.read_inputs(
                con,
                with_events=model.needs_events,
                line_columns=model.line_columns,
                restore_memory_limit=memory_limit,
                chunk=first,
                guest_fraction=guests,
            )
    t_read = time.perf_counter() - t0
    sizes = ", ".join(f"{len(frame):,} {name}" for name, frame in inputs.items() if hasattr(frame, "__len__"))
    log(f"{model.name}: read {sizes or 'weekly demand'} in {t_read:.1f}s; training")
    state = model.train(inputs, span)
    del inputs
    t_train = time.perf_counter() - t0 - t_read
    run = state.run
    metadata: dict[str, object] = {}
    if chunks:
        sampled = len(chunks) > 1
        scored = not sampled or run.publishable or score_unpublishable
        t1 = time.perf_counter()
        if sampled and scored:
            events_from = model.score_events_from(state) if model.score_events_from else None

            def read(chunk: ml_io.CustomerChunk) -> dict[str, pd.DataFrame]:
                with connect() as con:
                    return ml_io.read_inputs(
                        con,
                        with_events=model.needs_events,
                        line_columns=model.score_line_columns,
                        restore_memory_limit=memory_limit,
                        chunk=chunk,
                        with_rfm=False,
                        events_from=events_from,
                    )

            # The next chunk is read (DuckDB, off the GIL) while this one is scored (mostly
            # single-threaded pandas): on two cores a chunk costs about its slower half, not
            # both. At most two chunks' inputs are held at once; scoring stays in order.
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"ecom_read_{model.name}") as pool:
                pending = pool.submit(read, chunks[1])
                for i, chunk in enumerate(chunks[1:], start=1):
                    tc = time.perf_counter()
                    part = pending.result()
                    t_wait = time.perf_counter() - tc
                    if i + 1 < len(chunks):
                        pending = pool.submit(read, chunks[i + 1])
                    model.score(state, part)
                    del part
                    log(
                        f"{model.name}: scored chunk {chunk.index + 1}/{chunk.count} "
                        f"({chunk.n_customers:,} customers) in {time.perf_counter() - tc:.1f}s "
                        f"(of which {t_wait:.1f}s waiting for its read)"
                    )
        if sampled:
            from ml_assets.common import note_sample

            note_sample(run, chunks[0].n_customers, chunks[0].total_customers, len(chunks), scored)
        metadata.update(
            {
                "sampled": sampled,
                "train_customers": chunks[0].n_customers,
                "total_customers": chunks[0].total_customers,
                "max_customers": int(max_customers),
                "customer_chunks": len(chunks),
                "seconds_score_chunks": round(time.perf_counter() - t1, 2),
            }
        )
    tables = model.tables(state)
    metadata.update({"seconds_read": round(t_read, 2), "seconds_train_and_score": round(t_train, 2)})
    return ModelOutcome(state, tables, metadata)


def _forecast_with_reorder(result) -> pd.DataFrame:
    forecast = result.forecast
    reorder = getattr(result, "reorder", None)
    if reorder is None or reorder.empty or "series_id" not in reorder.columns:
        return forecast
    extra = [c for c in reorder.columns if c not in forecast.columns or c == "series_id"]
    return forecast.merge(reorder[extra], on="series_id", how="left")
