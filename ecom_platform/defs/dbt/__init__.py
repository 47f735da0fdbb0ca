"""dbt wiring: one DbtProject, one translator, dbt tests surfaced as asset checks.

In files: ``project`` (the manifest, layers), ``translator``, ``resource`` (the dbt CLI),
``assets``.

One ``@dbt_assets``, ``dbt_models``: every model, seed and test, one ``dbt build`` a run.
A run with a day window (the run tags ``ecom/window_start`` / ``ecom/window_end``, set by
the landing sensor) builds the incremental models over those days only: the daily facts
(``fct_order_lines`` by invoice_day, ``fct_events`` by event_day; delete+insert),
``int_retail__order_lines`` and the clickstream kept by key. The window reaches dbt in the
environment (:func:`ecom_platform.config.dbt_run_environment`: changed ``--vars`` would
make dbt re-parse the whole project). A run without one (``make run``) builds every model
with ``--full-refresh``.
"""

from ecom_platform.defs.dbt.assets import dbt_models, run_window
from ecom_platform.defs.dbt.project import dbt_project
from ecom_platform.defs.dbt.resource import dbt_resource
from ecom_platform.defs.dbt.translator import EAGER_ON_INPUTS, translator

__all__ = [
    "EAGER_ON_INPUTS",
    "dbt_models",
    "dbt_project",
    "dbt_resource",
    "translator",
    "run_window",
]
