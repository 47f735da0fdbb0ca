"""Pure ML code for the e-commerce analytics platform.

No Dagster imports anywhere in this package: every function takes plain pandas
DataFrames (the contracts below) and returns DataFrames plus a :class:`ModelRun`
holding the model's metrics beside its baseline(s) and a "publishable" verdict.

Entry points (one per model, each returning a result object with ``.run``):

- :func:`ml_assets.churn.run_churn`               -> ``churn_scores`` + importance
- :func:`ml_assets.segmentation.run_segmentation` -> ``customer_segments``, ``segment_profiles``
- :func:`ml_assets.forecasting.run_forecasting`   -> ``demand_forecast``, ``forecast_backtest``
- :func:`ml_assets.recommendations.run_recommendations`
                                                  -> ``product_recommendations``,
                                                     ``frequently_bought_together``

Each entry point's module keeps its data and its candidates beside it: ``churn_data`` and
``churn_models`` for churn, ``forecast_data``, ``forecast_lgb`` and ``forecast_models`` for
the forecast.

Input contract ``lines`` (one row per order line, exact duplicates dropped): invoice,
stock_code, description, customer_id (Int64, NA = anonymous), invoice_date, quantity,
unit_price, net_amount, is_cancellation, is_merchandise, category, country.
:func:`ml_assets.data.prepare_lines` coerces a frame to it;
:func:`ml_assets.data.lines_from_transactions` maps an Online Retail (I or II) layout.
"""

# Performance note: LightGBM / scikit-learn use OpenMP. With the default (active) wait
# policy, threads spin while they wait, and when other processes share the cores training
# can get ~10x slower. Set OMP_WAIT_POLICY=PASSIVE before lightgbm or sklearn is first
# imported; ecom_platform.config does it for the platform (the one module that touches
# the environment), and standalone users can export it.

from ml_assets.common import DataCheck, ModelRun

__all__ = ["DataCheck", "ModelRun"]
