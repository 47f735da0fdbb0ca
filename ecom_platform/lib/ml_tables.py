"""What each ``ml.*`` table and column means, written into the warehouse as DuckDB comments.

The ML tables are written by Python (:func:`ecom_platform.lib.ml_io.write_table`,
:func:`~ecom_platform.lib.ml_io.append_metrics`, :func:`ecom_platform.lib.model_status.write`),
not by dbt, so ``persist_docs`` does not describe them. Each writer calls
:func:`apply_comments` after its write; the BI copy copies the comments with the tables
(``publish.build._copy_comments``), so a BI tool reading the catalogue shows them. One dict,
:data:`TABLE_DOCS`, holds every description (tests/unit/test_descriptions.py checks it covers
every column the models write). No Dagster here.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from ecom_platform.lib.warehouse import sql_ident, sql_literal

SCHEMA = "ml"

_CUR = "in the shop's currency"
_CUSTOMER_ID = (
    "The shop's customer number; in the BI copy a keyed pseudonym when ECOM_BI_PSEUDONYM_KEY is set "
    "(the same in every table, so joins still work)."
)
_PRODUCT_ONLY = "; NULL on category and total series"


@dataclass(frozen=True)
class TableDoc:
    description: str
    columns: dict[str, str]


TABLE_DOCS: dict[str, TableDoc] = {
    "churn_scores": TableDoc(
        "Churn risk of every active customer (a non-cancelled purchase in the 365 days before as_of_date): "
        "the published champion's probability of no purchase in the next 90 days. Written only when the "
        "churn model is published (see ml.model_status).",
        {
            "customer_id": _CUSTOMER_ID,
            "as_of_date": "Scoring date: the day after the last invoice; the features read only lines before it.",
            "churn_probability": "Predicted probability (0-1) of no non-cancelled purchase in the 90 days "
            "from as_of_date.",
            "risk_band": "'low' (probability below 1/3), 'medium' (1/3 to below 2/3) or 'high' (2/3 and above).",
            "top_drivers": "The three features that moved this customer's score most, with their log-odds "
            "contribution, e.g. 'recency_days (+0.80), frequency (-0.30)'.",
            "recency_days": "Days (with fractions) from the last non-cancelled invoice to as_of_date.",
            "frequency": "Non-cancelled invoices before as_of_date.",
            "monetary": f"Net sum of the customer's lines before as_of_date (cancellations negative), {_CUR}.",
        },
    ),
    "churn_feature_importance": TableDoc(
        "Global feature importance of the published churn model, one row per feature. Written only when "
        "the churn model is published.",
        {
            "feature": "Model feature name.",
            "rank": "1 = the largest mean_abs_contribution (ties by feature name).",
            "importance_gain": "LightGBM: the feature's share of the total split gain; logistic regression: "
            "its share of the total absolute coefficient (standardized features).",
            "importance_split": "LightGBM: splits on the feature; 0 for logistic regression.",
            "mean_abs_contribution": "Mean absolute log-odds contribution to the scores over every customer scored.",
        },
    ),
    "customer_segments": TableDoc(
        "Behavioural segment of every customer with a purchase (K-Means on features as of the day after "
        "the last invoice). Written only when segmentation is published.",
        {
            "customer_id": _CUSTOMER_ID,
            "cluster": "Segment number; 0 = the highest centroid net revenue (then frequency).",
            "segment_name": "Name derived from the segment's centroid (e.g. 'High-value loyal', 'Lapsed', 'New'); "
            "a qualifier in brackets tells apart segments that would share a name.",
        },
    ),
    "segment_profiles": TableDoc(
        "One row per segment: its size, the mean and median features of the customers it was fitted on "
        "(missing values imputed with the median, not capped), a description and the chosen k and "
        "silhouette. Written only when segmentation is published.",
        {
            "cluster": "Segment number, as in ml.customer_segments.",
            "segment_name": "Segment name, as in ml.customer_segments.",
            "n_customers": "Customers in the segment (every customer assigned, also when fitted on a sample).",
            "share": "n_customers / all segmented customers.",
            "mean_recency_days": "Mean days from the last non-cancelled invoice to the day after the last invoice.",
            "mean_frequency": "Mean non-cancelled invoices per customer.",
            "mean_monetary": f"Mean net revenue per customer (all lines, cancellations negative), {_CUR}.",
            "mean_avg_order_value": f"Mean value of a customer's average non-cancelled invoice, {_CUR}.",
            "mean_tenure_days": "Mean days from the first non-cancelled invoice to the day after the last invoice.",
            "mean_avg_unit_price": f"Mean of the customers' average merchandise unit price (value / units), {_CUR}.",
            "mean_n_products": "Mean distinct merchandise products bought per customer.",
            "mean_age": "Mean age from the profiles' birth year; present only when the profiles give it for at "
            "least half of the customers.",
            "mean_income": "Mean profile income; present only when the profiles give it for at least half of "
            "the customers.",
            "mean_household_size": "Mean profile household size; present only when the profiles give it for "
            "at least half of the customers.",
            "median_recency_days": "Median days from the last non-cancelled invoice to the day after the last invoice.",
            "median_frequency": "Median non-cancelled invoices per customer.",
            "median_monetary": f"Median net revenue per customer, {_CUR}.",
            "description": "The three features on which the centroid differs most from the average, in "
            "standard deviations, e.g. 'recency_days -1.2 sd'.",
            "k": "Number of segments, chosen by silhouette (3 to 8).",
            "silhouette": "Silhouette score of the chosen clustering (-1 to 1, higher = better separated).",
        },
    ),
    "demand_forecast": TableDoc(
        "Weekly demand forecast for the next 8 weeks per series (units of the top 100 products, units of "
        "the other products per category, total revenue) with 80% intervals; product series also carry "
        "safety stock and reorder point. Written only when the forecast is published.",
        {
            "series_id": "'product:<stock_code>', 'category:<category>' (the products outside the top 100; "
            "'uncategorized' without a category) or 'total:revenue'.",
            "series_type": "product, category or total.",
            "stock_code": "Product code of a product series; NULL otherwise.",
            "category": "Category of the series (a product's most frequent one); NULL for the total.",
            "measure": "'units' (merchandise units of non-cancelled lines with quantity > 0) or 'revenue' "
            f"(their value {_CUR}; the total series).",
            "week_start": "Monday of the forecast week.",
            "horizon": "Weeks after the last complete week of history (1-8).",
            "forecast": "Point forecast, in the series' measure.",
            "lower_80": "Lower bound of the 80% interval (from the champion's backtest errors; never below 0).",
            "upper_80": "Upper bound of the 80% interval.",
            "seasonal_naive": "The naive benchmark: the value 52 weeks earlier (the last value with less history).",
            "model": "The model behind the forecast: its level's champion (lightgbm, ets, theta, croston or "
            "moving_average).",
            "lead_time_weeks": f"Replenishment lead time assumed for the reorder point, in weeks{_PRODUCT_ONLY}.",
            "service_level": f"Target probability of not running out during the lead time{_PRODUCT_ONLY}.",
            "z": f"Standard normal quantile of service_level{_PRODUCT_ONLY}.",
            "lead_time_demand": "Forecast units over the lead time (sum of the first lead_time_weeks weeks), "
            f"the same on each week of the product{_PRODUCT_ONLY}.",
            "forecast_error_sd_weekly": "Weekly forecast error (RMSE of the champion's backtest errors within "
            f"the lead time), in units{_PRODUCT_ONLY}.",
            "safety_stock": f"z x forecast_error_sd_weekly x sqrt(lead_time_weeks), in units{_PRODUCT_ONLY}.",
            "reorder_point": f"lead_time_demand + safety_stock, in units{_PRODUCT_ONLY}.",
            "reorder_point_units": f"reorder_point rounded up to whole units{_PRODUCT_ONLY}.",
        },
    ),
    "forecast_backtest": TableDoc(
        "Rolling-origin backtest of every forecast model on the evaluation origins: MASE, WAPE and bias "
        "per measure over all series, and per series. Written only when the forecast is published.",
        {
            "model": "'champion' (each series by its level's champion), a candidate (lightgbm, ets, theta, "
            "croston, moving_average) or a naive baseline (naive, seasonal_naive).",
            "level": "'overall' (all series of the measure) or 'series' (one series).",
            "series_id": "The series for level 'series'; NULL for 'overall'.",
            "measure": "units, revenue, or 'all' (overall over both measures; MASE only).",
            "n_origins": "Backtest origins evaluated.",
            "n_points": "Forecast points evaluated (series x origins x weeks ahead).",
            "mase": "Mean absolute scaled error (absolute error / the series' in-sample mean absolute "
            "week-to-week change), averaged over series and origins; lower is better.",
            "wape": "Sum of absolute errors / sum of absolute actuals; NULL for measure 'all'.",
            "bias": "Sum of (forecast - actual) / sum of absolute actuals, positive = over-forecast; NULL for "
            "measure 'all'.",
        },
    ),
    "product_recommendations": TableDoc(
        "Up to 10 products per customer, not bought before, from the published recommender, each with a "
        "reason; customers with a profile but no purchase get the most popular products. Written only "
        "when recommendations are published.",
        {
            "customer_id": _CUSTOMER_ID,
            "rank": "1 = the strongest recommendation.",
            "stock_code": "Recommended product code.",
            "score": "Model score (higher = stronger); NULL when the slot was filled from popularity.",
            "reason": "'bought with <stock code> (<description>)': the bought product that contributed most; "
            "'popular' for a popularity pick.",
            "source": "'model', or 'popularity' for slots the model could not fill and customers without purchases.",
        },
    ),
    "frequently_bought_together": TableDoc(
        "Per product, up to 10 products most often in the same basket (a non-cancelled invoice; guest "
        "baskets included), among the (at most 3,000) most-bought products; pairs in fewer than 3 baskets "
        "are left out. Written only when recommendations are published.",
        {
            "stock_code": "The product.",
            "rank": "1 = the highest score for this product.",
            "other_stock_code": "A product bought with it.",
            "co_baskets": "Baskets with both products.",
            "support": "co_baskets / all baskets.",
            "confidence": "co_baskets / baskets with stock_code.",
            "lift": "co_baskets x all baskets / (baskets with stock_code x baskets with other_stock_code); "
            "above 1 = bought together more often than by chance.",
            "score": "Cosine similarity: co_baskets / sqrt(baskets with stock_code x baskets with other_stock_code).",
        },
    ),
    "model_metrics": TableDoc(
        "Every metric of every model run beside each baseline's value: one row per (run, metric, "
        "baseline), appended by every run (history kept).",
        {
            "dagster_run_id": "Dagster run that trained the model.",
            "recorded_at": "When the rows were written (the pipeline host's local time, to the second).",
            "run_at": "When the model run started, UTC, as text (YYYY-MM-DDTHH:MM:SSZ).",
            "task": "Model family: churn, segmentation, forecasting or recommendations.",
            "model": "The run's model, named after its champion, e.g. churn_lightgbm, forecast_per_level, "
            "recs_ease, segmentation_kmeans.",
            "metric": "Metric name, e.g. roc_auc, silhouette, mase, ndcg@10.",
            "value": "The model's value of the metric.",
            "baseline_name": "Baseline or other candidate compared with; NULL when the metric has none.",
            "baseline_value": "That baseline's value of the metric.",
            "higher_is_better": "True when a higher value of the metric is better.",
            "beats_baseline": "The model's value is better than the baseline's; NULL without a baseline.",
            "is_primary": "The metric that decides publication (roc_auc, silhouette, mase, ndcg@10).",
            "publishable": "The run's verdict: enough data and the naive baseline beaten, so its tables are written.",
            "reason": "The verdict in words.",
            "data_start": "First timestamp of the data the run used, as text.",
            "data_end": "Last timestamp of the data the run used, as text.",
            "n_train": "Training rows in the model's unit (churn: customer-cutoffs; segmentation: customers; "
            "forecast: series x weeks; recommendations: customer-product pairs).",
            "n_eval": "Evaluation rows; NULL when the model has none.",
            "artifact_hash": "Hash of the trained model (the same data and code give the same hash).",
            "params": "The run's parameters, as JSON.",
        },
    ),
    "model_status": TableDoc(
        "One row per model family: whether its tables are published and, if not, why and what would "
        "change it (the row is replaced at every run).",
        {
            "model": "churn, segmentation, forecast or recommendations.",
            "published": "The latest run wrote the model's tables.",
            "status": "published, not_published or failed.",
            "reason": "Why: the champion and its metric against the baseline, or what is missing.",
            "what_would_change_it": "What would get the model published; NULL when published.",
            "champion": "The best candidate (per level for the forecast); NULL when training failed.",
            "primary_metric": "The metric that decides: roc_auc, silhouette, mase or ndcg@10.",
            "metric_value": "The champion's value of the primary metric.",
            "naive_baseline": "The naive baseline the champion must beat.",
            "baseline_value": "That baseline's value of the primary metric.",
            "tables": "The model's tables, comma-separated.",
            "data_end": "Last day of the data the run used (YYYY-MM-DD).",
            "evaluated_at": "When the row was written (UTC).",
            "last_published_at": "When the model was last published (UTC); NULL if never.",
            "run_id": "Dagster run id of the run.",
        },
    ),
}


def apply_comments(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    """Comment ``ml.<table>`` and each of its columns from :data:`TABLE_DOCS`.

    Returns the table's columns without a description (none when the dict is complete;
    the unit tests hold it so). A table missing from the dict gets no comments."""
    doc = TABLE_DOCS.get(table)
    columns = [
        r[0]
        for r in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE schema_name = ? AND table_name = ? "
            "AND database_name = current_database() ORDER BY column_index",
            [SCHEMA, table],
        ).fetchall()
    ]
    if doc is None:
        return columns
    target = f"{sql_ident(SCHEMA)}.{sql_ident(table)}"
    con.execute(f"COMMENT ON TABLE {target} IS {sql_literal(doc.description)}")
    undescribed = []
    for column in columns:
        text = doc.columns.get(column)
        if text:
            con.execute(f"COMMENT ON COLUMN {target}.{sql_ident(column)} IS {sql_literal(text)}")
        else:
            undescribed.append(column)
    return undescribed
