"""dbt wiring: one DbtProject, one translator, dbt tests surfaced as asset checks.

In files: ``project`` (the manifest, layers, partitions), ``translator``, ``resource``
(the dbt CLI), ``assets``.

Two ``@dbt_assets`` over the same manifest:

- ``dbt_models``: every model except the daily-partitioned facts, rebuilt in full (views,
  dimensions, marts, the BI layer, seeds, tests).
- ``dbt_incremental_models``: the models tagged ``partitioned_daily`` (``fct_order_lines``
  by invoice_day, ``fct_events`` by event_day), daily partitioned, incremental
  (delete+insert) over the partition window ``window_start_date`` / ``window_end_date``
  (passed to dbt in the environment, see :func:`ecom_platform.config.dbt_run_environment`:
  changed ``--vars`` would make dbt re-parse the whole project on every partition run).
  ``BackfillPolicy.single_run()``: a backfill of a range is one dbt
  invocation. An unpartitioned run (``make run``) builds them with ``--full-refresh``.
"""

from ecom_platform.defs.dbt.assets import dbt_incremental_models, dbt_models, upstream_window
from ecom_platform.defs.dbt.project import daily_partitions, dbt_project
from ecom_platform.defs.dbt.resource import dbt_resource
from ecom_platform.defs.dbt.translator import EAGER_ON_INPUTS, translator

__all__ = [
    "EAGER_ON_INPUTS",
    "daily_partitions",
    "dbt_incremental_models",
    "dbt_models",
    "dbt_project",
    "dbt_resource",
    "translator",
    "upstream_window",
]
